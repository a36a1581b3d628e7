"""POST /telegram/webhook: secret, deduplication, per-chat order, and the configured Bot API."""

from __future__ import annotations

import asyncio
import inspect

import httpx
from aiogram.methods import SendMessage
from sqlalchemy import func, select

from backend.core.users.models import User
from backend.runtime import Runtime
from bot.main import build, make_runtime
from tests import updates as U
from tests.botapi import FakeBotAPI
from tests.conftest import make_settings


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


async def test_per_chat_order_is_kept_under_concurrency(client, harness, runtime):
    """Updates of one chat posted concurrently are handled one at a time, in arrival order."""
    from bot.routers import start

    events: list[tuple[str, int]] = []
    original = start.help_

    wanted = set(inspect.signature(original).parameters) - {"message"}

    async def slow_help(message, **data):  # noqa: ANN001, ANN003, ANN202
        events.append(("start", message.message_id))
        await asyncio.sleep(0.05 if len(events) == 1 else 0)
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
    tasks = []
    for x in ups:
        tasks.append(asyncio.create_task(client.post("/telegram/webhook", json=x, headers=_hdr(runtime))))
        await asyncio.sleep(0)  # arrival order
    await asyncio.gather(*tasks)
    # Without isolation the first, slow update would still be running when the others start.
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


async def test_start_registers_commands_menu_and_webhook(db_url, tmp_path):
    """With PUBLIC_URL: commands in ru, en and default, the hub menu button, the webhook with its secret."""
    from bot.main import start_bot, stop_bot

    api = FakeBotAPI()
    url = await api.start()
    settings = make_settings(db_url, tmp_path, TELEGRAM_API_URL=url, PUBLIC_URL="https://glocal.test", MINIAPP_URL=None)
    runtime = make_runtime(settings)
    app, bot, dp = build(runtime)
    try:
        assert await start_bot(runtime, bot, dp) is None
        assert api.methods() == ["setMyCommands", "setMyCommands", "setMyCommands", "setChatMenuButton", "setWebhook"]
        langs = [p.get("language_code") for m, p in api.calls[:3]]
        assert langs == ["ru", "en", None]
        import json

        ru_commands = json.loads(api.calls[0][1]["commands"])
        assert {"command": "privacy", "description": "Согласие на обработку персональных данных"} in ru_commands
        menu = json.loads(api.calls[3][1]["menu_button"])
        assert menu == {"type": "web_app", "text": "Сервисы", "web_app": {"url": "https://glocal.test/app/hub/"}}
        hook = api.calls[4][1]
        assert hook["url"] == "https://glocal.test/telegram/webhook" and hook["secret_token"] == settings.webhook_secret
        assert "message" in json.loads(hook["allowed_updates"]) and "callback_query" in json.loads(hook["allowed_updates"])
    finally:
        await stop_bot(bot, dp, None)
        await runtime.close()
        await api.stop()


async def test_long_polling_without_public_url(db_url, tmp_path):
    """Without PUBLIC_URL the bot deletes any webhook and long-polls the configured Bot API."""
    from bot.main import start_bot, stop_bot

    api = FakeBotAPI()
    api.pending_updates.append(U.message(U.tg_user(905), "/help"))
    url = await api.start()
    settings = make_settings(db_url, tmp_path, TELEGRAM_API_URL=url, MINIAPP_URL=None)
    runtime = make_runtime(settings)
    app, bot, dp = build(runtime)
    polling = await start_bot(runtime, bot, dp)
    try:
        assert polling is not None
        for _ in range(200):
            if "sendMessage" in api.methods():
                break
            await asyncio.sleep(0.02)
        assert "deleteWebhook" in api.methods() and "getUpdates" in api.methods()
        sent = [p for m, p in api.calls if m == "sendMessage"]
        assert sent[0]["chat_id"] == "905" and sent[0]["text"].startswith("Что я умею:")
    finally:
        await stop_bot(bot, dp, polling)
        await runtime.close()
        await api.stop()


async def test_chat_order_follows_update_id_across_replicas(runtime):
    """Two replicas share the key-value engine: updates of one chat that arrive out of order,
    on either replica, while one is being handled, are handled by update_id."""
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

    replicas = []
    for _ in range(2):
        app, bot, dp = build(runtime, bot_session=RecordingSession())
        for router in dp.sub_routers:
            for h in router.message.handlers:
                if h.callback is original:
                    h.callback = tracked_help
        replicas.append(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://glocal.test"))
    u = U.tg_user(906)
    first = U.message(u, "/help", update_id=5000)
    later = [U.message(u, "/help", update_id=5000 + n) for n in (3, 1, 2)]  # out of order
    try:
        t0 = asyncio.create_task(replicas[0].post("/telegram/webhook", json=first, headers=_hdr(runtime)))
        while not handled:
            await asyncio.sleep(0.005)
        for i, upd in enumerate(later):
            r = await replicas[i % 2].post("/telegram/webhook", json=upd, headers=_hdr(runtime))
            assert r.status_code == 200  # queued behind the chat's update in progress
        gate.set()
        await t0
    finally:
        for c in replicas:
            await c.aclose()
    by_update = {x["message"]["message_id"]: x["update_id"] for x in [first, *later]}
    assert [by_update[m] for m in handled] == [5000, 5001, 5002, 5003]
