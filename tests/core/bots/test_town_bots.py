"""A town's own bot: connected by a platform admin (getMe against a Bot API server over real
HTTP), its token encrypted and never shown or logged; two towns' bots and the platform's served
by one process through the real app and Dispatcher; notices through the town's bot; Mini App
launch data signed by the town's bot, accepted within that town only."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.core.audit.models import AuditLog
from backend.core.auth import initdata
from backend.core.bots.models import TownBot
from backend.core.municipalities.models import Municipality
from backend.core.notifications import service as outbox
from backend.core.notifications.notices import PlainText
from backend.core.transport.models import InboundUpdate
from backend.core.users.models import User
from backend.logs import RedactTokens, setup_logging
from backend.runtime import Runtime
from bot.main import build, make_runtime
from tests import updates as U
from tests.botapi import FakeBotAPI
from tests.conftest import BOT_TOKEN, TEST_DB, TEST_REDIS, _clean_postgres, make_settings
from tests.factories import deliver_outbox, make_town, make_user, seed, tma

PLATFORM_ID = int(BOT_TOKEN.split(":")[0])
TOKEN_A = "7000000001:AAEtownA-own-bot-token-0123456789ab"
TOKEN_B = "7000000002:AAEtownB-own-bot-token-0123456789cd"
TOKEN_C = "7000000003:AAEtownC-revoked-token-0123456789ef"
A_ID, B_ID = 7000000001, 7000000002


@dataclass
class World:
    runtime: Runtime
    api: FakeBotAPI
    client: httpx.AsyncClient
    dp: Any
    town_a: Municipality
    town_b: Municipality
    admin: User
    resident: User

    def admin_headers(self, **kw: Any) -> dict[str, str]:
        return tma(self.runtime, self.admin, **kw)

    async def connect(self, town: Municipality, token: str) -> httpx.Response:
        return await self.client.put(f"/api/v1/platform/towns/{town.id}/bot", json={"token": token}, headers=self.admin_headers())


@pytest.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    api = FakeBotAPI()
    api.usernames = {A_ID: "kolomna_town_bot", B_ID: "zaraysk_town_bot"}
    api.refused_tokens = {TOKEN_C}
    url = await api.start()
    runtime = make_runtime(make_settings(db_url, tmp_path, TELEGRAM_API_URL=url, PUBLIC_URL="https://glocal.test"))
    if TEST_REDIS:
        await runtime.kv.redis.flushdb()  # type: ignore[attr-defined]
    app, bot, dp = build(runtime)

    async def _make(s):  # noqa: ANN001, ANN202
        a = await make_town(s, slug="kolomna", name="Коломна")
        b = await make_town(s, slug="zaraysk", name="Зарайск")
        admin = await make_user(s, telegram_id=1001, first_name="Админ")
        admin.is_platform_admin = True
        resident = await make_user(s, telegram_id=2002, first_name="Анна", town=a)
        return a, b, admin, resident

    a, b, admin, resident = await seed(runtime, _make)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://glocal.test") as client:
        yield World(runtime, api, client, dp, a, b, admin, resident)
    await bot.session.close()
    await dp.storage.close()
    if TEST_DB:
        await _clean_postgres(runtime)
    if TEST_REDIS:
        await runtime.kv.redis.flushdb()  # type: ignore[attr-defined]
    await runtime.close()
    await api.stop()


def _secret(runtime: Runtime, bot_id: int) -> str:
    return runtime.town_bots.cached()[bot_id].webhook_secret


# -- connecting ----------------------------------------------------------------------------------


async def test_a_bad_token_is_a_clear_422_and_a_good_one_connects_the_town(world: World):
    w = world
    r = await w.connect(w.town_a, "not a token")
    assert r.status_code == 422 and r.json()["fields"] == ["token"]
    assert r.json()["message"].startswith("Проверьте токен бота")
    r = await w.connect(w.town_a, TOKEN_C)  # well formed, but Telegram refuses it
    assert r.status_code == 422 and r.json()["fields"] == ["token"] and "Telegram" in r.json()["message"]
    r = await w.connect(w.town_a, BOT_TOKEN)  # the platform's own bot
    assert r.status_code == 409
    assert w.api.methods() == ["getMe"]  # only the refused token reached Telegram

    r = await w.connect(w.town_a, TOKEN_A)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["bot_id"] == A_ID and body["username"] == "kolomna_town_bot" and body["enabled"] is True
    assert body["token_hint"] == "7000000001:…89ab" and body["link"] == "https://t.me/kolomna_town_bot"
    assert [m for m in w.api.methods()] == ["getMe", "getMe"]
    # The same bot for another town is refused.
    assert (await w.connect(w.town_b, TOKEN_A)).status_code == 409

    async with w.runtime.sessionmaker() as s:
        row = await s.get(TownBot, A_ID)
        assert row.municipality_id == w.town_a.id and TOKEN_A not in row.token_encrypted
        assert w.runtime.town_bots.cipher.open(row.token_encrypted) == TOKEN_A
        entries = list(await s.scalars(select(AuditLog).where(AuditLog.action.like("town.bot_%")).order_by(AuditLog.id)))
    assert [e.action for e in entries] == ["town.bot_connect"] and entries[0].municipality_id == w.town_a.id
    # The running process serves it at once (no restart), here and in the town's audit log.
    assert w.dp["bots"].for_town(w.town_a.id).id == A_ID
    audit = await w.client.get(f"/api/v1/municipalities/{w.town_a.id}/admin/audit", headers=w.admin_headers())
    assert audit.status_code in (200, 404)  # the platform admin need not be the town's admin


async def test_switching_off_and_disconnecting_return_the_town_to_the_platform_bot(world: World):
    w = world
    assert (await w.connect(w.town_a, TOKEN_A)).status_code == 200
    pool = w.dp["bots"]
    assert pool.for_town(w.town_a.id).id == A_ID
    path = f"/api/v1/platform/towns/{w.town_a.id}/bot"
    r = await w.client.patch(path, json={"enabled": False}, headers=w.admin_headers())
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert pool.for_town(w.town_a.id).id == PLATFORM_ID
    assert (await w.client.post(f"/telegram/webhook/{A_ID}", json=U.message(U.tg_user(2002), "/help"))).status_code == 404
    r = await w.client.patch(path, json={"enabled": True}, headers=w.admin_headers())
    assert r.status_code == 200 and pool.for_town(w.town_a.id).id == A_ID
    assert (await w.client.delete(path, headers=w.admin_headers())).status_code == 204
    assert pool.for_town(w.town_a.id).id == PLATFORM_ID
    r = await w.client.get(path, headers=w.admin_headers())
    assert r.status_code == 200 and r.json() is None
    assert (await w.client.delete(path, headers=w.admin_headers())).status_code == 404
    async with w.runtime.sessionmaker() as s:
        actions = list(await s.scalars(select(AuditLog.action).where(AuditLog.action.like("town.bot_%")).order_by(AuditLog.id)))
    assert actions == ["town.bot_connect", "town.bot_enabled", "town.bot_enabled", "town.bot_disconnect"]


async def test_only_platform_admins_connect_bots(world: World):
    w = world
    r = await w.client.put(f"/api/v1/platform/towns/{w.town_a.id}/bot", json={"token": TOKEN_A}, headers=tma(w.runtime, w.resident))
    assert r.status_code == 403
    assert w.api.calls == []


async def test_the_token_never_appears_in_answers_or_logs(world: World, caplog: pytest.LogCaptureFixture):
    w = world
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.addHandler(handler)
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)  # httpx logs every request's URL, token and all
    caplog.set_level(logging.DEBUG)
    try:
        answers = [await w.connect(w.town_a, TOKEN_C), await w.connect(w.town_a, TOKEN_A)]
        path = f"/api/v1/platform/towns/{w.town_a.id}/bot"
        answers += [await w.client.get(path, headers=w.admin_headers()),
                    await w.client.patch(path, json={"enabled": True}, headers=w.admin_headers()),
                    await w.client.get("/api/v1/platform/towns", headers=w.admin_headers())]
        try:
            raise RuntimeError(f"POST {w.runtime.settings.TELEGRAM_API_URL}/bot{TOKEN_A}/sendMessage failed")
        except RuntimeError:
            logging.getLogger("bot").exception("sending failed")
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    for r in answers:
        assert r.status_code < 500
        for token in (TOKEN_A, TOKEN_C, TOKEN_A.split(":")[1], TOKEN_C.split(":")[1]):
            assert token not in r.text
    written = stream.getvalue()
    assert "7000000001:[REDACTED]" in written and "getMe" in written  # httpx's request lines, masked
    for token in (TOKEN_A, TOKEN_C):
        assert token.split(":")[1] not in written
    # Our own code never puts a token into a message in the first place.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("backend", "glocal")) or r.name == "bot"]
    assert not any(TOKEN_A.split(":")[1] in m for m in ours if "sending failed" not in m)


def test_setup_logging_masks_tokens():
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        setup_logging("INFO", json_logs=True)
        (handler,) = root.handlers
        assert any(isinstance(f, RedactTokens) for f in handler.filters)
        stream = io.StringIO()
        handler.setStream(stream)
        logging.getLogger("aiogram.event").warning("Request to https://api.telegram.org/bot%s/getMe failed", TOKEN_B)
        assert TOKEN_B.split(":")[1] not in stream.getvalue() and "7000000002:[REDACTED]" in stream.getvalue()
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


# -- one process, three bots -------------------------------------------------------------------------


async def test_two_towns_with_their_own_bots_are_served_by_one_process(world: World):
    w = world
    assert (await w.connect(w.town_a, TOKEN_A)).status_code == 200
    assert (await w.connect(w.town_b, TOKEN_B)).status_code == 200
    w.api.calls.clear()
    w.api.bot_calls.clear()
    person = U.tg_user(3003, "Пётр")
    # The same update_id reaches all three bots: three different updates, each handled once.
    update = U.message(person, "/start", update_id=555_000)
    platform = {"X-Telegram-Bot-Api-Secret-Token": w.runtime.settings.webhook_secret}
    for path, secret in ((f"/telegram/webhook/{A_ID}", _secret(w.runtime, A_ID)),
                         (f"/telegram/webhook/{B_ID}", _secret(w.runtime, B_ID)),
                         ("/telegram/webhook", w.runtime.settings.webhook_secret)):
        for _ in range(2):  # and Telegram's redelivery has no second effect
            r = await w.client.post(path, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
            assert r.status_code == 200, (path, r.text)
    by_a, by_b, by_platform = w.api.sent_by(A_ID), w.api.sent_by(B_ID), w.api.sent_by(PLATFORM_ID)
    # A town's bot speaks for its town: /start goes straight to that town's menu.
    assert [p["text"] for p in by_a][-1] == "Коломна: что вы хотите сделать?"
    assert [p["text"] for p in by_b][-1] == "Зарайск: что вы хотите сделать?"
    assert all(p["chat_id"] == "3003" for p in (*by_a, *by_b, *by_platform))
    assert len(by_a) == len(by_b) == 2  # the greeting and the menu, once each
    assert by_platform and by_platform[-1]["text"].startswith("Зарайск: что")  # the person's town is now the last one entered
    await w.dp["replies"].flush()  # "sent" is recorded in small groups (bot/replies.py)
    async with w.runtime.sessionmaker() as s:
        rows = list(await s.scalars(select(InboundUpdate).where(InboundUpdate.update_id == 555_000)))
        assert sorted(r.account for r in rows) == sorted([A_ID, B_ID, PLATFORM_ID])
        assert all(r.handled_at is not None and r.replies_sent_at is not None for r in rows)
        # One person, known by the same Telegram id whichever bot they wrote to.
        assert len(list(await s.scalars(select(User).where(User.telegram_id == 3003)))) == 1
    assert "glocal_updates_duplicate_total 3.0" in w.runtime.metrics.render().decode()

    # Each route has its own secret; an unknown bot id is a 404.
    wrong = await w.client.post(f"/telegram/webhook/{A_ID}", json=U.message(person, "/help"), headers=platform)
    assert wrong.status_code == 401
    assert (await w.client.post("/telegram/webhook/7000000099", json=U.message(person, "/help"), headers=platform)).status_code == 404


async def test_dialog_state_is_kept_per_bot(world: World):
    """A person mid-dialog with one bot is not mid-dialog with another: the FSM key has the bot id."""
    w = world
    assert (await w.connect(w.town_a, TOKEN_A)).status_code == 200
    dp, pool = w.dp, w.dp["bots"]
    bot_a, platform = pool.for_town(w.town_a.id), pool.platform.bot
    from aiogram.fsm.storage.base import StorageKey

    await dp.storage.set_state(StorageKey(bot_id=bot_a.id, chat_id=4004, user_id=4004), "appeal:text")
    assert await dp.storage.get_state(StorageKey(bot_id=bot_a.id, chat_id=4004, user_id=4004)) == "appeal:text"
    assert await dp.storage.get_state(StorageKey(bot_id=platform.id, chat_id=4004, user_id=4004)) is None


async def test_another_replica_picks_up_a_bot_it_has_not_heard_of(world: World):
    """A bot connected elsewhere (written straight to the database here): the first update
    for its id loads it, with no restart."""
    w = world
    from backend.core.bots.vault import hint

    async def _insert(s):  # noqa: ANN001, ANN202
        s.add(TownBot(id=B_ID, municipality_id=w.town_b.id, username="zaraysk_town_bot",
                      token_encrypted=w.runtime.town_bots.cipher.seal(TOKEN_B), token_hint=hint(TOKEN_B), enabled=True))

    await seed(w.runtime, _insert)
    from backend.core.bots.vault import webhook_secret

    r = await w.client.post(f"/telegram/webhook/{B_ID}", json=U.message(U.tg_user(5005), "/help"),
                            headers={"X-Telegram-Bot-Api-Secret-Token": webhook_secret(TOKEN_B)})
    assert r.status_code == 200
    assert [p["chat_id"] for p in w.api.sent_by(B_ID)] == ["5005"]


# -- notices -----------------------------------------------------------------------------------------


async def test_a_notice_for_a_town_goes_through_its_own_bot(world: World):
    w = world
    assert (await w.connect(w.town_a, TOKEN_A)).status_code == 200

    async def _queue(s):  # noqa: ANN001, ANN202
        other = await make_user(s, telegram_id=6006, town=w.town_b)
        stranger = await make_user(s, telegram_id=7007, town=w.town_a)
        note = PlainText(msgid="Your appeal was answered")
        await outbox.enqueue(s, user_id=w.resident.id, notice=note, municipality_id=w.town_a.id)
        await outbox.enqueue(s, user_id=other.id, notice=note, municipality_id=w.town_b.id)
        await outbox.enqueue(s, user_id=stranger.id, notice=note, municipality_id=w.town_a.id)

    await seed(w.runtime, _queue)
    w.api.not_started = {A_ID: {7007}}  # 7007 never opened the town's bot
    w.api.bot_calls.clear()
    channel = w.runtime.channel
    from backend.core.notifications.port import Recipient

    rates = channel.rates(Recipient(user_id=1, locale="ru", addresses={"telegram": "2002"}, municipality_id=w.town_a.id))
    assert [r.key for r in rates] == [f"tg:{A_ID}", f"tg:{A_ID}:chat:2002"]
    rates = channel.rates(Recipient(user_id=1, locale="ru", addresses={"telegram": "6006"}, municipality_id=w.town_b.id))
    assert [r.key for r in rates] == [f"tg:{PLATFORM_ID}", f"tg:{PLATFORM_ID}:chat:6006"]
    assert await deliver_outbox(w.runtime) == 3
    assert [p["chat_id"] for p in w.api.sent_by(A_ID)] == ["2002", "7007"]  # 7007's was refused by Telegram
    assert sorted(p["chat_id"] for p in w.api.sent_by(PLATFORM_ID)) == ["6006", "7007"]  # town B has no bot; 7007 by fallback
    async with w.runtime.sessionmaker() as s:
        assert not (await s.get(User, w.resident.id)).bot_blocked
        assert not (await s.scalar(select(User).where(User.telegram_id == 7007))).bot_blocked


async def test_someone_who_blocked_the_towns_bot_is_not_written_to_by_another(world: World):
    w = world
    assert (await w.connect(w.town_a, TOKEN_A)).status_code == 200
    await seed(w.runtime, lambda s: outbox.enqueue(s, user_id=w.resident.id, notice=PlainText(msgid="Your appeal was answered"),
                                                  municipality_id=w.town_a.id))
    w.api.blocked = {A_ID: {2002}}
    w.api.bot_calls.clear()
    assert await deliver_outbox(w.runtime) == 0
    assert [p["chat_id"] for p in w.api.sent_by(A_ID)] == ["2002"] and w.api.sent_by(PLATFORM_ID) == []
    async with w.runtime.sessionmaker() as s:
        assert (await s.get(User, w.resident.id)).bot_blocked


# -- Mini App launch data ------------------------------------------------------------------------------


async def test_launch_data_signed_by_a_town_bot_is_good_in_that_town_only(world: World):
    w = world
    assert (await w.connect(w.town_a, TOKEN_A)).status_code == 200
    by_a = tma(w.runtime, w.resident, token=TOKEN_A)
    me = await w.client.get("/api/v1/me", headers=by_a)
    assert me.status_code == 200 and me.json()["current_municipality"]["id"] == w.town_a.id
    assert (await w.client.get(f"/api/v1/municipalities/{w.town_a.id}/services", headers=by_a)).status_code == 200
    # Whoever holds the town's token can sign for anyone: not beyond the town.
    assert (await w.client.get(f"/api/v1/municipalities/{w.town_b.id}/services", headers=by_a)).status_code == 404
    assert (await w.client.patch("/api/v1/me", json={"municipality_id": w.town_b.id}, headers=by_a)).status_code == 404
    assert (await w.client.get("/api/v1/me/export", headers=by_a)).status_code == 403
    assert (await w.client.delete("/api/v1/me", headers=by_a)).status_code == 403
    admin_by_a = tma(w.runtime, w.admin, token=TOKEN_A)
    assert (await w.client.get("/api/v1/platform/towns", headers=admin_by_a)).status_code == 403
    # The platform's launch data keeps working everywhere; unknown or disabled bots' is refused.
    assert (await w.client.get("/api/v1/me/export", headers=tma(w.runtime, w.resident))).status_code == 200
    assert (await w.client.get("/api/v1/me", headers=tma(w.runtime, w.resident, token=TOKEN_B))).status_code == 401
    path = f"/api/v1/platform/towns/{w.town_a.id}/bot"
    assert (await w.client.patch(path, json={"enabled": False}, headers=w.admin_headers())).status_code == 200
    assert (await w.client.get("/api/v1/me", headers=by_a)).status_code == 401
    expired = tma(w.runtime, w.resident, auth_date=int(time.time()) - 10 * 3600)
    r = await w.client.get("/api/v1/me", headers=expired)
    assert r.status_code == 401 and "истёк" in r.json()["message"]


async def test_launch_signature_check_matches_a_town_token(world: World):
    raw = initdata.sign({"user": {"id": 2002, "first_name": "Анна"}, "auth_date": int(time.time())}, token=TOKEN_A)
    assert initdata.signature_valid(TOKEN_A, raw) and not initdata.signature_valid(BOT_TOKEN, raw)


# -- registering with Telegram, webhook and polling -------------------------------------------------


async def _until(predicate, what: str, timeout: float = 10.0) -> None:  # noqa: ANN001
    """Wait for a condition the code under test brings about (not a timing assertion)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_bot_connected_while_running_registers_its_webhook_commands_and_menu(world: World):
    from bot.lifecycle import BotRunner

    w = world
    dp = w.dp
    runner = BotRunner(w.runtime, dp["bots"].platform.bot, dp, dp["inbox"], pool=dp["bots"])
    runner.start()
    try:
        await _until(lambda: any(b == PLATFORM_ID and m == "setWebhook" for b, m, _ in w.api.bot_calls), "the platform's webhook")
        assert (await w.connect(w.town_a, TOKEN_A)).status_code == 200

        def of_a(method: str) -> list[dict[str, Any]]:
            return [p for b, m, p in w.api.bot_calls if b == A_ID and m == method]

        await _until(lambda: of_a("setWebhook") and len(of_a("setMyCommands")) == 3 and of_a("setChatMenuButton"), "A's start-up calls")
        hook = of_a("setWebhook")[0]
        assert hook["url"] == f"https://glocal.test/telegram/webhook/{A_ID}" and hook["secret_token"] == _secret(w.runtime, A_ID)
        assert hook["secret_token"] != w.runtime.settings.webhook_secret
        await _until(lambda: runner.town_states.get(A_ID) == "ok", "A's state")
        # Disconnected: its webhook is removed, the town is the platform bot's again.
        assert (await w.client.delete(f"/api/v1/platform/towns/{w.town_a.id}/bot", headers=w.admin_headers())).status_code == 204
        await _until(lambda: of_a("deleteWebhook"), "A's webhook to be removed")
        assert A_ID not in runner.town_states
    finally:
        await runner.stop()


async def test_polling_polls_every_bot(db_url: str, tmp_path: Path):
    """Without PUBLIC_URL each bot has its own getUpdates loop; a bot already connected at
    start is served from the start."""
    from backend.core.bots.vault import Cipher, hint
    from bot.lifecycle import BotRunner

    api = FakeBotAPI()
    url = await api.start()
    runtime = make_runtime(make_settings(db_url, tmp_path, TELEGRAM_API_URL=url))
    if TEST_REDIS:
        await runtime.kv.redis.flushdb()  # type: ignore[attr-defined]

    async def _make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Коломна")
        s.add(TownBot(id=A_ID, municipality_id=town.id, username="kolomna_town_bot",
                      token_encrypted=Cipher(runtime.settings.secret_key).seal(TOKEN_A), token_hint=hint(TOKEN_A), enabled=True))

    await seed(runtime, _make)
    app, bot, dp = build(runtime)
    api.pending_by_bot = {A_ID: [U.message(U.tg_user(8008), "/help", update_id=1)], PLATFORM_ID: [U.message(U.tg_user(8008), "/help", update_id=1)]}
    runner = BotRunner(runtime, bot, dp, dp["inbox"], pool=dp["bots"])
    runner.start()
    try:
        await _until(lambda: api.sent_by(A_ID) and api.sent_by(PLATFORM_ID), "a reply from each bot")
        assert [p["chat_id"] for p in api.sent_by(A_ID)] == ["8008"] and [p["chat_id"] for p in api.sent_by(PLATFORM_ID)] == ["8008"]
        assert {b for b, m, _ in api.bot_calls if m == "deleteWebhook"} == {A_ID, PLATFORM_ID}
    finally:
        await runner.stop()
        await dp.storage.close()
        if TEST_DB:
            await _clean_postgres(runtime)
        await runtime.close()
        await api.stop()
