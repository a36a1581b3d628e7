"""Events in the chat. `/events` lists the town's coming events; a deep link `ev_<id>` (or a
button) opens one; registering shows the terms (and the personal-data policy when the person
has not accepted it), asks the event's questions one a message, then sends the ticket (a QR
code, the short code, an .ics file) or says where on the waitlist they are. Handlers parse,
call the events service and render.

The router sits before `start`: it takes `/start ev_<id>` and lets every other /start pass.
Outside its dialog states it takes only its own commands and buttons."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.municipalities.models import Municipality
from backend.core.privacy import service as privacy
from backend.core.users import service as users
from backend.core.users.models import User
from backend.db import utcnow
from backend.errors import Forbidden, NotFound
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.services.events import ics, queries, rules, tickets
from backend.services.events import service as events
from backend.services.events.models import Event, EventRegistration, EventTeam
from backend.services.events.rules import Status
from backend.settings import Settings
from bot.services.events import keyboards
from bot.services.events.callbacks import (
    EvCancelCB,
    EvConfirmCB,
    EvMapCB,
    EvMenuCB,
    EvOpenCB,
    EvOptionCB,
    EvQuitCB,
    EvSkipCB,
    EvStartCB,
    EvTeamCB,
    EvTermsCB,
    EvTicketCB,
)
from bot.services.events.dialog import ANSWER_MAX, TEAM_NAME_MAX, EventForm, TeamForm

DEEP_LINK = "ev_"


# --- helpers --------------------------------------------------------------------------------------


async def _answered(query: CallbackQuery) -> Message:
    """Answer the button and take the keyboard off its message, so it is not pressed twice."""
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_reply_markup(reply_markup=None)
    return query.message


async def _event(session: AsyncSession, event_id: int) -> tuple[Event, Municipality]:
    event = await session.get(Event, event_id)
    if event is None or not event.published:
        raise NotFound(N_("No such event."))
    town = await session.get(Municipality, event.municipality_id)
    assert town is not None
    return event, town


async def _mine(session: AsyncSession, registration_id: int, user: User) -> tuple[EventRegistration, Event, Municipality]:
    """The person's own registration (another person's button is refused)."""
    reg = await session.get(EventRegistration, registration_id)
    if reg is None or reg.user_id != user.id:
        raise NotFound(N_("This registration is not yours or no longer exists."))
    event, town = await _event(session, reg.event_id)
    return reg, event, town


def _when(event: Event, town: Municipality) -> str:
    start, end = events.local_when(event.starts_at, town), events.local_when(event.ends_at, town)
    if start[:10] == end[:10]:
        return f"{start}–{end[11:]}"
    return f"{start} — {end}"


def _venue(event: Event) -> str:
    return ", ".join(p for p in (event.venue_name, event.venue_address) if p)


async def _bot_username(bot: Bot, settings: Settings) -> str | None:
    return settings.BOT_USERNAME or (await bot.me()).username


# --- the list and one event -----------------------------------------------------------------------


async def list_events(message: Message, session: AsyncSession, user: User) -> None:
    """The town's coming events, a button each."""
    town = await users.current_town(session, user=user)
    if town is None:
        await message.answer(_("Please choose your town first: /start"))
        return
    rows = await queries.upcoming(session, municipality_id=town.id, now=utcnow())
    if not rows:
        await message.answer(_("No events are coming up in {town}.").format(town=town.name))
        return
    lines = [_("Coming events in {town}:").format(town=town.name)]
    for e in rows:
        left = queries.places_left(e)
        places = "" if left is None else (" · " + (_("places left: {n}").format(n=left) if left else _("waitlist only")))
        lines.append(f"\n🎟 {e.title}\n🗓 {_when(e, town)}" + (f"\n📍 {_venue(e)}" if _venue(e) else "") + places)
    await message.answer("\n".join(lines), reply_markup=keyboards.event_list([(e.id, e.title) for e in rows]))


async def show_event(message: Message, session: AsyncSession, user: User, event_id: int) -> None:
    """One event: what, when, where, the schedule, the places, and what the person can do."""
    event, town = await _event(session, event_id)
    reg = await events.registration_of(session, event_id=event.id, user_id=user.id)
    live = reg if reg is not None and reg.status in events.ACTIVE_VALUES else None
    kind = _(rules.KIND_TITLES[rules.Kind(event.kind)])
    parts = [f"🎟 {event.title}", *([kind] if kind != event.title else []), f"🗓 {_when(event, town)}"]
    if _venue(event):
        parts.append(f"📍 {_venue(event)}")
    if event.description:
        parts.append("\n" + event.description)
    schedule = await queries.sessions_of(session, event_id=event.id)
    if schedule:
        parts.append("\n" + _("Schedule:"))
        parts += [f"• {events.local_when(s.starts_at, town)} {s.title}" + (f" ({s.place})" if s.place else "") for s in schedule]
    left = queries.places_left(event)
    reason = events.registration_state(event, utcnow())
    parts.append("")
    if live is not None:
        parts.append(_("Your registration: {status}.").format(status=_(rules.STATUS_TITLES[Status(live.status)])))
    elif reason:
        parts.append(_(reason))
    elif left is not None:
        parts.append(_("Places left: {n}.").format(n=left) if left else _("All places are taken: you can join the waitlist."))
    markup = keyboards.event_card(
        event.id, can_register=live is None and reason is None, waitlist=left == 0, registration_id=live.id if live else None,
        has_pin=event.lat is not None and event.lon is not None,
    )
    await message.answer("\n".join(parts), reply_markup=markup)


async def deep_link(message: Message, command: CommandObject, session: AsyncSession, user: User) -> None:
    """/start ev_<id>: the event's card, in the event's town when the person has none yet."""
    raw = (command.args or "").removeprefix(DEEP_LINK)
    if not raw.isdigit() or not 1 <= int(raw) <= 2**31 - 1:
        raise NotFound(N_("No such event."))
    event, town = await _event(session, int(raw))
    if user.current_municipality_id is None:
        await users.join_town(session, user=user, municipality_id=town.id)
    await show_event(message, session, user, event.id)


async def menu(query: CallbackQuery, callback_data: EvMenuCB, session: AsyncSession, user: User) -> None:
    await query.answer()
    assert isinstance(query.message, Message)
    if callback_data.action == "list":
        await list_events(query.message, session, user)
    else:
        await _my_tickets(query.message, session, user)


async def open_event(query: CallbackQuery, callback_data: EvOpenCB, session: AsyncSession, user: User) -> None:
    await query.answer()
    assert isinstance(query.message, Message)
    await show_event(query.message, session, user, callback_data.event_id)


async def show_map(query: CallbackQuery, callback_data: EvMapCB, session: AsyncSession) -> None:
    """The venue as a map pin."""
    event, _town = await _event(session, callback_data.event_id)
    await query.answer()
    assert isinstance(query.message, Message)
    if event.lat is None or event.lon is None:
        return
    await query.message.answer_venue(latitude=event.lat, longitude=event.lon, title=event.venue_name or event.title,
                                     address=event.venue_address or event.title)


# --- registration ---------------------------------------------------------------------------------


async def start_registration(query: CallbackQuery, callback_data: EvStartCB, state: FSMContext, session: AsyncSession, user: User,
                             bot: Bot, settings: Settings) -> None:
    """Register: the terms first (with the policy where consent is missing), then the form."""
    event, town = await _event(session, callback_data.event_id)
    reg = await events.registration_of(session, event_id=event.id, user_id=user.id)
    if reg is not None and reg.status in events.ACTIVE_VALUES:
        message = await _answered(query)
        await _after_registration(message, reg, event, town, bot, settings)
        return
    reason = events.registration_state(event, utcnow())
    if reason:
        await query.answer(_(reason), show_alert=True)
        return
    message = await _answered(query)
    await state.set_state(EventForm.question)
    await state.set_data({"event_id": event.id, "q": 0, "answers": {}, "terms": False})
    consented = await privacy.active_consent(session, user_id=user.id) is not None
    if event.terms or not consented:
        text = []
        if event.terms:
            text += [_("Terms of «{title}»:").format(title=event.title), event.terms]
        if not consented:
            text += [privacy.policy_text(), _("Your registration and answers are personal data: to take them, we need your consent.")]
        await message.answer("\n\n".join(text), reply_markup=keyboards.accept_terms(event.id))
        return
    await _ask(message, state, session, user, bot, settings)


async def accept_terms(query: CallbackQuery, callback_data: EvTermsCB, state: FSMContext, session: AsyncSession, user: User,
                       bot: Bot, settings: Settings) -> None:
    data = await state.get_data()
    if data.get("event_id") != callback_data.event_id:
        await query.answer(_("This button belongs to another registration."), show_alert=True)
        return
    await privacy.give_consent(session, user_id=user.id, channel="bot")
    message = await _answered(query)
    await state.update_data(terms=True)
    await _ask(message, state, session, user, bot, settings)


async def _ask(message: Message, state: FSMContext, session: AsyncSession, user: User, bot: Bot, settings: Settings) -> None:
    """The next question of the form, or (none left) the registration itself."""
    data = await state.get_data()
    event, town = await _event(session, data["event_id"])
    questions = list(event.questions or [])
    q = data["q"]
    if q >= len(questions):
        await state.clear()
        reg = await events.register(session, event=event, user=user, answers=data["answers"], accepted_terms=bool(data["terms"]))
        await _after_registration(message, reg, event, town, bot, settings)
        return
    item = questions[q]
    head = _("Question {n} of {total}").format(n=q + 1, total=len(questions))
    hint = _("Choose an answer below.") if item.get("options") else _("Write your answer in a message.")
    await message.answer(f"{head}\n\n{item['text']}\n\n{hint}",
                         reply_markup=keyboards.question(event.id, q, item.get("options"), item.get("required", True)))


async def _answer(message: Message, state: FSMContext, session: AsyncSession, user: User, bot: Bot, settings: Settings, value: str) -> None:
    data = await state.get_data()
    event, _town = await _event(session, data["event_id"])
    item = list(event.questions or [])[data["q"]]
    answers = dict(data["answers"])
    if value:
        answers[item["id"]] = value
    await state.update_data(answers=answers, q=data["q"] + 1)
    await _ask(message, state, session, user, bot, settings)


async def answer_text(message: Message, state: FSMContext, session: AsyncSession, user: User, bot: Bot, settings: Settings) -> None:
    data = await state.get_data()
    event, _town = await _event(session, data["event_id"])
    item = list(event.questions or [])[data["q"]]
    if item.get("options"):
        await message.answer(_("Please choose one of the answers with the buttons."))
        return
    text = (message.text or "").strip()
    if not text:
        await message.answer(_("Write your answer in a message."))
        return
    if len(text) > ANSWER_MAX:
        await message.answer(_("The answer is too long: at most {max} characters.").format(max=ANSWER_MAX))
        return
    await _answer(message, state, session, user, bot, settings, text)


async def answer_option(query: CallbackQuery, callback_data: EvOptionCB, state: FSMContext, session: AsyncSession, user: User,
                        bot: Bot, settings: Settings) -> None:
    data = await state.get_data()
    if data.get("event_id") != callback_data.event_id or data.get("q") != callback_data.q:
        await query.answer(_("This button belongs to another question."), show_alert=True)
        return
    event, _town = await _event(session, callback_data.event_id)
    options = list(event.questions or [])[callback_data.q].get("options") or []
    if not 0 <= callback_data.opt < len(options):
        await query.answer(_("This button belongs to another question."), show_alert=True)
        return
    message = await _answered(query)
    await _answer(message, state, session, user, bot, settings, options[callback_data.opt])


async def skip_question(query: CallbackQuery, callback_data: EvSkipCB, state: FSMContext, session: AsyncSession, user: User,
                        bot: Bot, settings: Settings) -> None:
    data = await state.get_data()
    if data.get("event_id") != callback_data.event_id or data.get("q") != callback_data.q:
        await query.answer(_("This button belongs to another question."), show_alert=True)
        return
    message = await _answered(query)
    await _answer(message, state, session, user, bot, settings, "")


async def quit_dialog(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    message = await _answered(query)
    await message.answer(_("Stopped. Nothing was saved."))


async def quit_command(message: Message, state: FSMContext) -> None:
    """/cancel in one of the events' dialogs."""
    await state.clear()
    await message.answer(_("Stopped. Nothing was saved."))


async def _after_registration(message: Message, reg: EventRegistration, event: Event, town: Municipality, bot: Bot, settings: Settings) -> None:
    if reg.status == Status.WAITLISTED.value:
        await message.answer(
            _("All places at «{title}» are taken. You are on the waitlist: when a place frees up, the first in line gets a message "
              "to confirm it.").format(title=event.title),
            reply_markup=keyboards.waitlisted(reg.id),
        )
        return
    if reg.status == Status.OFFERED.value:
        await message.answer(_("A place at «{title}» is held for you: confirm it.").format(title=event.title),
                             reply_markup=keyboards.confirm_place(reg.id))
        return
    await message.answer(_("You are registered for «{title}». Here is your ticket.").format(title=event.title))
    await send_ticket(message, reg, event, town, bot, settings)


async def send_ticket(message: Message, reg: EventRegistration, event: Event, town: Municipality, bot: Bot, settings: Settings) -> None:
    """The ticket: the QR code with the code under it, the Cancel (and Team) buttons, and the calendar file."""
    caption = "\n".join(p for p in (
        f"🎫 {event.title}", f"🗓 {_when(event, town)}", f"📍 {_venue(event)}" if _venue(event) else "",
        _("Your code: {code}").format(code=reg.code), _("Show the QR code (or tell the code) at the entrance."),
    ) if p)
    await message.answer_photo(BufferedInputFile(tickets.qr_png(reg.code), filename=f"ticket-{reg.code}.png"), caption=caption,
                               reply_markup=keyboards.ticket(reg.id, teams=event.team_max is not None))
    username = await _bot_username(bot, settings)
    url = f"https://t.me/{username}?start={DEEP_LINK}{event.id}" if username else None
    data = ics.calendar(
        uid=f"event-{event.id}-ticket-{reg.code}@glocal", title=event.title, starts_at=event.starts_at, ends_at=event.ends_at,
        now=utcnow(), description="\n".join(p for p in (event.description, _("Your code: {code}").format(code=reg.code), url or "") if p),
        location=_venue(event), lat=event.lat, lon=event.lon, url=url,
    )
    await message.answer_document(BufferedInputFile(data, filename=f"event-{event.id}.ics"), caption=_("Add it to your calendar."))


async def ticket(query: CallbackQuery, callback_data: EvTicketCB, session: AsyncSession, user: User, bot: Bot, settings: Settings) -> None:
    """The ticket again (or the registration's state when it is no ticket yet)."""
    reg, event, town = await _mine(session, callback_data.registration_id, user)
    await query.answer()
    assert isinstance(query.message, Message)
    if reg.status == Status.CANCELLED.value:
        await query.message.answer(_("This registration is cancelled."))
        return
    if reg.status == Status.CHECKED_IN.value:
        await query.message.answer(_("You have been checked in at «{title}». Your code: {code}.").format(title=event.title, code=reg.code))
        return
    await _after_registration(query.message, reg, event, town, bot, settings)


async def mytickets(message: Message, session: AsyncSession, user: User) -> None:
    await _my_tickets(message, session, user)


async def _my_tickets(message: Message, session: AsyncSession, user: User) -> None:
    town = await users.current_town(session, user=user)
    if town is None:
        await message.answer(_("Please choose your town first: /start"))
        return
    mine = await queries.my_registrations(session, user_id=user.id, municipality_id=town.id, now=utcnow())
    if not mine:
        await message.answer(_("You have no tickets for coming events. See them: /events"))
        return
    lines = [_("Your registrations:")] + [
        f"• {e.title} — {_when(e, town)}: {_(rules.STATUS_TITLES[Status(r.status)])}" for r, e in mine
    ]
    await message.answer("\n".join(lines), reply_markup=keyboards.my_tickets([(r.id, e.title) for r, e in mine]))


# --- the waitlist's offer, cancelling --------------------------------------------------------------


async def confirm(query: CallbackQuery, callback_data: EvConfirmCB, session: AsyncSession, user: User, bot: Bot, settings: Settings) -> None:
    """Confirm the place offered from the waitlist: the ticket follows."""
    reg, event, town = await _mine(session, callback_data.registration_id, user)
    await events.confirm_offer(session, registration=reg)
    message = await _answered(query)
    await message.answer(_("Your place at «{title}» is confirmed. Here is your ticket.").format(title=event.title))
    await send_ticket(message, reg, event, town, bot, settings)


async def cancel(query: CallbackQuery, callback_data: EvCancelCB, session: AsyncSession, user: User) -> None:
    """Cancel a registration (asked once more, unless the button already meant it)."""
    reg, event, town = await _mine(session, callback_data.registration_id, user)
    if reg.status == Status.CANCELLED.value:
        await query.answer(_("This registration is cancelled."), show_alert=True)
        return
    if not callback_data.sure:
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.answer(_("Cancel your registration for «{title}»? Your place goes to the next person.").format(title=event.title),
                                   reply_markup=keyboards.really_cancel(reg.id))
        return
    was = reg.status
    await events.cancel(session, registration=reg, town=town)
    message = await _answered(query)
    if was == Status.WAITLISTED.value:
        await message.answer(_("You have left the waitlist of «{title}».").format(title=event.title))
    else:
        await message.answer(_("Your registration for «{title}» is cancelled.").format(title=event.title))


# --- teams ----------------------------------------------------------------------------------------


async def _team_text(session: AsyncSession, team: EventTeam, event: Event) -> str:
    members = await queries.team_members(session, team_id=team.id)
    lines = [
        _("Team «{name}», join code: {code}").format(name=team.name, code=team.code),
        _("Members: {n} of at most {max}").format(n=len(members), max=event.team_max),
    ]
    for r, u in members:
        lines.append(("👑 " if r.id == team.captain_id else "• ") + queries.person_name(u))
    if event.team_min and len(members) < event.team_min:
        lines.append(_("The team needs at least {min} people to take part.").format(min=event.team_min))
    return "\n".join(lines)


async def team(query: CallbackQuery, callback_data: EvTeamCB, state: FSMContext, session: AsyncSession, user: User) -> None:
    """The person's team at the event: show it, create one, join one by code, leave."""
    reg, event, _town = await _mine(session, callback_data.registration_id, user)
    if event.team_max is None:
        await query.answer(_("This event has no teams."), show_alert=True)
        return
    if reg.status not in events.HOLDER_VALUES:
        raise Forbidden(N_("Only registered participants can be in a team."))
    action = callback_data.action
    await query.answer()
    assert isinstance(query.message, Message)
    if action == "show":
        current = await session.get(EventTeam, reg.team_id) if reg.team_id else None
        if current is None:
            await query.message.answer(_("You are not in a team yet. Create one, or join a team by its code."),
                                       reply_markup=keyboards.team_none(reg.id))
        else:
            await query.message.answer(await _team_text(session, current, event), reply_markup=keyboards.team_member(reg.id))
    elif action == "create":
        await state.set_state(TeamForm.name)
        await state.set_data({"registration_id": reg.id})
        await query.message.answer(_("Send the name of your team."), reply_markup=keyboards.quit_only())
    elif action == "join":
        await state.set_state(TeamForm.code)
        await state.set_data({"registration_id": reg.id})
        await query.message.answer(_("Send the team's join code (the captain has it)."), reply_markup=keyboards.quit_only())
    else:
        await events.leave_team(session, registration=reg)
        await query.message.answer(_("You have left the team."))


async def team_name(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    reg, event, _town = await _mine(session, (await state.get_data())["registration_id"], user)
    name = " ".join((message.text or "").split())
    if not name or len(name) > TEAM_NAME_MAX:
        await message.answer(_("A team name is 1 to {max} characters. Send another one.").format(max=TEAM_NAME_MAX))
        return
    created = await events.create_team(session, registration=reg, name=name)
    await state.clear()
    await message.answer(
        _("Team «{name}» is created, you are its captain. Others join it with the code {code}.").format(name=created.name, code=created.code)
        + "\n\n" + await _team_text(session, created, event),
        reply_markup=keyboards.team_member(reg.id),
    )


async def team_code(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    reg, event, _town = await _mine(session, (await state.get_data())["registration_id"], user)
    joined = await events.join_team(session, registration=reg, code=(message.text or "")[:40])
    await state.clear()
    await message.answer(_("You have joined the team «{name}».").format(name=joined.name) + "\n\n" + await _team_text(session, joined, event),
                         reply_markup=keyboards.team_member(reg.id))


async def not_text(message: Message) -> None:
    await message.answer(_("Please send text, or press “Cancel”."))


def create_router() -> Router:
    """The events router, built fresh for each Dispatcher."""
    r = Router(name="events")
    r.message.filter(F.chat.type == "private")
    r.callback_query.filter(F.message.chat.type == "private")
    r.message.register(deep_link, CommandStart(deep_link=True, magic=F.args.startswith(DEEP_LINK)))
    r.message.register(list_events, Command("events"))
    r.message.register(mytickets, Command("mytickets"))
    r.message.register(quit_command, Command("cancel"), StateFilter(EventForm, TeamForm))
    r.message.register(answer_text, EventForm.question, F.text, ~F.text.startswith("/"))
    r.message.register(team_name, TeamForm.name, F.text, ~F.text.startswith("/"))
    r.message.register(team_code, TeamForm.code, F.text, ~F.text.startswith("/"))
    r.message.register(not_text, EventForm.question, ~F.text)
    r.message.register(not_text, TeamForm.name, ~F.text)
    r.message.register(not_text, TeamForm.code, ~F.text)
    r.callback_query.register(menu, EvMenuCB.filter())
    r.callback_query.register(open_event, EvOpenCB.filter())
    r.callback_query.register(show_map, EvMapCB.filter())
    r.callback_query.register(start_registration, EvStartCB.filter())
    r.callback_query.register(accept_terms, EvTermsCB.filter(), EventForm.question)
    r.callback_query.register(answer_option, EvOptionCB.filter(), EventForm.question)
    r.callback_query.register(skip_question, EvSkipCB.filter(), EventForm.question)
    r.callback_query.register(quit_dialog, EvQuitCB.filter())
    r.callback_query.register(confirm, EvConfirmCB.filter())
    r.callback_query.register(cancel, EvCancelCB.filter())
    r.callback_query.register(ticket, EvTicketCB.filter())
    r.callback_query.register(team, EvTeamCB.filter())
    return r
