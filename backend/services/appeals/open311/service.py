"""Open311 GeoReport v2 over the appeals service: the public view of problem reports, filing
them with a town's API key, and the keys themselves.

Only problem reports are public. Formal 59-FZ appeals carry personal data and are answered to
the person alone, so nothing here ever selects them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.core.audit import service as audit
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Department, Municipality
from backend.core.municipalities.settings import is_enabled
from backend.db import utcnow
from backend.errors import Forbidden, Invalid, NotFound
from backend.i18n import N_
from backend.services.appeals import rules, service
from backend.services.appeals.models import Appeal, AppealCategory, Open311Key
from backend.services.appeals.rules import Kind
from backend.services.appeals.schemas import AppealDraft

MAX_REQUESTS = 1000  # the spec's suggested cap on one GET requests answer
DEFAULT_WINDOW = timedelta(days=90)  # the spec's default window, and the widest a query may span
OPEN_VALUES = tuple(sorted(s.value for s in rules.OPEN_STATUSES))


# --- the town and its services ----------------------------------------------------------------


async def town_by_slug(session: AsyncSession, *, slug: str) -> Municipality:
    """An active town by slug; unknown and inactive towns do not exist here."""
    town = await towns.get_by_slug(session, slug=slug)
    if town is None or not is_enabled(town, "appeals"):
        raise NotFound(N_("Town not found."))
    return town


@dataclass(frozen=True)
class PublicService:
    category: AppealCategory
    department: str | None


async def services(session: AsyncSession, *, municipality_id: int) -> list[PublicService]:
    """The town's active categories, each with the name of the department it is routed to."""
    rows = await session.execute(
        select(AppealCategory, Department.name)
        .outerjoin(Department, Department.id == AppealCategory.department_id)
        .where(AppealCategory.municipality_id == municipality_id, AppealCategory.is_active.is_(True))
        .order_by(AppealCategory.sort, AppealCategory.name)
    )
    return [PublicService(category=c, department=d) for c, d in rows.all()]


async def service_by_code(session: AsyncSession, *, municipality_id: int, code: str) -> AppealCategory:
    """One active category of the town by its code."""
    cat = await session.scalar(
        select(AppealCategory).where(
            AppealCategory.municipality_id == municipality_id,
            AppealCategory.code == code,
            AppealCategory.is_active.is_(True),
        )
    )
    if cat is None:
        raise NotFound(N_("There is no service with the code “{code}”."), code=code)
    return cat


async def changeset(session: AsyncSession, *, town: Municipality) -> datetime:
    """When the town's service list last changed, as far as the records tell."""
    latest = await session.scalar(
        select(func.max(AppealCategory.created_at)).where(AppealCategory.municipality_id == town.id)
    )
    return max(d for d in (town.created_at, latest) if d is not None)


# --- the public view of reports ---------------------------------------------------------------


@dataclass(frozen=True)
class PublicRequest:
    """A report as Open311 may show it, with what its fields need from other tables."""

    appeal: Appeal
    service_code: str | None
    service_name: str | None
    department: str | None
    merged_into: str | None  # the reg number of the report it was merged into


@dataclass(frozen=True)
class RequestQuery:
    """GET requests filters; `ids` overrides all the others, as the spec says."""

    ids: Sequence[str] = ()
    service_codes: Sequence[str] = ()
    statuses: Sequence[str] = ()  # open, closed
    start: datetime | None = None
    end: datetime | None = None


def _public(municipality_id: int):  # noqa: ANN202
    merged = aliased(Appeal)
    return (
        select(Appeal, AppealCategory.code, AppealCategory.name, Department.name, merged.reg_number)
        .outerjoin(AppealCategory, AppealCategory.id == Appeal.category_id)
        .outerjoin(Department, Department.id == Appeal.department_id)
        .outerjoin(merged, merged.id == Appeal.merged_into_id)
        .where(Appeal.municipality_id == municipality_id, Appeal.kind == Kind.REPORT.value)
    )


def _rows(result) -> list[PublicRequest]:  # noqa: ANN001
    return [
        PublicRequest(appeal=a, service_code=code, service_name=name, department=dept, merged_into=into)
        for a, code, name, dept, into in result.all()
    ]


async def public_requests(
    session: AsyncSession, *, municipality_id: int, query: RequestQuery, now: datetime | None = None
) -> list[PublicRequest]:
    """The town's problem reports under GeoReport's filters, newest first, at most 1000."""
    stmt = _public(municipality_id)
    if query.ids:
        stmt = stmt.where(Appeal.reg_number.in_([i.strip().upper() for i in query.ids][:MAX_REQUESTS]))
    else:
        start, end = query.start, query.end
        if start is not None and end is not None:
            if start > end:
                raise Invalid(N_("start_date is later than end_date."))
            if end - start > DEFAULT_WINDOW:
                raise Invalid(N_("The dates may not span more than {days} days."), days=DEFAULT_WINDOW.days)
        elif start is None and end is None:
            start = (now or utcnow()) - DEFAULT_WINDOW
        if start is not None:
            stmt = stmt.where(Appeal.registered_at >= start)
        if end is not None:
            stmt = stmt.where(Appeal.registered_at <= end)
        if query.service_codes:
            stmt = stmt.where(AppealCategory.code.in_(list(query.service_codes)))
        wanted = set(query.statuses)
        if wanted == {"open"}:
            stmt = stmt.where(Appeal.status.in_(OPEN_VALUES))
        elif wanted == {"closed"}:
            stmt = stmt.where(Appeal.status.not_in(OPEN_VALUES))
    stmt = stmt.order_by(Appeal.registered_at.desc(), Appeal.id.desc()).limit(MAX_REQUESTS)
    return _rows(await session.execute(stmt))


async def public_request(session: AsyncSession, *, municipality_id: int, reg_number: str) -> PublicRequest:
    """One problem report of the town by its registration number."""
    rows = _rows(await session.execute(_public(municipality_id).where(Appeal.reg_number == reg_number.strip().upper())))
    if not rows:
        raise NotFound(N_("Report not found."))
    return rows[0]


async def by_token(session: AsyncSession, *, municipality_id: int, token: str) -> Appeal:
    """The report an Open311 client filed, by the token it was given."""
    appeal = await session.scalar(
        select(Appeal).where(
            Appeal.municipality_id == municipality_id, Appeal.kind == Kind.REPORT.value, Appeal.open311_token == token
        )
    )
    if appeal is None:
        raise NotFound(N_("Report not found."))
    return appeal


# --- filing -----------------------------------------------------------------------------------


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def authenticate(session: AsyncSession, *, municipality_id: int, api_key: str | None) -> Open311Key:
    """The town's live key with this secret; any other key, or none, is refused alike."""
    key = None
    if api_key:
        key = await session.scalar(select(Open311Key).where(Open311Key.key_hash == _hash(api_key.strip())))
    if key is None or key.municipality_id != municipality_id or key.revoked_at is not None:
        raise Forbidden(N_("The API key is not valid for this town."))
    return key


async def file_report(session: AsyncSession, *, town: Municipality, key: Open311Key, draft: AppealDraft) -> Appeal:
    """File a problem report from an Open311 client into the town's queue, with a token the
    client can later trade for the registration number."""
    if Kind(draft.kind) is not Kind.REPORT:
        raise Invalid(N_("Open311 files problem reports only."))
    appeal = await service.submit(session, town=town, draft=draft, author=None, source="open311")
    appeal.open311_token = secrets.token_urlsafe(24)
    await session.flush()
    # Which client filed it: the register entry has no actor, so the key stands in for one.
    await audit.record(
        session, action="appeal.open311", object_type="appeal", object_id=appeal.id,
        municipality_id=town.id, after={"key_id": key.id, "key_name": key.name},
    )
    return appeal


# --- API keys ---------------------------------------------------------------------------------


async def keys(session: AsyncSession, *, municipality_id: int) -> list[Open311Key]:
    """The town's keys, live and revoked, newest first."""
    return list(
        await session.scalars(
            select(Open311Key).where(Open311Key.municipality_id == municipality_id).order_by(Open311Key.id.desc())
        )
    )


async def issue_key(session: AsyncSession, *, municipality_id: int, name: str, actor_id: int) -> tuple[Open311Key, str]:
    """A new key for an Open311 client; the secret is returned this once and only its hash kept."""
    name = " ".join(name.split())
    if not name:
        raise Invalid(N_("Give the key a name: who will use it."))
    secret = secrets.token_urlsafe(32)
    key = Open311Key(municipality_id=municipality_id, name=name[:100], key_hash=_hash(secret), created_by=actor_id)
    session.add(key)
    await session.flush()
    await audit.record(
        session, action="open311_key.issue", object_type="open311_key", object_id=key.id, actor_id=actor_id,
        municipality_id=municipality_id, after={"name": key.name},
    )
    return key, secret


async def revoke_key(session: AsyncSession, *, municipality_id: int, key_id: int, actor_id: int) -> Open311Key:
    """Revoke a key of the town (revoking twice changes nothing)."""
    key = await session.get(Open311Key, key_id)
    if key is None or key.municipality_id != municipality_id:
        raise NotFound(N_("API key not found."))
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await audit.record(
            session, action="open311_key.revoke", object_type="open311_key", object_id=key.id, actor_id=actor_id,
            municipality_id=municipality_id, after={"name": key.name},
        )
    return key
