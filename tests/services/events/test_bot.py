"""Events in the bot, end to end: real Update JSON through the real Dispatcher, asserting on
the exact Bot API calls and on what lands in the database. A full event sends the next
person to the waitlist; a cancel offers the place to the first of it, whose one-tap confirm
brings the ticket; an offer not confirmed in time goes to the next (on a fake clock)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import segno
from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, GetMe, SendDocument, SendMessage, SendPhoto, SendVenue, SetMyCommands
from PIL import Image
from sqlalchemy import select

from backend.core.notifications.models import OutboxMessage
from backend.services.events import jobs
from backend.services.events import service as events
from backend.services.events.models import Event, EventRegistration, EventTeam
from backend.services.events.rules import ALPHABET
from bot.services.events.callbacks import (
    EvCancelCB,
    EvConfirmCB,
    EvMapCB,
    EvOptionCB,
    EvSkipCB,
    EvStartCB,
    EvTeamCB,
    EvTermsCB,
    EvTicketCB,
)
from tests import updates as U
from tests.conftest import BotHarness
from tests.factories import deliver_outbox, make_town, seed
from tests.services.events.factories import TERMS, make_event

CARD_FULL = "All places are taken: you can join the waitlist."


class Person:
    def __init__(self, harness: BotHarness, telegram_id: int, first_name: str) -> None:
        self.h = harness
        self.tg = U.tg_user(telegram_id, first_name, language_code="en")
        self.id = telegram_id

    # getMe (the bot's username for the calendar file's link) is a read, sent at once; the
    # calls below are what the person sees, in order.
    async def send(self, text: str) -> list[Any]:
        return [c for c in await self.h.feed(U.message(self.tg, text)) if not isinstance(c, GetMe)]

    async def press(self, data: str) -> list[Any]:
        return [c for c in await self.h.feed(U.callback(self.tg, data)) if not isinstance(c, GetMe)]


def buttons(call: Any) -> list[list[tuple[str, str | None]]]:
    return [[(b.text, b.callback_data) for b in row] for row in call.reply_markup.inline_keyboard]


def closed(calls: list[Any]) -> bool:
    return isinstance(calls[0], AnswerCallbackQuery) and isinstance(calls[1], EditMessageReplyMarkup) and calls[1].reply_markup is None


async def _world(runtime: Any, **event: Any) -> tuple[Any, Event]:
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Kolomna")
        return town, await make_event(s, town, **event)

    return await seed(runtime, make)


async def _registration(runtime: Any, event_id: int, telegram_id: int) -> EventRegistration:
    from backend.core.users.models import User

    async with runtime.sessionmaker() as s:
        return await s.scalar(
            select(EventRegistration).join(User, User.id == EventRegistration.user_id)
            .where(EventRegistration.event_id == event_id, User.telegram_id == telegram_id)
        )


async def _event(runtime: Any, event_id: int) -> Event:
    async with runtime.sessionmaker() as s:
        return await s.get(Event, event_id)


def png_modules(png: bytes, *, scale: int = 10, border: int = 4) -> list[list[bool]]:
    """The dark modules of a QR PNG, read back pixel by pixel at the centre of each module."""
    img = Image.open(io.BytesIO(png)).convert("L")
    size = img.width // scale - 2 * border
    return [[img.getpixel(((border + x) * scale + scale // 2, (border + y) * scale + scale // 2)) < 128 for x in range(size)] for y in range(size)]


async def register(p: Person, event: Event, *, idea: str | None = "A coworking space") -> list[Any]:
    """Open the deep link, accept the terms (and the policy), answer the form; the last calls."""
    calls = await p.send(f"/start ev_{event.id}")
    card = calls[-1]
    assert isinstance(card, SendMessage) and card.text.startswith("🎟 Glocal City Game")
    start = [d for row in buttons(card) for _t, d in row if d == EvStartCB(event_id=event.id).pack()]
    assert start, buttons(card)
    calls = await p.press(start[0])
    assert closed(calls)
    terms = calls[2]
    assert terms.text.startswith("Terms of «Glocal City Game»:\n\n" + TERMS)
    assert "Consent to the processing of personal data" in terms.text
    assert buttons(terms) == [[("✅ I accept", EvTermsCB(event_id=event.id).pack())], [("✖️ Cancel", "evquit")]]
    calls = await p.press(EvTermsCB(event_id=event.id).pack())
    assert closed(calls)
    assert calls[2].text == "Question 1 of 2\n\nWhich direction is closer to you?\n\nChoose an answer below."
    assert buttons(calls[2])[:2] == [[("Tourism", EvOptionCB(event_id=event.id, q=0, opt=0).pack())],
                                     [("Urban space", EvOptionCB(event_id=event.id, q=0, opt=1).pack())]]
    calls = await p.press(EvOptionCB(event_id=event.id, q=0, opt=1).pack())
    assert closed(calls)
    assert calls[2].text == "Question 2 of 2\n\nYour idea for the town, in a few words?\n\nWrite your answer in a message."
    assert buttons(calls[2]) == [[("⏭ Skip", EvSkipCB(event_id=event.id, q=1).pack()), ("✖️ Cancel", "evquit")]]
    if idea is None:
        return (await p.press(EvSkipCB(event_id=event.id, q=1).pack()))[2:]
    return await p.send(idea)


def assert_ticket(calls: list[Any], event: Event, reg: EventRegistration, *, chat_id: int) -> None:
    """The ticket: the QR PNG made from the code, the code in the caption, Team and Cancel
    buttons, then the .ics file with the deep link back to the event."""
    photo, doc = calls[-2], calls[-1]
    assert isinstance(photo, SendPhoto) and photo.chat_id == chat_id
    assert len(reg.code) == 6 and set(reg.code) <= set(ALPHABET)
    assert f"Your code: {reg.code}" in photo.caption
    assert photo.photo.filename == f"ticket-{reg.code}.png"
    png = photo.photo.data
    assert png.startswith(b"\x89PNG")
    expected = [[bool(v) for v in row] for row in segno.make_qr(reg.code, error="m").matrix]
    assert png_modules(png) == expected
    assert buttons(photo) == [
        [("👥 Team", EvTeamCB(registration_id=reg.id, action="show").pack())],
        [("✖️ Cancel registration", EvCancelCB(registration_id=reg.id).pack())],
    ]
    assert isinstance(doc, SendDocument) and doc.document.filename == f"event-{event.id}.ics"
    text = doc.document.data.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert f"\r\nDTSTART:{event.starts_at:%Y%m%dT%H%M%SZ}\r\n" in text
    assert f"\r\nDTEND:{event.ends_at:%Y%m%dT%H%M%SZ}\r\n" in text
    assert f"\r\nURL:https://t.me/glocal_test_bot?start=ev_{event.id}\r\n" in text
    assert "\r\nSUMMARY:Glocal City Game\r\n" in text and "\r\nLOCATION:Youth centre\\, Sovetskaya St\\, 10\r\n" in text
    assert "\r\nGEO:55.079400;38.778300\r\n" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


async def test_full_event_waitlist_cancel_offer_confirm(harness, runtime):
    town, event = await _world(runtime)  # 2 places, 1 reserved: one to give out
    anna, boris = Person(harness, 901, "Anna"), Person(harness, 902, "Boris")

    calls = await register(anna, event)
    reg_a = await _registration(runtime, event.id, anna.id)
    assert reg_a.status == "registered" and reg_a.answers == {"direction": "Urban space", "idea": "A coworking space"}
    assert calls[0].text == "You are registered for «Glocal City Game». Here is your ticket."
    assert_ticket(calls, event, reg_a, chat_id=anna.id)
    assert (await _event(runtime, event.id)).taken == 1

    # The event is full now: the card says so and offers the waitlist.
    calls = await boris.send(f"/start ev_{event.id}")
    assert calls[-1].text.endswith(CARD_FULL)
    assert buttons(calls[-1])[0] == [("📝 Join the waitlist", EvStartCB(event_id=event.id).pack())]
    calls = await register(boris, event, idea=None)
    assert calls[-1].text.startswith("All places at «Glocal City Game» are taken. You are on the waitlist")
    assert buttons(calls[-1]) == [[("✖️ Leave the waitlist", EvCancelCB(registration_id=(await _registration(runtime, event.id, boris.id)).id).pack())]]
    reg_b = await _registration(runtime, event.id, boris.id)
    assert reg_b.status == "waitlisted" and reg_b.answers == {"direction": "Urban space"}

    # Registering again gives back what one has, not a second registration.
    calls = await anna.press(EvStartCB(event_id=event.id).pack())
    assert any(isinstance(c, SendPhoto) for c in calls)

    # Anna cancels from her ticket: asked once more, then the place is offered to Boris.
    calls = await anna.press(EvCancelCB(registration_id=reg_a.id).pack())
    assert calls[1].text == "Cancel your registration for «Glocal City Game»? Your place goes to the next person."
    calls = await anna.press(EvCancelCB(registration_id=reg_a.id, sure=True).pack())
    assert closed(calls) and calls[2].text == "Your registration for «Glocal City Game» is cancelled."
    assert (await _registration(runtime, event.id, anna.id)).status == "cancelled"
    reg_b = await _registration(runtime, event.id, boris.id)
    assert reg_b.status == "offered" and reg_b.offer_expires_at is not None
    assert abs((reg_b.offer_expires_at - reg_b.offered_at) - timedelta(hours=12)) < timedelta(seconds=1)

    # Nothing reached Boris in the cancel's own update: the offer leaves through the outbox,
    # in the language stored for him (none chosen: the platform's default, Russian; the chat
    # answered him in his Telegram client's English).
    assert all(getattr(c, "chat_id", anna.id) == anna.id for c in calls)
    harness.session.calls.clear()
    assert await deliver_outbox(runtime) == 1
    sent = harness.session.pop()
    offer = next(c for c in sent if isinstance(c, SendMessage))
    assert offer.chat_id == boris.id
    deadline = events.local_when(reg_b.offer_expires_at, town)
    assert offer.text.startswith("Освободилось место на «Glocal City Game» (")
    assert offer.text.endswith(f"Оно придержано для вас до {deadline}: подтвердите его кнопкой ниже, иначе оно перейдёт следующему в листе ожидания.")
    assert buttons(offer) == [
        [("✅ Подтвердить место", EvConfirmCB(registration_id=reg_b.id).pack())],
        [("✖️ Не смогу прийти", EvCancelCB(registration_id=reg_b.id, sure=True).pack())],
    ]

    # One tap: the place is his, and the ticket follows.
    calls = await boris.press(EvConfirmCB(registration_id=reg_b.id).pack())
    assert closed(calls)
    assert calls[2].text == "Your place at «Glocal City Game» is confirmed. Here is your ticket."
    reg_b = await _registration(runtime, event.id, boris.id)
    assert reg_b.status == "registered" and reg_b.confirmed_at is not None
    assert_ticket(calls, event, reg_b, chat_id=boris.id)
    assert (await _event(runtime, event.id)).taken == 1

    # A stranger cannot press someone else's button.
    calls = await anna.press(EvConfirmCB(registration_id=reg_b.id).pack())
    assert [(type(c), c.text, c.show_alert) for c in calls] == [(AnswerCallbackQuery, "This registration is not yours or no longer exists.", True)]


async def test_an_expired_offer_goes_to_the_next_in_line(harness, runtime):
    town, event = await _world(runtime)
    anna, boris, vera = Person(harness, 911, "Anna"), Person(harness, 912, "Boris"), Person(harness, 913, "Vera")
    await register(anna, event)
    await register(boris, event)
    await register(vera, event)
    assert [(await _registration(runtime, event.id, p.id)).status for p in (anna, boris, vera)] == ["registered", "waitlisted", "waitlisted"]

    reg_a = await _registration(runtime, event.id, anna.id)
    await anna.press(EvCancelCB(registration_id=reg_a.id, sure=True).pack())
    reg_b = await _registration(runtime, event.id, boris.id)
    assert reg_b.status == "offered"
    await deliver_outbox(runtime)

    # The fake clock: a minute before the deadline nothing moves, a minute after it does.
    async with runtime.sessionmaker() as s:
        assert await events.expire_offers(s, now=reg_b.offer_expires_at - timedelta(minutes=1)) == 0
    later = reg_b.offer_expires_at + timedelta(minutes=1)
    async with runtime.sessionmaker() as s:
        assert await events.expire_offers(s, now=later) == 1
        await s.commit()
    reg_b, reg_v = await _registration(runtime, event.id, boris.id), await _registration(runtime, event.id, vera.id)
    assert (reg_b.status, reg_b.cancel_reason) == ("cancelled", "offer_expired")
    assert reg_v.status == "offered" and reg_v.offered_at == later and reg_v.offer_expires_at == later + timedelta(hours=12)

    harness.session.calls.clear()
    assert await deliver_outbox(runtime) == 2
    sent = [c for c in harness.session.pop() if isinstance(c, SendMessage)]
    by_chat = {c.chat_id: c for c in sent}
    assert by_chat[boris.id].text == (
        "Место на «Glocal City Game», придержанное для вас, не было подтверждено вовремя и перешло следующему в листе ожидания."
    )
    assert buttons(by_chat[vera.id])[0] == [("✅ Подтвердить место", EvConfirmCB(registration_id=reg_v.id).pack())]

    # Boris's old button no longer works; Vera's does.
    calls = await boris.press(EvConfirmCB(registration_id=reg_b.id).pack())
    assert calls[-1].text == "This offer is no longer valid." and calls[-1].show_alert
    calls = await vera.press(EvConfirmCB(registration_id=reg_v.id).pack())
    assert calls[2].text == "Your place at «Glocal City Game» is confirmed. Here is your ticket."
    assert (await _event(runtime, event.id)).taken == 1


async def test_an_offer_confirmed_too_late_is_refused(harness, runtime):
    town, event = await _world(runtime)
    anna, boris = Person(harness, 921, "Anna"), Person(harness, 922, "Boris")
    await register(anna, event)
    await register(boris, event)
    reg_a = await _registration(runtime, event.id, anna.id)
    await anna.press(EvCancelCB(registration_id=reg_a.id, sure=True).pack())
    reg_b = await _registration(runtime, event.id, boris.id)
    async with runtime.sessionmaker() as s:
        row = await s.get(EventRegistration, reg_b.id)
        with __import__("pytest").raises(Exception) as refused:
            await events.confirm_offer(s, registration=row, now=reg_b.offer_expires_at + timedelta(seconds=1))
        assert refused.value.render("en") == "The time to confirm this place has run out."


async def test_teams_create_join_full_and_leave(harness, runtime):
    town, event = await _world(runtime, capacity=10, reserved=0, team_max=2)
    anna, boris, vera = Person(harness, 931, "Anna"), Person(harness, 932, "Boris"), Person(harness, 933, "Vera")
    for p in (anna, boris, vera):
        await register(p, event)
    reg_a, reg_b, reg_v = [await _registration(runtime, event.id, p.id) for p in (anna, boris, vera)]

    calls = await anna.press(EvTeamCB(registration_id=reg_a.id, action="show").pack())
    assert calls[1].text == "You are not in a team yet. Create one, or join a team by its code."
    await anna.press(EvTeamCB(registration_id=reg_a.id, action="create").pack())
    calls = await anna.send("  Tourism   hub ")
    async with runtime.sessionmaker() as s:
        team = await s.scalar(select(EventTeam).where(EventTeam.event_id == event.id))
    assert team.name == "Tourism hub" and team.captain_id == reg_a.id and team.members == 1
    assert calls[0].text.startswith(f"Team «Tourism hub» is created, you are its captain. Others join it with the code {team.code}.")
    assert "👑 Anna" in calls[0].text and "The team needs at least 2 people to take part." in calls[0].text

    await boris.press(EvTeamCB(registration_id=reg_b.id, action="join").pack())
    calls = await boris.send(team.code.lower())
    assert calls[0].text.startswith("You have joined the team «Tourism hub».")
    assert "Members: 2 of at most 2" in calls[0].text and "needs at least" not in calls[0].text

    # Full at two: Vera is told so and stays where she was (still asked for a code).
    await vera.press(EvTeamCB(registration_id=reg_v.id, action="join").pack())
    calls = await vera.send(team.code)
    assert [(type(c), c.chat_id, c.text) for c in calls] == [(SendMessage, vera.id, "The team «Tourism hub» is full: at most 2 people.")]
    calls = await vera.send("NOPE77")
    assert calls[0].text == "No team of this event has that code."

    # The captain leaves: the captaincy passes to Boris; Vera now fits.
    calls = await anna.press(EvTeamCB(registration_id=reg_a.id, action="leave").pack())
    assert calls[1].text == "You have left the team."
    async with runtime.sessionmaker() as s:
        team = await s.get(EventTeam, team.id)
    assert team.captain_id == reg_b.id and team.members == 1
    calls = await vera.send(team.code)
    assert calls[0].text.startswith("You have joined the team «Tourism hub».")


async def test_events_list_map_mytickets_and_reminders_once(harness, runtime):
    town, event = await _world(runtime, capacity=None, reserved=0)
    anna = Person(harness, 941, "Anna")
    await anna.send("/start kolomna")
    calls = await anna.send("/events")
    assert calls[0].text.startswith("Coming events in Kolomna:\n\n🎟 Glocal City Game\n🗓 ")
    calls = await anna.press(EvMapCB(event_id=event.id).pack())
    assert isinstance(calls[1], SendVenue) and (calls[1].latitude, calls[1].longitude) == (55.0794, 38.7783)
    await register(anna, event)
    calls = await anna.send("/mytickets")
    reg = await _registration(runtime, event.id, anna.id)
    assert calls[0].text.startswith("Your registrations:\n• Glocal City Game — ")
    assert buttons(calls[0]) == [[("Glocal City Game", EvTicketCB(registration_id=reg.id).pack())]]

    # A day before, then an hour before; each once however often the job runs.
    day_before = event.starts_at - timedelta(hours=23)
    async with runtime.sessionmaker() as s:
        assert await jobs.send_reminders(s, now=event.starts_at - timedelta(days=2)) == 0
        assert await jobs.send_reminders(s, now=day_before) == 1
        assert await jobs.send_reminders(s, now=day_before + timedelta(minutes=5)) == 0
        assert await jobs.send_reminders(s, now=event.starts_at - timedelta(minutes=50)) == 1
        assert await jobs.send_reminders(s, now=event.starts_at - timedelta(minutes=40)) == 0
        await s.commit()
    async with runtime.sessionmaker() as s:
        kinds = list(await s.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))
    assert kinds == ["events.reminder_day", "events.reminder_hour"]
    harness.session.calls.clear()
    assert await deliver_outbox(runtime) == 2
    sent = [c for c in harness.session.pop() if isinstance(c, SendMessage)]
    when = events.local_when(event.starts_at, town)
    assert sent[0].text == f"Завтра: «Glocal City Game», {when}, Youth centre, Sovetskaya St, 10. Код вашего билета: {reg.code}."
    assert sent[1].text == f"Через час: «Glocal City Game», {when}, Youth centre, Sovetskaya St, 10. Код вашего билета: {reg.code}."
    assert buttons(sent[1]) == [[("🎫 Мой билет", EvTicketCB(registration_id=reg.id).pack())]]


def test_callback_data_fits_telegrams_64_bytes():
    big = 2**31 - 1
    packed = [
        EvOptionCB(event_id=big, q=19, opt=7).pack(), EvCancelCB(registration_id=big, sure=True).pack(),
        EvTeamCB(registration_id=big, action="create").pack(), EvSkipCB(event_id=big, q=19).pack(),
    ]
    assert all(len(p.encode()) <= 64 for p in packed)


async def test_cancel_mid_form_saves_nothing_and_input_is_checked(harness, runtime):
    town, event = await _world(runtime)
    anna = Person(harness, 951, "Anna")
    await anna.send(f"/start ev_{event.id}")
    await anna.press(EvStartCB(event_id=event.id).pack())
    await anna.press(EvTermsCB(event_id=event.id).pack())
    # A question with options takes a button, not text; a button of another question is stale.
    calls = await anna.send("Tourism")
    assert calls[0].text == "Please choose one of the answers with the buttons."
    calls = await anna.press(EvOptionCB(event_id=event.id, q=1, opt=0).pack())
    assert calls[0].text == "This button belongs to another question." and calls[0].show_alert
    await anna.press(EvOptionCB(event_id=event.id, q=0, opt=0).pack())
    calls = await anna.send("x" * 1001)
    assert calls[0].text == "The answer is too long: at most 1000 characters."
    calls = await anna.send("/cancel")
    assert [c.text for c in calls] == ["Stopped. Nothing was saved."]
    ctx = harness.dp.fsm.get_context(harness.bot, chat_id=anna.id, user_id=anna.id)
    assert await ctx.get_state() is None
    assert await _registration(runtime, event.id, anna.id) is None
    # A deep link to an event that does not exist.
    calls = await anna.send("/start ev_99999")
    assert calls[0].text == "No such event."


async def test_a_town_with_events_off_has_none_in_the_chat(harness, runtime):
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Kolomna", settings={"components": ["appeals"]})
        return town, await make_event(s, town)

    town, event = await seed(runtime, make)
    anna = Person(harness, 961, "Anna")
    await anna.send("/start kolomna")
    calls = await anna.send("/events")
    # Touching a service the town switched off also sets the chat's commands again.
    assert [c.text for c in calls if isinstance(c, SendMessage)] == ["«Events» is not available in Kolomna."]
    assert all(isinstance(c, (SendMessage, SetMyCommands)) for c in calls)
    calls = await anna.press(EvStartCB(event_id=event.id).pack())
    assert calls[0].text == "«Events» is not available in Kolomna." and calls[0].show_alert
