"""Delivery over real HTTP to a stand-in Bot API: Telegram's 429 (retry_after) and 403 as it
sends them, HTML and buttons as Telegram receives them, and two workers (two engines, two
connection pools, one Redis pacer on PostgreSQL + Redis) sharing one broadcast without
sending anything twice."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

from sqlalchemy import select

from backend.core.users.models import Role, User
from backend.db import make_engine, make_sessionmaker, unit_of_work
from backend.services.broadcasts.engine import Engine, EngineConfig
from backend.services.broadcasts.models import BroadcastRecipient
from bot.channel import TelegramChannel
from bot.dispatcher import create_bot
from bot.services import INSTALLED
from tests.botapi import FakeBotAPI
from tests.conftest import make_settings
from tests.factories import make_town, make_user, seed
from tests.services.broadcasts.factories import make_broadcast, make_residents


async def _world(runtime, n: int, **fields):  # noqa: ANN001, ANN202
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s)
        org = await make_user(s, town=town, roles=(Role.ORGANIZER,))
        people = await make_residents(s, town, n)
        return town, org, people, await make_broadcast(s, town, org, **fields)
    return await seed(runtime, make)


def _channel(runtime, api: FakeBotAPI) -> TelegramChannel:  # noqa: ANN001
    settings = make_settings(runtime.settings.DATABASE_URL, runtime.settings.DATA_DIR, TELEGRAM_API_URL=api.url, BOT_USERNAME="glocal_test_bot")
    return TelegramChannel(create_bot(settings), settings, INSTALLED)


def _sends(api: FakeBotAPI) -> Counter:
    return Counter(int(p["chat_id"]) for m, p in api.calls if m == "sendMessage")


async def test_429_pauses_then_resumes_403_blocks_and_html_with_buttons_arrives(runtime) -> None:
    buttons = [[{"text": "Программа", "kind": "url", "value": "https://example.ru/plan"},
                {"text": "Записаться", "kind": "deeplink", "value": "ev_42"}]]
    town, org, people, b = await _world(runtime, 12, text="<b>Субботник</b> &amp; <i>чай</i>", buttons=buttons)
    api = FakeBotAPI()
    await api.start()
    blocked, limited = people[2].telegram_id, people[5].telegram_id
    hit: list[float] = []

    def refuse(method: str, params: dict):  # noqa: ANN202
        chat = int(params.get("chat_id", 0))
        if chat == blocked:
            return 403, "Forbidden: bot was blocked by the user", None
        if chat == limited and not hit:
            hit.append(time.monotonic())
            return 429, "Too Many Requests: retry after 1", {"retry_after": 1}
        return None

    api.refuse = refuse
    channel = _channel(runtime, api)
    try:
        engine = Engine(runtime.sessionmaker, channel, runtime.pacer, files_root=runtime.settings.files_dir,
                        config=EngineConfig(bot_rate=200.0, share=1.0, senders=4))
        summary = await engine.run()
    finally:
        await channel.bot.session.close()
        await api.stop()

    sends = _sends(api)
    assert summary.paused == 1 and summary.blocked == 1 and summary.sent == 11
    assert sends[limited] == 2  # the 429, then the same message once the pause was over
    assert all(n == 1 for chat, n in sends.items() if chat != limited)
    after_pause = [i for i, (m, p) in enumerate(api.calls) if m == "sendMessage" and int(p["chat_id"]) == limited][1]
    assert after_pause > 0
    first = next(p for m, p in api.calls if m == "sendMessage" and int(p["chat_id"]) == people[0].telegram_id)
    assert first["parse_mode"] == "HTML" and first["text"] == "<b>Субботник</b> &amp; <i>чай</i>"
    rows = json.loads(first["reply_markup"])["inline_keyboard"]
    assert rows[0] == [{"text": "Программа", "url": "https://example.ru/plan"},
                       {"text": "Записаться", "url": "https://t.me/glocal_test_bot?start=ev_42"}]
    assert [btn["callback_data"] for btn in rows[1]] == [f"bmute:post:{town.id}:news", f"bmute:menu:{town.id}:*"]
    async with unit_of_work(runtime.sessionmaker) as s:
        assert (await s.get(User, people[2].id)).bot_blocked is True
        states = Counter(await s.scalars(select(BroadcastRecipient.state).where(BroadcastRecipient.broadcast_id == b.id)))
    assert states == Counter({"sent": 11, "blocked": 1})


async def test_two_workers_share_a_broadcast_and_send_nothing_twice(runtime) -> None:
    town, org, people, b = await _world(runtime, 400)
    api = FakeBotAPI()
    await api.start()
    api.delays["sendMessage"] = 0.002  # Telegram takes a moment: both workers have calls in flight
    channels = [_channel(runtime, api) for _ in range(2)]
    engines = [make_engine(runtime.settings.DATABASE_URL) for _ in range(2)]
    try:
        workers = [
            Engine(make_sessionmaker(e), ch, runtime.pacer, files_root=runtime.settings.files_dir,
                   config=EngineConfig(bot_rate=1000.0, share=1.0, senders=8, batch=50), worker=f"worker-{i}")
            for i, (e, ch) in enumerate(zip(engines, channels, strict=True))
        ]
        summaries = await asyncio.gather(*(w.run() for w in workers))
    finally:
        for ch in channels:
            await ch.bot.session.close()
        for e in engines:
            await e.dispose()
        await api.stop()

    sends = _sends(api)
    assert len(sends) == 400 and set(sends.values()) == {1}
    assert sum(s.sent for s in summaries) == 400
    assert all(s.sent > 0 for s in summaries)  # both took part
    async with unit_of_work(runtime.sessionmaker) as s:
        by_worker = Counter(await s.scalars(select(BroadcastRecipient.claimed_by).where(BroadcastRecipient.broadcast_id == b.id)))
    assert set(by_worker) == {"worker-0", "worker-1"}
