"""Scheduled work of events: offers not confirmed in time go to the next of the waitlist, and
participants are reminded a day and an hour before the start (each reminder once)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.municipalities.models import Municipality
from backend.core.notifications import service as outbox
from backend.db import unit_of_work, utcnow
from backend.runtime import Runtime
from backend.scheduler import Job
from backend.services.events import notices, rules, service
from backend.services.events import settings as event_settings
from backend.services.events.models import Event, EventRegistration
from backend.services.events.rules import Reminder, Status


async def send_reminders(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Remind the registered a day and an hour before the event. Derived from the database,
    so a run after a restart catches up; each reminder is claimed by a conditional UPDATE of
    its column (set only where still empty), so it goes out once across replicas and runs."""
    now = now or utcnow()
    rows = (await session.execute(
        select(EventRegistration, Event, Municipality)
        .join(Event, Event.id == EventRegistration.event_id)
        .join(Municipality, Municipality.id == Event.municipality_id)
        .where(Event.starts_at > now, Event.starts_at <= now + timedelta(days=1), Event.published.is_(True),
               EventRegistration.status == Status.REGISTERED.value, EventRegistration.user_id.is_not(None))
        .order_by(EventRegistration.id)
    )).all()
    sent = 0
    for reg, event, town in rows:
        if not event_settings.of(town).reminders:
            continue
        due = rules.due_reminder(event.starts_at, now, day_sent=reg.reminded_day_at is not None, hour_sent=reg.reminded_hour_at is not None)
        if due is None:
            continue
        column = EventRegistration.reminded_hour_at if due is Reminder.HOUR else EventRegistration.reminded_day_at
        values = {"reminded_hour_at": now, "reminded_day_at": reg.reminded_day_at or now} if due is Reminder.HOUR else {"reminded_day_at": now}
        claimed = await session.execute(
            update(EventRegistration).where(EventRegistration.id == reg.id, column.is_(None)).values(**values)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        kind = notices.ReminderHour if due is Reminder.HOUR else notices.ReminderDay
        venue = ", ".join(p for p in (event.venue_name, event.venue_address) if p)
        assert reg.user_id is not None
        await outbox.enqueue(session, user_id=reg.user_id, municipality_id=town.id, notice=kind(
            registration_id=reg.id, event_id=event.id, title=event.title, when=service.local_when(event.starts_at, town),
            venue=venue, code=reg.code,
        ))
        sent += 1
    return sent


async def expire(runtime: Runtime) -> None:
    async with unit_of_work(runtime.sessionmaker) as session:
        await service.expire_offers(session)


async def remind(runtime: Runtime) -> None:
    async with unit_of_work(runtime.sessionmaker) as session:
        await send_reminders(session)


JOBS = (Job(id="events.expire_offers", func=expire, every_seconds=60), Job(id="events.reminders", func=remind, every_seconds=300))
