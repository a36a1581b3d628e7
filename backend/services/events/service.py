"""What changes events: creating them, registering (a place or the waitlist), cancelling,
offering freed places first come first served, confirming, teams and check-ins.

Places are counted by `Event.taken` and team sizes by `EventTeam.members`, each changed only
by a conditional UPDATE (`taken < limit`): on PostgreSQL the row lock of the UPDATE re-checks
the condition against the committed row, on SQLite writers are serialised, so two people can
never take the last place together on either engine. Functions flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.calendar import service as calendars
from backend.core.municipalities.models import Municipality
from backend.core.notifications import service as outbox
from backend.core.users.models import User
from backend.db import utcnow
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.i18n import N_
from backend.services.events import notices, rules
from backend.services.events import settings as event_settings
from backend.services.events.models import Event, EventCheckIn, EventRegistration, EventSession, EventTeam
from backend.services.events.rules import Status
from backend.services.events.schemas import EventIn, SessionIn

HOLDER_VALUES = [s.value for s in rules.HOLDERS]
ACTIVE_VALUES = [s.value for s in rules.ACTIVE]


def local_when(moment: datetime, town: Municipality) -> str:
    """A moment as the town reads it: 05.06.2027 10:00."""
    return moment.astimezone(calendars.for_town(town).tz).strftime("%d.%m.%Y %H:%M")


# --- events ---------------------------------------------------------------------------------------


async def create_event(session: AsyncSession, *, town: Municipality, data: EventIn, actor_id: int | None) -> Event:
    """A new event of the town with its schedule."""
    event = Event(
        municipality_id=town.id, kind=data.kind.value, title=data.title, description=data.description,
        venue_name=data.venue_name, venue_address=data.venue_address, lat=data.lat, lon=data.lon,
        starts_at=data.starts_at, ends_at=data.ends_at, capacity=data.capacity, reserved=data.reserved, taken=0,
        registration_opens_at=data.registration_opens_at, registration_closes_at=data.registration_closes_at,
        terms=data.terms, questions=[q.model_dump() for q in data.questions],
        team_min=data.team_min, team_max=data.team_max, created_by=actor_id,
    )
    session.add(event)
    await session.flush()
    for item in data.sessions:
        await add_session(session, event=event, data=item)
    return event


async def add_session(session: AsyncSession, *, event: Event, data: SessionIn) -> EventSession:
    """Add an item to the event's schedule."""
    row = EventSession(event_id=event.id, title=data.title, starts_at=data.starts_at, ends_at=data.ends_at, place=data.place)
    session.add(row)
    await session.flush()
    return row


async def _take_place(session: AsyncSession, event: Event) -> bool:
    """Take one of the event's places if one is left (the conditional UPDATE)."""
    limit = Event.capacity - Event.reserved
    result = await session.execute(
        update(Event)
        .where(Event.id == event.id, or_(Event.capacity.is_(None), Event.taken < limit))
        .values(taken=Event.taken + 1)
        .execution_options(synchronize_session=False)
    )
    took = result.rowcount == 1
    await session.refresh(event, ["taken"])
    return took


async def _free_place(session: AsyncSession, event: Event) -> None:
    await session.execute(
        update(Event).where(Event.id == event.id, Event.taken > 0).values(taken=Event.taken - 1)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(event, ["taken"])


# --- registration ---------------------------------------------------------------------------------


def registration_state(event: Event, now: datetime) -> str | None:
    """Why registration is not possible now (a msgid), or None when it is."""
    if not event.published:
        return N_("This event is not open for registration.")
    if now >= event.ends_at:
        return N_("This event is over.")
    if event.registration_opens_at and now < event.registration_opens_at:
        return N_("Registration has not opened yet.")
    if event.registration_closes_at and now >= event.registration_closes_at:
        return N_("Registration is closed.")
    return None


def check_answers(event: Event, answers: dict[str, Any]) -> dict[str, str]:
    """The answers to the event's questions, checked: required ones given, options kept."""
    out: dict[str, str] = {}
    for q in event.questions or []:
        # No NUL: PostgreSQL cannot keep it, and chat text is not checked by a schema on the way in.
        value = str(answers.get(q["id"], "") or "").replace("\x00", "").strip()
        if not value:
            if q.get("required", True):
                raise Invalid(N_("Please answer: {question}"), question=q["text"])
            continue
        if q.get("options") and value not in q["options"]:
            raise Invalid(N_("Please choose one of the options: {question}"), question=q["text"])
        out[q["id"]] = value[:1000]
    return out


async def _unique_code(session: AsyncSession, model: type, event_id: int, length: int) -> str:
    for _ in range(20):
        code = rules.new_code(length)
        if await session.scalar(select(model.id).where(model.event_id == event_id, model.code == code)) is None:
            return code
    raise Conflict(N_("Could not issue a ticket code, please try again."))


async def registration_of(session: AsyncSession, *, event_id: int, user_id: int) -> EventRegistration | None:
    """The person's registration for the event, whatever its status."""
    return await session.scalar(
        select(EventRegistration).where(EventRegistration.event_id == event_id, EventRegistration.user_id == user_id)
    )


async def register(
    session: AsyncSession, *, event: Event, user: User, answers: dict[str, Any], accepted_terms: bool, now: datetime | None = None
) -> EventRegistration:
    """Register the person: a place if one is left, else the waitlist. Registering again
    returns the registration they have."""
    now = now or utcnow()
    existing = await registration_of(session, event_id=event.id, user_id=user.id)
    if existing is not None and existing.status in ACTIVE_VALUES:
        return existing
    reason = registration_state(event, now)
    if reason:
        raise Conflict(reason)
    if event.terms and not accepted_terms:
        raise Invalid(N_("Please accept the terms of the event first."))
    checked = check_answers(event, answers)
    code = existing.code if existing is not None else await _unique_code(session, EventRegistration, event.id, rules.CODE_LENGTH)
    took = await _take_place(session, event)
    try:
        async with session.begin_nested():
            reg = existing or EventRegistration(event_id=event.id, user_id=user.id, code=code)
            reg.status = (Status.REGISTERED if took else Status.WAITLISTED).value
            reg.waitlisted_at = None if took else now
            reg.answers = checked
            reg.terms_accepted_at = now if event.terms else None
            reg.cancelled_at = reg.cancel_reason = None
            reg.offered_at = reg.offer_expires_at = reg.confirmed_at = None
            reg.reminded_day_at = reg.reminded_hour_at = None
            session.add(reg)
            await session.flush()
    except IntegrityError:  # the same person registering twice at once: theirs is the first
        if took:
            await _free_place(session, event)
        raise Conflict(N_("You are already registered for this event.")) from None
    return reg


async def cancel(session: AsyncSession, *, registration: EventRegistration, town: Municipality, now: datetime | None = None,
                 reason: str = "by_person") -> EventRegistration:
    """Cancel a registration; a place it held goes to the first of the waitlist."""
    now = now or utcnow()
    status = Status(registration.status)
    if status == Status.CANCELLED:
        return registration
    if status == Status.CHECKED_IN:
        raise Conflict(N_("You have already been checked in: the registration cannot be cancelled."))
    registration.status, registration.cancelled_at, registration.cancel_reason = Status.CANCELLED.value, now, reason
    registration.offer_expires_at = None
    await _leave_team(session, registration)
    await session.flush()
    if status in rules.HOLDERS:
        event = await session.get(Event, registration.event_id)
        assert event is not None
        await _free_place(session, event)
        await promote(session, event=event, town=town, now=now)
    return registration


async def promote(session: AsyncSession, *, event: Event, town: Municipality, now: datetime | None = None) -> list[EventRegistration]:
    """Offer the places that are free to the first of the waitlist, in the order they came,
    each with a deadline to confirm."""
    now = now or utcnow()
    hours = event_settings.of(town).offer_confirm_hours
    offered: list[EventRegistration] = []
    while True:
        first = await session.scalar(
            select(EventRegistration)
            .where(EventRegistration.event_id == event.id, EventRegistration.status == Status.WAITLISTED.value)
            .order_by(EventRegistration.waitlisted_at, EventRegistration.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if first is None or not await _take_place(session, event):
            break
        # The offer never runs past the event's start: a place offered late is confirmed in time.
        deadline = min(now + timedelta(hours=hours), max(now, event.starts_at))
        first.status, first.offered_at, first.offer_expires_at = Status.OFFERED.value, now, deadline
        await session.flush()
        if first.user_id is not None:
            await outbox.enqueue(session, user_id=first.user_id, municipality_id=town.id, notice=notices.PlaceOffered(
                registration_id=first.id, event_id=event.id, title=event.title,
                when=local_when(event.starts_at, town), deadline=local_when(deadline, town),
            ))
        offered.append(first)
    return offered


async def confirm_offer(session: AsyncSession, *, registration: EventRegistration, now: datetime | None = None) -> EventRegistration:
    """Take the place offered from the waitlist, before its deadline."""
    now = now or utcnow()
    if registration.status in (Status.REGISTERED.value, Status.CHECKED_IN.value):
        return registration
    if registration.status != Status.OFFERED.value:
        raise Conflict(N_("This offer is no longer valid."))
    if registration.offer_expires_at is not None and now > registration.offer_expires_at:
        raise Conflict(N_("The time to confirm this place has run out."))
    registration.status, registration.confirmed_at, registration.offer_expires_at = Status.REGISTERED.value, now, None
    await session.flush()
    return registration


async def expire_offers(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Take back the offers not confirmed in time and offer those places to the next people."""
    now = now or utcnow()
    rows = list(await session.scalars(
        select(EventRegistration)
        .where(EventRegistration.status == Status.OFFERED.value, EventRegistration.offer_expires_at < now)
        .order_by(EventRegistration.offer_expires_at, EventRegistration.id)
        .with_for_update(skip_locked=True)
    ))
    for reg in rows:
        event = await session.get(Event, reg.event_id)
        assert event is not None
        town = await session.get(Municipality, event.municipality_id)
        assert town is not None
        reg.status, reg.cancelled_at, reg.cancel_reason, reg.offer_expires_at = Status.CANCELLED.value, now, "offer_expired", None
        await session.flush()
        if reg.user_id is not None:
            await outbox.enqueue(session, user_id=reg.user_id, municipality_id=town.id, notice=notices.OfferExpired(
                registration_id=reg.id, event_id=event.id, title=event.title,
            ))
        await _free_place(session, event)
        await promote(session, event=event, town=town, now=now)
    return len(rows)


# --- teams ----------------------------------------------------------------------------------------


def _team_event(event: Event) -> None:
    if event.team_max is None:
        raise Conflict(N_("This event has no teams."))


def _holder(registration: EventRegistration) -> None:
    if registration.status not in HOLDER_VALUES:
        raise Forbidden(N_("Only registered participants can be in a team."))


async def _may_take_a_team(session: AsyncSession, registration: EventRegistration) -> Event:
    """The event, when this participant may found or join one of its teams."""
    event = await session.get(Event, registration.event_id)
    assert event is not None
    _team_event(event)
    _holder(registration)
    if registration.team_id is not None:
        raise Conflict(N_("You are already in a team. Leave it first."))
    return event


async def _join(session: AsyncSession, team: EventTeam, event: Event) -> bool:
    result = await session.execute(
        update(EventTeam).where(EventTeam.id == team.id, EventTeam.members < (event.team_max or 0))
        .values(members=EventTeam.members + 1).execution_options(synchronize_session=False)
    )
    await session.refresh(team, ["members"])
    return result.rowcount == 1


async def create_team(session: AsyncSession, *, registration: EventRegistration, name: str) -> EventTeam:
    """Found a team at the event; its founder is the captain."""
    event = await _may_take_a_team(session, registration)
    name = " ".join(name.replace("\x00", "").split())[:100]
    if not name:
        raise Invalid(N_("The team needs a name."))
    team = EventTeam(event_id=event.id, name=name, code=await _unique_code(session, EventTeam, event.id, rules.TEAM_CODE_LENGTH),
                     captain_id=registration.id, members=0)
    try:
        async with session.begin_nested():
            session.add(team)
            await session.flush()
    except IntegrityError:
        raise Conflict(N_("A team with this name already exists at the event.")) from None
    await _join(session, team, event)
    registration.team_id = team.id
    await session.flush()
    return team


async def join_team(session: AsyncSession, *, registration: EventRegistration, code: str) -> EventTeam:
    """Join a team by its code, while it has room."""
    event = await _may_take_a_team(session, registration)
    team = await session.scalar(select(EventTeam).where(EventTeam.event_id == event.id, EventTeam.code == rules.normalize_code(code)))
    if team is None:
        raise NotFound(N_("No team of this event has that code."))
    if not await _join(session, team, event):
        raise Conflict(N_("The team «{name}» is full: at most {max} people."), name=team.name, max=event.team_max)
    registration.team_id = team.id
    await session.flush()
    return team


async def _leave_team(session: AsyncSession, registration: EventRegistration) -> None:
    if registration.team_id is None:
        return
    team = await session.get(EventTeam, registration.team_id)
    registration.team_id = None
    await session.flush()
    if team is None:
        return
    await session.execute(
        update(EventTeam).where(EventTeam.id == team.id, EventTeam.members > 0).values(members=EventTeam.members - 1)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(team, ["members", "captain_id"])
    if team.members == 0:
        await session.delete(team)
    elif team.captain_id == registration.id:
        # The captaincy passes to the member who joined first (the lowest registration id).
        team.captain_id = await session.scalar(
            select(EventRegistration.id).where(EventRegistration.team_id == team.id).order_by(EventRegistration.id).limit(1)
        )
    await session.flush()


async def leave_team(session: AsyncSession, *, registration: EventRegistration) -> None:
    """Leave the team; the last one out dissolves it."""
    if registration.team_id is None:
        raise Conflict(N_("You are not in a team."))
    await _leave_team(session, registration)


# --- check-in -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedIn:
    registration: EventRegistration
    already: bool
    first_at: datetime
    count: int


async def check_in(
    session: AsyncSession, *, event: Event, code: str, session_id: int | None, actor_id: int, at: datetime | None = None,
    now: datetime | None = None,
) -> CheckedIn:
    """Use a ticket at the door (for the event, or one session of it). Idempotent: a second
    scan, or a queued check-in sent again, answers when the ticket was first used."""
    now = now or utcnow()
    at = min(at or now, now)  # a check-in queued offline keeps its time, never one in the future
    normalized = rules.normalize_code(code)
    if not rules.looks_like_code(normalized):
        raise Invalid(N_("This is not a ticket code: {code}"), code=code[:40])
    if session_id is not None:
        item = await session.get(EventSession, session_id)
        if item is None or item.event_id != event.id:
            raise NotFound(N_("This session is not in the event's schedule."))
    reg = await session.scalar(select(EventRegistration).where(EventRegistration.event_id == event.id, EventRegistration.code == normalized))
    if reg is None:
        raise NotFound(N_("No ticket of this event has the code {code}."), code=normalized)
    if reg.status not in (Status.REGISTERED.value, Status.CHECKED_IN.value, Status.OFFERED.value):
        raise Conflict(N_("The ticket {code} is not valid: {status}."), code=normalized, status=rules.STATUS_TITLES[Status(reg.status)])
    scope = "event" if session_id is None else str(session_id)
    first = await session.scalar(select(EventCheckIn).where(EventCheckIn.registration_id == reg.id, EventCheckIn.scope == scope))
    already = first is not None
    if first is None:
        first = EventCheckIn(event_id=event.id, registration_id=reg.id, session_id=session_id, scope=scope, at=at, by_id=actor_id)
        try:
            async with session.begin_nested():
                session.add(first)
                await session.flush()
        except IntegrityError:  # two organizers scanned it at once
            first = await session.scalar(select(EventCheckIn).where(EventCheckIn.registration_id == reg.id, EventCheckIn.scope == scope))
            assert first is not None
            already = True
    if not already:
        if reg.status == Status.OFFERED.value:  # came to the door instead of pressing the button
            reg.confirmed_at, reg.offer_expires_at = at, None
        if reg.status != Status.CHECKED_IN.value:
            reg.status, reg.checked_in_at = Status.CHECKED_IN.value, at
        await session.flush()
    count = await checked_in_count(session, event_id=event.id, scope=scope)
    return CheckedIn(registration=reg, already=already, first_at=first.at, count=count)


async def checked_in_count(session: AsyncSession, *, event_id: int, scope: str) -> int:
    """How many tickets were used for the event (scope "event") or a session (its id)."""
    return int(await session.scalar(
        select(func.count()).select_from(EventCheckIn).where(EventCheckIn.event_id == event_id, EventCheckIn.scope == scope)
    ) or 0)


# --- personal data --------------------------------------------------------------------------------


async def erase_personal_data(session: AsyncSession, user_id: int) -> None:
    """152-FZ erasure: the person's places at coming events are freed (and offered on), their
    answers are deleted and their registrations no longer point at them; attendance figures stay."""
    now = utcnow()
    regs = list(await session.scalars(select(EventRegistration).where(EventRegistration.user_id == user_id).order_by(EventRegistration.id)))
    for reg in regs:
        event = await session.get(Event, reg.event_id)
        if event is not None and reg.status in (Status.REGISTERED.value, Status.OFFERED.value, Status.WAITLISTED.value) and event.ends_at > now:
            town = await session.get(Municipality, event.municipality_id)
            assert town is not None
            await cancel(session, registration=reg, town=town, now=now, reason="erased")
        else:
            await _leave_team(session, reg)
        reg.user_id = None
        reg.answers = {}
    await session.flush()
