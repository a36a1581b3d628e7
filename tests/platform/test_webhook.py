"""POST /telegram/webhook: secret, deduplication, per-chat order, and the configured Bot API."""

from __future__ import annotations

import asyncio
import inspect
import json

import httpx
from aiogram.methods import SendMessage
from sqlalchemy import func, select

from backend.core.transport.models import InboundUpdate
from backend.core.users.models import Role, User
from backend.runtime import Runtime
from bot import lifecycle
from bot.lifecycle import BotRunner
from bot.main import build, make_runtime
from tests import updates as U
from tests.botapi import FakeBotAPI
from tests.conftest import TEST_DB, make_settings


def _hdr(runtime: Runtime, secret: str | None = None) -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": secret if secret is not None else runtime.settings.webhook_secret}


async def _users(runtime: Runtime) -> int:
    async with runtime.sessionmaker() as s:
        return await s.scalar(select(func.count(User.id)))


async def test_wrong_or_missing_secret_is_401_and_nothing_runs(client, harness, runtime):
    upd = U.message(U.tg_user(901), "/help")
    r = await client.post("/telegram/webhook", json=upd)
    assert r.status_code == 401
    r = await client.post("/telegram/webhook", json=upd, headers=_hdr(runtime, "x" * 64))
    assert r.status_code == 401
    assert harness.session.calls == []
    assert await _users(runtime) == 0
    assert 'glocal_updates_total{type="message"}' not in runtime.metrics.render().decode()


async def test_same_update_twice_has_one_effect(client, harness, runtime):
    upd = U.message(U.tg_user(902), "/help")
    for _ in range(2):
        r = await client.post("/telegram/webhook", json=upd, headers=_hdr(runtime))
        assert r.status_code == 200
    sent = [c for c in harness.session.calls if isinstance(c, SendMessage)]
    assert len(sent) == 1 and sent[0].chat_id == 902
    assert "glocal_updates_duplicate_total 1.0" in runtime.metrics.render().decode()


async def test_malformed_body_is_400(client, runtime):
    r = await client.post("/telegram/webhook", content=b"{not json", headers=_hdr(runtime))
    assert r.status_code == 400
    r = await client.post("/telegram/webhook", json={"message": {}}, headers=_hdr(runtime))
    assert r.status_code == 400


async def _parked(runtime: Runtime, inbox, chat: int) -> int:  # noqa: ANN001
    """Updates of `chat` that arrived and wait for the one being handled (memory or database)."""
    if not inbox.shared:
        slot = inbox._chats.get(chat)
        return len(slot.waiting) if slot else 0
    async with runtime.sessionmaker() as s:
        return await s.scalar(
            select(func.count()).select_from(InboundUpdate).where(
                InboundUpdate.chat == chat, InboundUpdate.payload.is_not(None), InboundUpdate.handled_at.is_(None)
            )
        )


async def test_per_chat_order_is_kept_under_concurrency(client, harness, runtime):
    """Updates of one chat that arrive while it is busy wait, then go one at a time in update_id order,
    whatever order the requests arrived in."""
    from bot.routers import start

    events: list[tuple[str, int]] = []
    original = start.help_
    release = asyncio.Event()
    wanted = set(inspect.signature(original).parameters) - {"message"}

    async def slow_help(message, **data):  # noqa: ANN001, ANN003, ANN202
        events.append(("start", message.message_id))
        if len(events) == 1:
            await release.wait()  # the chat stays busy until every other update has arrived
        await original(message, **{k: v for k, v in data.items() if k in wanted})
        events.append(("end", message.message_id))

    # The router was built with the original function; swap the registered callback.
    for router in harness.dp.sub_routers:
        for h in router.message.handlers:
            if h.callback is original:
                h.callback = slow_help
    u = U.tg_user(903)
    ups = [U.message(u, "/help") for _ in range(5)]
    ids = [x["message"]["message_id"] for x in ups]

    def post(x):  # noqa: ANN001, ANN202
        return asyncio.create_task(client.post("/telegram/webhook", json=x, headers=_hdr(runtime)))

    first = post(ups[0])
    await _until(lambda: events == [("start", ids[0])], "the first update to be in its handler")
    rest = [post(x) for x in reversed(ups[1:])]  # the later updates arrive newest first
    inbox = harness.dp["inbox"]
    for _ in range(1000):
        if await _parked(runtime, inbox, 903) == 4:
            break
        await asyncio.sleep(0.01)
    assert await _parked(runtime, inbox, 903) == 4
    assert events == [("start", ids[0])]  # nobody overtook the busy one
    release.set()
    responses = await asyncio.gather(first, *rest)
    assert [r.status_code for r in responses] == [200] * 5
    assert events == [(kind, i) for i in ids for kind in ("start", "end")]


async def test_webhook_through_configured_bot_api_server(db_url, tmp_path):
    """TELEGRAM_API_URL points the bot at another Bot API server: the reply goes there."""
    api = FakeBotAPI()
    url = await api.start()
    settings = make_settings(db_url, tmp_path, TELEGRAM_API_URL=url, PUBLIC_URL="https://glocal.test")
    runtime = make_runtime(settings)
    app, bot, dp = build(runtime)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://glocal.test") as c:
            r = await c.post("/telegram/webhook", json=U.message(U.tg_user(904), "/help"), headers=_hdr(runtime))
        assert r.status_code == 200
        assert api.methods() == ["sendMessage"]
        method, params = api.calls[0]
        assert params["chat_id"] == "904" and params["text"].startswith("Что я умею:")
    finally:
        await bot.session.close()
        await dp.storage.close()
        await runtime.close()
        await api.stop()


async def _until(predicate, what: str, timeout: float = 10.0) -> None:  # noqa: ANN001
    """Wait for a condition the code under test brings about (not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def _running(runtime: Runtime, bot, dp) -> BotRunner:  # noqa: ANN001
    runner = BotRunner(runtime, bot, dp, dp["inbox"])
    runner.start()
    return runner


async def test_start_registers_commands_menu_and_webhook(db_url, tmp_path):
    """With PUBLIC_URL: commands in ru, en and default, the hub menu button, the webhook with its secret."""
    api = FakeBotAPI()
    url = await api.start()
    settings = make_settings(db_url, tmp_path, TELEGRAM_API_URL=url, PUBLIC_URL="https://glocal.test", MINIAPP_URL=None)
    runtime = make_runtime(settings)
    app, bot, dp = build(runtime)
    runner = _running(runtime, bot, dp)
    try:
        await _until(lambda: "setWebhook" in api.methods() and "setChatMenuButton" in api.methods(), "start-up calls")
        # getMe first, for BOT_USERNAME, which is not configured here.
        assert sorted(api.methods()) == sorted(["getMe", "setMyCommands", "setMyCommands", "setMyCommands", "setChatMenuButton", "setWebhook"])
        assert [m for m in api.methods() if m != "setWebhook"][0] == "getMe"
        commands = [p for m, p in api.calls if m == "setMyCommands"]
        assert [p.get("language_code") for p in commands] == ["ru", "en", None]
        ru_commands = json.loads(commands[0]["commands"])
        assert {"command": "privacy", "description": "Согласие на обработку персональных данных"} in ru_commands
        menu = json.loads(next(p for m, p in api.calls if m == "setChatMenuButton")["menu_button"])
        assert menu == {"type": "web_app", "text": "Сервисы", "web_app": {"url": "https://glocal.test/app/hub/"}}
        hook = next(p for m, p in api.calls if m == "setWebhook")
        assert hook["url"] == "https://glocal.test/telegram/webhook" and hook["secret_token"] == settings.webhook_secret
        assert "message" in json.loads(hook["allowed_updates"]) and "callback_query" in json.loads(hook["allowed_updates"])
        await _until(lambda: runtime.health.get("telegram") == "ok", "the bot's state")
    finally:
        await runner.stop()
        await runtime.close()
        await api.stop()


async def test_bot_username_comes_from_get_me_when_not_configured(db_url, tmp_path, monkeypatch):
    """Without BOT_USERNAME the bot asks Telegram (retrying while getMe fails), and staff
    invitations become t.me links; a configured one is kept and getMe is not called."""
    from tests.factories import make_town, make_user, seed, tma

    monkeypatch.setattr(lifecycle, "BACKOFF", (0.05,))
    api = FakeBotAPI()
    api.failures = {"getMe": 2}
    url = await api.start()
    settings = make_settings(db_url, tmp_path, TELEGRAM_API_URL=url, PUBLIC_URL="https://glocal.test")
    assert settings.BOT_USERNAME is None
    runtime = make_runtime(settings)
    app, bot, dp = build(runtime)
    runner = _running(runtime, bot, dp)
    try:
        await _until(lambda: "setChatMenuButton" in api.methods(), "start-up calls")
        assert api.methods().count("getMe") == 3 and settings.BOT_USERNAME == "glocal_test_bot"

        async def admin_of_a_town(s):  # noqa: ANN001, ANN202
            town = await make_town(s)
            return town, await make_user(s, town=town, roles=(Role.ADMIN,))

        town, admin = await seed(runtime, admin_of_a_town)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://glocal.test") as c:
            r = await c.post(f"/api/v1/municipalities/{town.id}/admin/invites", json={"role": "clerk"}, headers=tma(runtime, admin))
        assert r.status_code == 201, r.text
        assert r.json()["link"].startswith("https://t.me/glocal_test_bot?start=inv_")
    finally:
        await runner.stop()
        await runtime.close()
        await api.stop()

    api = FakeBotAPI()
    url = await api.start()
    settings = make_settings(db_url, tmp_path, TELEGRAM_API_URL=url, PUBLIC_URL="https://glocal.test", BOT_USERNAME="town_bot")
    runtime = make_runtime(settings)
    app, bot, dp = build(runtime)
    runner = _running(runtime, bot, dp)
    try:
        await _until(lambda: "setChatMenuButton" in api.methods(), "start-up calls")
        assert "getMe" not in api.methods() and settings.BOT_USERNAME == "town_bot"
    finally:
        await runner.stop()
        await runtime.close()
        await api.stop()


async def test_a_failing_bot_api_at_start_up_does_not_stop_the_app(db_url, tmp_path, monkeypatch):
    """setMyCommands and setWebhook fail at first (an old Bot API server, a blip): the app
    serves meanwhile, /readyz says the bot is not ready, and both calls are retried until they hold."""
    monkeypatch.setattr(lifecycle, "BACKOFF", (0.05,))
    api = FakeBotAPI()
    api.failures = {"setMyCommands": 2, "setWebhook": 3}
    url = await api.start()
    settings = make_settings(db_url, tmp_path, TELEGRAM_API_URL=url, PUBLIC_URL="https://glocal.test")
    runtime = make_runtime(settings)
    app, bot, dp = build(runtime)
    runner = _running(runtime, bot, dp)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://glocal.test") as c:
            assert (await c.get("/healthz")).status_code == 200
            r = await c.get("/readyz")
            assert r.status_code == 503 and r.json()["checks"]["telegram"] == "starting"
            await _until(lambda: runtime.health.get("telegram") == "ok", "the webhook to be set")
            assert (await c.get("/readyz")).status_code == 200
        await _until(lambda: api.methods().count("setMyCommands") >= 5, "the commands to be set")
        assert api.methods().count("setWebhook") == 4
    finally:
        await runner.stop()
        await runtime.close()
        await api.stop()


async def test_long_polling_without_public_url(db_url, tmp_path):
    """Without PUBLIC_URL the bot deletes any webhook and long-polls the configured Bot API."""
    api = FakeBotAPI()
    api.pending_updates.append(U.message(U.tg_user(905), "/help"))
    url = await api.start()
    settings = make_settings(db_url, tmp_path, TELEGRAM_API_URL=url, MINIAPP_URL=None)
    runtime = make_runtime(settings)
    app, bot, dp = build(runtime)
    runner = _running(runtime, bot, dp)
    try:
        await _until(lambda: "sendMessage" in api.methods(), "the reply")
        assert "deleteWebhook" in api.methods() and "getUpdates" in api.methods()
        sent = [p for m, p in api.calls if m == "sendMessage"]
        assert sent[0]["chat_id"] == "905" and sent[0]["text"].startswith("Что я умею:")
    finally:
        await runner.stop()
        await runtime.close()
        await api.stop()


async def test_polling_is_supervised_and_readyz_reports_it(db_url, tmp_path, monkeypatch):
    """getUpdates fails for a while: polling does not die silently; /readyz reports the error,
    then polling resumes by itself and the update is handled once."""
    monkeypatch.setattr(lifecycle, "BACKOFF", (0.05,))
    api = FakeBotAPI()
    api.failures = {"getUpdates": 4}
    api.pending_updates.append(U.message(U.tg_user(907), "/help"))
    url = await api.start()
    settings = make_settings(db_url, tmp_path, TELEGRAM_API_URL=url, MINIAPP_URL=None)
    runtime = make_runtime(settings)
    app, bot, dp = build(runtime)
    runner = _running(runtime, bot, dp)
    try:
        await _until(lambda: runtime.health.get("telegram", "").startswith("error"), "the error to be reported")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://glocal.test") as c:
            r = await c.get("/readyz")
            assert r.status_code == 503 and r.json()["checks"]["telegram"].startswith("error: TelegramServerError")
        await _until(lambda: "sendMessage" in api.methods(), "the reply after polling resumed")
        assert runtime.health["telegram"] == "ok"
        assert api.methods().count("sendMessage") == 1
    finally:
        await runner.stop()
        await runtime.close()
        await api.stop()


async def test_a_body_that_is_not_utf8_json_is_400_and_changes_nothing(client, harness, runtime):
    """A BOM, UTF-16 or a body that is not an update: 400, and the update is not marked seen
    (the same update, sent properly afterwards, is handled)."""
    upd = U.message(U.tg_user(908), "/help")
    raw = json.dumps(upd)
    # UTF-16 is refused by the body guard before the route (422, "not UTF-8"); the rest by the route.
    for body, status in ((b"\xef\xbb\xbf" + raw.encode(), 400), (raw.encode("utf-16"), 422), (b'{"update_id": "x"}', 400), (b"[1, 2]", 400)):
        r = await client.post("/telegram/webhook", content=body, headers=_hdr(runtime))
        assert r.status_code == status, body[:20]
    assert harness.session.calls == []
    r = await client.post("/telegram/webhook", content=raw.encode(), headers=_hdr(runtime))
    assert r.status_code == 200
    assert [c.chat_id for c in harness.session.calls if isinstance(c, SendMessage)] == [908]


async def test_chat_order_follows_update_id_while_the_chat_is_busy(runtime):
    """While one update of a chat is being handled, later ones that arrive out of order wait
    and then go lowest update_id first: on the embedded default within the process, at scale
    across two replicas (each request waits for its own update, so its 200 means handled)."""
    from bot.routers import start
    from tests.telegram import RecordingSession

    handled: list[int] = []
    gate = asyncio.Event()
    original = start.help_
    wanted = set(inspect.signature(original).parameters) - {"message"}

    async def tracked_help(message, **data):  # noqa: ANN001, ANN003, ANN202
        handled.append(message.message_id)
        if len(handled) == 1:
            await gate.wait()  # hold the chat while the others arrive
        await original(message, **{k: v for k, v in data.items() if k in wanted})

    replicas, dps = [], []
    for _ in range(2 if TEST_DB else 1):
        app, bot, dp = build(runtime, bot_session=RecordingSession())
        for router in dp.sub_routers:
            for h in router.message.handlers:
                if h.callback is original:
                    h.callback = tracked_help
        replicas.append(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://glocal.test"))
        dps.append(dp)
    u = U.tg_user(906)
    first = U.message(u, "/help", update_id=5000)
    later = [U.message(u, "/help", update_id=5000 + n) for n in (3, 1, 2)]  # out of order

    async def waiting() -> int:
        if TEST_DB:
            async with runtime.sessionmaker() as s:
                return await s.scalar(select(func.count()).select_from(InboundUpdate).where(InboundUpdate.handled_at.is_(None)))
        slot = dps[0]["inbox"]._chats.get(906)
        return len(slot.waiting) if slot else 0

    try:
        t0 = asyncio.create_task(replicas[0].post("/telegram/webhook", json=first, headers=_hdr(runtime)))
        await _until(lambda: bool(handled), "the first update to be held")
        tasks = [asyncio.create_task(replicas[i % len(replicas)].post("/telegram/webhook", json=upd, headers=_hdr(runtime)))
                 for i, upd in enumerate(later)]
        for _ in range(500):
            if await waiting() == 3:
                break
            await asyncio.sleep(0.01)
        assert await waiting() == 3
        assert not any(t.done() for t in tasks)  # no 200 before the update is handled
        gate.set()
        for r in await asyncio.gather(t0, *tasks):
            assert r.status_code == 200
    finally:
        for c in replicas:
            await c.aclose()
    by_update = {x["message"]["message_id"]: x["update_id"] for x in [first, *later]}
    assert [by_update[m] for m in handled] == [5000, 5001, 5002, 5003]
