"""Broadcasts in the chat through the real Dispatcher: mute from under a post, /mute and its
switches, and a resident's reply going out at once while a broadcast runs."""

from __future__ import annotations

import asyncio

from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from aiogram.types import Update
from sqlalchemy import select

from backend.core.users.models import Role
from backend.db import unit_of_work
from backend.services.broadcasts import queries
from backend.services.broadcasts.engine import Engine, EngineConfig
from backend.services.broadcasts.models import Broadcast
from tests import updates as U
from tests.factories import make_town, make_user, seed
from tests.services.broadcasts.factories import make_broadcast, make_residents

MENU = "Announcements from {town}: tap a category to mute it or turn it back on."


async def _world(runtime, n: int = 0):  # noqa: ANN001, ANN202
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, name="Коломна")
        org = await make_user(s, town=town, roles=(Role.ORGANIZER,))
        resident = await make_user(s, town=town, first_name="Anna")
        people = await make_residents(s, town, n)
        return town, org, resident, people
    return await seed(runtime, make)


async def test_mute_menu_and_its_switches(harness, runtime) -> None:
    town, org, resident, _ = await _world(runtime)
    tg = U.tg_user(resident.telegram_id, "Anna", language_code="en")
    [menu] = await harness.feed(U.message(tg, "/mute"))
    assert isinstance(menu, SendMessage) and menu.text == MENU.format(town="Коломна")
    rows = menu.reply_markup.inline_keyboard
    assert [r[0].text for r in rows] == [
        "🔔 Town news", "🔔 Events", "🔔 Surveys", "🔔 Outages and roadworks", "🔔 Safety warnings", "🔕 Stop all announcements",
    ]
    assert rows[1][0].callback_data == f"bmute:mute:{town.id}:events"

    calls = await harness.feed(U.callback(tg, f"bmute:mute:{town.id}:events"))
    edit = next(c for c in calls if isinstance(c, EditMessageText))
    assert edit.reply_markup.inline_keyboard[1][0].text == "🔕 Events"
    assert edit.reply_markup.inline_keyboard[1][0].callback_data == f"bmute:unmute:{town.id}:events"

    calls = await harness.feed(U.callback(tg, f"bmute:mute:{town.id}:*"))
    edit = next(c for c in calls if isinstance(c, EditMessageText))
    assert edit.text == "Announcements from Коломна are off. You will still get answers about your own appeals."
    assert edit.reply_markup.inline_keyboard[-1][0].text == "🔔 Receive announcements again"
    async with unit_of_work(runtime.sessionmaker) as s:
        assert await queries.mutes(s, user_id=resident.id, municipality_id=town.id) == {"events", "*"}

    await harness.feed(U.callback(tg, f"bmute:unmute:{town.id}:*"))
    async with unit_of_work(runtime.sessionmaker) as s:
        assert await queries.mutes(s, user_id=resident.id, municipality_id=town.id) == {"events"}


async def test_mute_from_under_a_post(harness, runtime) -> None:
    town, org, resident, _ = await _world(runtime)
    tg = U.tg_user(resident.telegram_id, "Anna", language_code="en")
    calls = await harness.feed(U.callback(tg, f"bmute:post:{town.id}:works", message_text="Отключение воды"))
    [answer] = [c for c in calls if isinstance(c, AnswerCallbackQuery)]
    assert answer.text == "«Outages and roadworks» muted. /mute to change your announcements."
    assert not [c for c in calls if isinstance(c, EditMessageText)]  # the post itself stays as it was
    async with unit_of_work(runtime.sessionmaker) as s:
        assert await queries.mutes(s, user_id=resident.id, municipality_id=town.id) == {"works"}
    calls = await harness.feed(U.callback(tg, f"bmute:menu:{town.id}:*"))
    assert any(isinstance(c, SendMessage) and c.text == MENU.format(town="Коломна") for c in calls)
    # A forged town or category does nothing.
    calls = await harness.feed(U.callback(tg, "bmute:post:2147483647:works"))
    assert [type(c) for c in calls] == [AnswerCallbackQuery]


async def test_a_residents_reply_goes_out_at_once_while_a_broadcast_runs(harness, runtime) -> None:
    town, org, resident, people = await _world(runtime, 40)
    b = await seed(runtime, lambda s: make_broadcast(s, town, org))
    engine = Engine(runtime.sessionmaker, runtime.channel, runtime.pacer, files_root=runtime.settings.files_dir,  # type: ignore[arg-type]
                    config=EngineConfig(bot_rate=30.0, share=0.85, senders=4))
    calls = harness.session.calls
    calls.clear()
    task = asyncio.create_task(engine.run())
    posts = lambda: [c for c in calls if isinstance(c, SendMessage) and c.text.startswith("<b>Субботник")]  # noqa: E731
    while len(posts()) < 10:
        await asyncio.sleep(0.01)
    tg = U.tg_user(resident.telegram_id, "Anna", language_code="en")
    update = Update.model_validate(U.message(tg, "/mute"), context={"bot": harness.bot})
    await harness.dp.feed_update(harness.bot, update)
    # The reply went out as the update was handled, not behind the broadcast's queue.
    reply = [c for c in calls if isinstance(c, SendMessage) and c.chat_id == resident.telegram_id and c not in posts()]
    assert reply and reply[0].text == MENU.format(town="Коломна")
    assert len(posts()) < 41
    await task
    assert len(posts()) == 41  # the 40 and the resident
    async with unit_of_work(runtime.sessionmaker) as s:
        assert (await s.scalar(select(Broadcast.status).where(Broadcast.id == b.id))) == "done"
