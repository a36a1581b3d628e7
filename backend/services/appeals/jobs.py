"""Deadline reminders for appeals: to the assignee and department heads 5 days and 1 day
before the answer is due, and when it is overdue."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.municipalities.models import Municipality
from backend.core.notifications import service as outbox
from backend.core.users.models import Membership, Role
from backend.db import unit_of_work, utcnow
from backend.runtime import Runtime
from backend.scheduler import Job
from backend.services.appeals import notices, rules
from backend.services.appeals.models import Appeal, AppealReminder
from backend.services.appeals.rules import Kind
from backend.services.appeals.settings import policy_for

NOTICE_OF = {
    rules.Reminder.DUE_IN_5_DAYS: notices.DueIn5Days,
    rules.Reminder.DUE_IN_1_DAY: notices.DueTomorrow,
    rules.Reminder.OVERDUE: notices.Overdue,
}


async def send_reminders(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Remind assignees and department heads 5 days and 1 day before the deadline and when
    overdue. Derived from the database, so a run after a restart catches up; the unique
    (appeal, kind) row makes each reminder go out once across replicas."""
    now = now or utcnow()
    horizon = now + timedelta(days=6)
    open_values = [s.value for s in rules.OPEN_STATUSES]
    rows = (
        await session.execute(
            select(Appeal, Municipality)
            .join(Municipality, Municipality.id == Appeal.municipality_id)
            .where(Appeal.status.in_(open_values), Appeal.due_at <= horizon, Appeal.merged_into_id.is_(None))
            .order_by(Appeal.id)
        )
    ).all()
    if not rows:
        return 0
    handled: dict[int, set[str]] = {}
    for appeal_id, kind in await session.execute(
        select(AppealReminder.appeal_id, AppealReminder.kind).where(AppealReminder.appeal_id.in_([a.id for a, _ in rows]))
    ):
        handled.setdefault(appeal_id, set()).add(kind)
    sent = 0
    for appeal, town in rows:
        policy = policy_for(town, kind=Kind(appeal.kind))
        decision = rules.due_reminders(appeal.due_at, now, handled.get(appeal.id, set()), policy)
        if decision.send is None and not decision.skip:
            continue
        try:
            async with session.begin_nested():
                for kind in decision.skip:
                    session.add(AppealReminder(appeal_id=appeal.id, kind=kind.value, sent_at=now, skipped=True))
                if decision.send is not None:
                    session.add(AppealReminder(appeal_id=appeal.id, kind=decision.send.value, sent_at=now))
        except IntegrityError:  # another replica recorded it first
            continue
        if decision.send is None:
            continue
        recipients = await _reminder_recipients(session, appeal)
        local_due = appeal.due_at.astimezone(policy.tz).strftime("%d.%m.%Y")
        for user_id in recipients:
            notice = NOTICE_OF[decision.send](
                appeal_id=appeal.id, number=appeal.reg_number, municipality_id=appeal.municipality_id, date=local_due
            )
            await outbox.enqueue(session, user_id=user_id, notice=notice, municipality_id=appeal.municipality_id)
        sent += 1
    return sent


async def _reminder_recipients(session: AsyncSession, appeal: Appeal) -> list[int]:
    people: set[int] = {appeal.assignee_id} if appeal.assignee_id else set()
    heads = select(Membership.user_id).where(
        Membership.municipality_id == appeal.municipality_id, Membership.role == Role.DEPARTMENT_HEAD.value
    )
    if appeal.department_id is not None:
        heads = heads.where(or_(Membership.department_id == appeal.department_id, Membership.department_id.is_(None)))
    people |= set(await session.scalars(heads))
    return sorted(people)


async def remind(runtime: Runtime) -> None:
    async with unit_of_work(runtime.sessionmaker) as session:
        await send_reminders(session)


JOBS = (Job(id="appeals.reminders", func=remind, every_seconds=600),)
