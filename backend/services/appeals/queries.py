"""Reading appeals: the clerk's queue (filters, keyset pages, counts), the card, exports, the
resident's own appeals, and who may see what. Nothing here writes."""

from __future__ import annotations

import base64
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.core.audit import service as audit
from backend.core.audit.models import AuditLog
from backend.core.components.manifest import Figure, Point, Series, StatsReport, Viewer
from backend.core.documents import service as documents
from backend.core.documents.models import Document
from backend.core.files import service as files
from backend.core.files.models import StoredFile
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Municipality
from backend.core.search import service as search
from backend.core.users import service as users
from backend.core.users.models import Membership, Role, User
from backend.db import UTCDateTime, utcnow
from backend.errors import Invalid, NotFound
from backend.fields import INT32_MAX
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.services.appeals import permissions, rules
from backend.services.appeals.models import Appeal, AppealCategory, AppealComment, AppealLink, AppealStatusCount
from backend.services.appeals.rules import Kind, Status
from backend.services.appeals.schemas import (
    AppealCard,
    AppealListItem,
    AppealRef,
    CommentOut,
    DocumentOut,
    DuplicateOut,
    FileOut,
    HistoryOut,
    QueueFilters,
    QueueOrder,
    ResidentAppealOut,
)
from backend.services.appeals.settings import of as settings_of
from backend.services.appeals.settings import policy_for


def excerpt(text: str, n: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


async def categories(session: AsyncSession, *, municipality_id: int, active_only: bool = True) -> list[AppealCategory]:
    """The town's categories, in display order."""
    stmt = select(AppealCategory).where(AppealCategory.municipality_id == municipality_id)
    if active_only:
        stmt = stmt.where(AppealCategory.is_active.is_(True))
    return list(await session.scalars(stmt.order_by(AppealCategory.sort, AppealCategory.name)))


async def category(session: AsyncSession, *, municipality_id: int, category_id: int, include_archived: bool = False) -> AppealCategory:
    """One active category of the town (or an archived one, when asked)."""
    cat = await session.get(AppealCategory, category_id)
    if cat is None or cat.municipality_id != municipality_id or not (cat.is_active or include_archived):
        raise NotFound(N_("Category not found."))
    return cat


Departments = frozenset[int | None] | None  # None: every department


async def department_scope(session: AsyncSession, *, town: Municipality, user_id: int, roles: frozenset[Role]) -> Departments:
    """Whose appeals this person sees: every department's, or (in a town that limits clerks to
    their own) their departments' and those not routed to any department yet."""
    if not settings_of(town).clerks_see_own_department_only or roles & permissions.roles(town, permissions.SEE_ALL_DEPARTMENTS):
        return None
    mine = await session.scalars(
        select(Membership.department_id).where(Membership.user_id == user_id, Membership.municipality_id == town.id)
    )
    return frozenset({None, *mine})


async def get(session: AsyncSession, *, municipality_id: int, appeal_id: int, departments: Departments = None) -> Appeal:
    """An appeal of this town (within the person's departments); others do not exist here."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or appeal.municipality_id != municipality_id or (departments is not None and appeal.department_id not in departments):
        raise NotFound(N_("Appeal not found."))
    return appeal


async def get_own(session: AsyncSession, *, user_id: int, appeal_id: int) -> Appeal:
    """An appeal the person filed."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or appeal.author_id != user_id:
        raise NotFound(N_("Appeal not found."))
    return appeal


async def of_author(session: AsyncSession, *, user_id: int, limit: int = 20) -> list[Appeal]:
    """The person's own appeals, newest first ("My appeals")."""
    return list(await session.scalars(select(Appeal).where(Appeal.author_id == user_id).order_by(Appeal.id.desc()).limit(limit)))


def in_scope(departments: Departments, department_id: int | None) -> bool:
    """Whether an appeal routed to `department_id` is within the person's departments."""
    return departments is None or department_id in departments


# Each order: the column it sorts by and whether newest first. The keyset is (column, id) in
# that direction, and every index the queue reads ends in one of (due_at, id), (registered_at, id).
_ORDERS = {
    QueueOrder.DUE: (Appeal.due_at, False),
    QueueOrder.NEWEST: (Appeal.registered_at, True),
    QueueOrder.OLDEST: (Appeal.registered_at, False),
}
BROKEN_CURSOR = N_("The page link is broken; reload the list.")


def encode_cursor(appeal: Appeal, order: QueueOrder = QueueOrder.DUE, rank: float | None = None) -> str:
    """The keyset position after `appeal` in `order` (by `rank` for best match first); the
    order is part of it."""
    if order is QueueOrder.RANK:
        key = repr(float(rank or 0.0))  # repr round-trips a float exactly
    else:
        column, _newest = _ORDERS[order]
        key = getattr(appeal, column.key).isoformat()
    return base64.urlsafe_b64encode(f"{order.value}|{key}|{appeal.id}".encode()).decode().rstrip("=")


def decode_rank_cursor(cursor: str) -> tuple[float, int]:
    """The (rank, id) a best-match cursor points after; anything else is Invalid."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, at, ident = raw.split("|")
        rank, number = float(at), int(ident)
    except (ValueError, UnicodeDecodeError):
        raise Invalid(BROKEN_CURSOR) from None
    if not 1 <= number <= INT32_MAX or not math.isfinite(rank) or kind not in {o.value for o in QueueOrder}:
        raise Invalid(BROKEN_CURSOR)
    if kind != QueueOrder.RANK.value:
        raise Invalid(N_("The page link belongs to another order of the list; reload the list."))
    return rank, number


def decode_cursor(cursor: str, order: QueueOrder = QueueOrder.DUE) -> tuple[datetime, int]:
    """The (moment, id) a cursor of `order` points after; a cursor that is not one, or one of
    another order, is Invalid."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, at, ident = raw.split("|")
        if kind == QueueOrder.RANK.value and kind != order.value:
            raise Invalid(N_("The page link belongs to another order of the list; reload the list."))
        moment, number = datetime.fromisoformat(at), int(ident)
        if moment.tzinfo is None:
            raise ValueError(at)
        # In UTC here: year 1 or 9999 with an offset leaves datetime's range in UTC, which
        # would be an OverflowError where the database driver converts it.
        moment = moment.astimezone(UTC)
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise Invalid(BROKEN_CURSOR) from None
    if not 1 <= number <= INT32_MAX or kind not in {o.value for o in QueueOrder}:
        raise Invalid(BROKEN_CURSOR)
    if kind != order.value:
        raise Invalid(N_("The page link belongs to another order of the list; reload the list."))
    return moment, number


SEARCH_OWNER = "appeal"  # as service.py indexes them


def _filtered(stmt, *, session: AsyncSession, municipality_id: int, filters: QueueFilters, user_id: int, now: datetime, departments: Departments):  # noqa: ANN001, ANN202
    stmt = stmt.where(Appeal.municipality_id == municipality_id)
    if departments is not None:
        ids = [d for d in departments if d is not None]
        stmt = stmt.where(Appeal.department_id.in_(ids) | Appeal.department_id.is_(None))
    if not filters.include_merged:
        stmt = stmt.where(Appeal.merged_into_id.is_(None))
    if filters.kind:
        stmt = stmt.where(Appeal.kind.in_([k.value for k in filters.kind]))
    if filters.category_id is not None:
        stmt = stmt.where(Appeal.category_id == filters.category_id)
    if filters.department_id is not None:
        stmt = stmt.where(Appeal.department_id == filters.department_id)
    if filters.assignee == "me":
        stmt = stmt.where(Appeal.assignee_id == user_id)
    elif filters.assignee == "none":
        stmt = stmt.where(Appeal.assignee_id.is_(None))
    elif isinstance(filters.assignee, int):
        stmt = stmt.where(Appeal.assignee_id == filters.assignee)
    open_values = [s.value for s in rules.OPEN_STATUSES]
    if filters.overdue:
        stmt = stmt.where(Appeal.status.in_(open_values), Appeal.due_at < now)
    if filters.due_within_days is not None:
        stmt = stmt.where(Appeal.status.in_(open_values), Appeal.due_at <= now + timedelta(days=filters.due_within_days))
    if filters.q and filters.q.strip():
        # Every word in some form (core search: stems on both engines), within this town.
        # A join on a fenced subquery (OFFSET 0), not IN: with IN, PostgreSQL walked the whole
        # town's due-date index probing each appeal (5 s for a word in no appeal at 550,000);
        # fenced, it estimates the matches from the GIN index and starts from them.
        found = search.matching(session, owner_type=SEARCH_OWNER, municipality_id=municipality_id, query=filters.q)
        matches = found.ids.offset(0).subquery("search_matches")
        stmt = stmt.join(matches, matches.c.owner_id == Appeal.id)
    return stmt


async def queue(
    session: AsyncSession,
    *,
    municipality_id: int,
    filters: QueueFilters,
    user_id: int,
    now: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
    departments: Departments = None,
    order: QueueOrder = QueueOrder.DUE,
) -> tuple[list[Appeal], str | None]:
    """One page of the clerk's queue in `order` (due date by default), keyset-paginated so a
    deep page costs what the first does."""
    now = now or utcnow()
    if order is QueueOrder.RANK and filters.q and filters.q.strip():
        return await _ranked_queue(session, municipality_id=municipality_id, filters=filters, user_id=user_id, now=now,
                                   cursor=cursor, limit=limit, departments=departments)
    order = QueueOrder.DUE if order is QueueOrder.RANK else order
    column, newest = _ORDERS[order]
    stmt = _filtered(select(Appeal), session=session, municipality_id=municipality_id, filters=filters, user_id=user_id, now=now, departments=departments)
    if filters.status:
        stmt = stmt.where(Appeal.status.in_([s.value for s in filters.status]))
    if cursor:
        moment, ident = decode_cursor(cursor, order)
        # A row-value comparison: both engines walk the (…, column, id) index from the cursor.
        key, after = tuple_(column, Appeal.id), tuple_(literal(moment, UTCDateTime()), literal(ident))
        stmt = stmt.where(key < after if newest else key > after)
    stmt = stmt.order_by(*((column.desc(), Appeal.id.desc()) if newest else (column, Appeal.id))).limit(limit + 1)
    rows = list(await session.scalars(stmt))
    next_cursor = encode_cursor(rows[limit - 1], order) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def _ranked_queue(
    session: AsyncSession, *, municipality_id: int, filters: QueueFilters, user_id: int, now: datetime,
    cursor: str | None, limit: int, departments: Departments,
) -> tuple[list[Appeal], str | None]:
    """A page of a search's matches, best first: a keyset on (rank, id), the rank computed by
    the engine for the matches only (FTS5's bm25, PostgreSQL's ts_rank)."""
    found = search.matching(session, owner_type=SEARCH_OWNER, municipality_id=municipality_id, query=filters.q or "")
    ranked = found.ranked.subquery()
    stmt = _filtered(
        select(Appeal, ranked.c.rank).join(ranked, ranked.c.owner_id == Appeal.id), session=session,
        municipality_id=municipality_id, filters=filters.model_copy(update={"q": None}), user_id=user_id, now=now,
        departments=departments,
    )
    if filters.status:
        stmt = stmt.where(Appeal.status.in_([s.value for s in filters.status]))
    if cursor:
        rank, ident = decode_rank_cursor(cursor)
        stmt = stmt.where(tuple_(ranked.c.rank, Appeal.id) < tuple_(literal(rank, Float()), literal(ident)))
    rows = (await session.execute(stmt.order_by(ranked.c.rank.desc(), Appeal.id.desc()).limit(limit + 1))).all()
    next_cursor = encode_cursor(rows[limit - 1][0], QueueOrder.RANK, rows[limit - 1][1]) if len(rows) > limit else None
    return [a for a, _rank in rows[:limit]], next_cursor


async def status_counts(
    session: AsyncSession, *, municipality_id: int, filters: QueueFilters, user_id: int, now: datetime | None = None,
    departments: Departments = None,
) -> tuple[dict[str, int], int]:
    """How many appeals each status has under the other filters, and how many are overdue."""
    now = now or utcnow()
    if departments is None and filters == QueueFilters(status=filters.status):
        return await _unfiltered_counts(session, municipality_id=municipality_id, now=now)
    base = _filtered(
        select(Appeal.status, func.count()), session=session, municipality_id=municipality_id, filters=filters, user_id=user_id, now=now, departments=departments
    )
    counts = {s.value: 0 for s in Status}
    for status, n in (await session.execute(base.group_by(Appeal.status))).all():
        counts[status] = n
    overdue_q = _filtered(
        select(func.count()).select_from(Appeal), session=session, municipality_id=municipality_id,
        filters=filters.model_copy(update={"overdue": True}), user_id=user_id, now=now, departments=departments,
    )
    return counts, int(await session.scalar(overdue_q) or 0)


async def _unfiltered_counts(session: AsyncSession, *, municipality_id: int, now: datetime) -> tuple[dict[str, int], int]:
    """The town's counts without a filter, from the counters the triggers keep: per status, and
    overdue as the open appeals due on an earlier UTC day plus today's already past due (a
    short range of the queue index)."""
    now = now.astimezone(UTC)
    today = now.date()
    counts = {s.value: 0 for s in Status}
    overdue = 0
    open_values = {s.value for s in rules.OPEN_STATUSES}
    rows = await session.execute(
        select(AppealStatusCount.status, AppealStatusCount.due_on, AppealStatusCount.n)
        .where(AppealStatusCount.municipality_id == municipality_id)
    )
    for status, due_on, n in rows.all():
        counts[status] = counts.get(status, 0) + n
        if status in open_values and due_on < today:
            overdue += n
    start = datetime(today.year, today.month, today.day, tzinfo=UTC)
    overdue += int(await session.scalar(
        select(func.count()).select_from(Appeal).where(
            Appeal.municipality_id == municipality_id, Appeal.merged_into_id.is_(None), Appeal.status.in_(sorted(open_values)),
            Appeal.due_at >= start, Appeal.due_at < now,
        )
    ) or 0)
    return counts, overdue


async def attachment_counts(session: AsyncSession, *, appeal_ids: list[int]) -> dict[int, int]:
    """How many files each appeal has (for the queue's paperclip)."""
    if not appeal_ids:
        return {}
    rows = await session.execute(
        select(StoredFile.owner_id, func.count())
        .where(StoredFile.owner_type == "appeal", StoredFile.owner_id.in_(appeal_ids))
        .group_by(StoredFile.owner_id)
    )
    return {oid: n for oid, n in rows.all()}


async def comments(session: AsyncSession, *, appeal_id: int) -> list[AppealComment]:
    return list(await session.scalars(select(AppealComment).where(AppealComment.appeal_id == appeal_id).order_by(AppealComment.id)))


async def linked(session: AsyncSession, *, appeal_id: int) -> list[Appeal]:
    """Earlier appeals this one repeats, or reports merged into it."""
    rel = aliased(Appeal)
    rows = await session.scalars(
        select(rel).join(AppealLink, AppealLink.related_id == rel.id).where(AppealLink.appeal_id == appeal_id).order_by(rel.id)
    )
    merged = await session.scalars(select(Appeal).where(Appeal.merged_into_id == appeal_id).order_by(Appeal.id))
    return list(rows) + list(merged)


async def of_resident(session: AsyncSession, *, appeal: Appeal, departments: Departments = None, limit: int = 10) -> list[Appeal]:
    """The same author's other appeals in the same town (within the person's departments),
    newest first."""
    if appeal.author_id is None:
        return []
    stmt = select(Appeal).where(
        Appeal.author_id == appeal.author_id, Appeal.municipality_id == appeal.municipality_id, Appeal.id != appeal.id
    )
    if departments is not None:
        stmt = stmt.where(Appeal.department_id.in_([d for d in departments if d is not None]) | Appeal.department_id.is_(None))
    return list(await session.scalars(stmt.order_by(Appeal.registered_at.desc(), Appeal.id.desc()).limit(limit)))


async def possible_duplicates(session: AsyncSession, *, appeal: Appeal, limit: int = 5) -> list[tuple[Appeal, float]]:
    """Reports that look like the same problem: same category, nearby, similar, recent."""
    if appeal.kind != Kind.REPORT.value or appeal.category_id is None:
        return []
    window = timedelta(days=14)
    candidates = list(
        await session.scalars(
            select(Appeal).where(
                Appeal.municipality_id == appeal.municipality_id,
                Appeal.kind == Kind.REPORT.value,
                Appeal.category_id == appeal.category_id,
                Appeal.id != appeal.id,
                Appeal.merged_into_id.is_(None),
                Appeal.registered_at >= appeal.registered_at - window,
                Appeal.registered_at <= appeal.registered_at + window,
            ).limit(500)
        )
    )
    signal = lambda a: rules.ReportSignal(  # noqa: E731
        id=a.id, category_id=a.category_id, text=a.text, created_at=a.registered_at, lat=a.lat, lon=a.lon
    )
    by_id = {c.id: c for c in candidates}
    return [(by_id[i], score) for i, score in rules.find_duplicates(signal(appeal), [signal(c) for c in candidates])[:limit]]


async def staff_of(session: AsyncSession, *, town: Municipality) -> list[tuple[User, str]]:
    """People who may handle appeals in the town, with their role."""
    handlers = permissions.roles(town, permissions.HANDLE)
    rows = await session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.municipality_id == town.id, Membership.role.in_([r.value for r in handlers]))
        .order_by(User.last_name, User.first_name)
    )
    return [(u, r) for u, r in rows.all()]


def can_request_info(appeal: Appeal) -> bool:
    """Whether the resident can be asked for more now: they are in the chat, and the status allows it."""
    return appeal.author_id is not None and rules.can_transition(Status(appeal.status), Status.INFO_REQUESTED)


def can_redirect(appeal: Appeal, town: Municipality, now: datetime) -> bool:
    """Whether the appeal is still being handled and within 7 days of registration (art. 8 p. 3)."""
    return rules.is_open(Status(appeal.status)) and rules.can_redirect(
        appeal.registered_at, now, policy_for(town, kind=Kind(appeal.kind))
    )


async def export_personal_data(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """The person's appeals, for /mydata."""
    return [
        {
            "reg_number": a.reg_number, "kind": a.kind, "status": a.status, "registered_at": a.registered_at.isoformat(),
            "full_name": a.full_name, "reply_address": a.reply_address, "phone": a.phone, "text": a.text,
            "address": a.address, "lat": a.lat, "lon": a.lon, "rating": a.rating,
        }
        for a in await session.scalars(select(Appeal).where(Appeal.author_id == user_id).order_by(Appeal.id))
    ]


async def may_see(session: AsyncSession, viewer: Viewer, appeal_id: int) -> bool:
    """Whoever handles appeals in the town sees the appeal (its files, its answers); a resident sees their own."""
    row = (await session.execute(
        select(Appeal.author_id, Appeal.department_id).where(Appeal.id == appeal_id, Appeal.municipality_id == viewer.municipality_id)
    )).first()
    if row is None:
        return False
    author_id, department_id = row
    if author_id == viewer.user_id:
        return True
    town = await session.get(Municipality, viewer.municipality_id)
    if town is None or not viewer.roles & permissions.roles(town, permissions.HANDLE):
        return False
    scope = await department_scope(session, town=town, user_id=viewer.user_id, roles=viewer.roles)
    return scope is None or department_id in scope


# --- the queue's rows and the card ------------------------------------------------------------


def file_out(town_id: int, f: StoredFile) -> FileOut:
    return FileOut(id=f.id, filename=f.filename, mime=f.mime, size=f.size, url=f"/api/v1/municipalities/{town_id}/files/{f.id}")


async def _names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {u.id: u.full_name or u.display_name for u in await users.by_ids(session, user_ids=wanted)}


async def list_items(
    session: AsyncSession, *, appeals: list[Appeal], now: datetime, query: str | None = None
) -> list[AppealListItem]:
    """The queue's rows for these appeals (one town's), with the words a search found marked."""
    if not appeals:
        return []
    town_id = appeals[0].municipality_id
    cats = {c.id: c.name for c in await categories(session, municipality_id=town_id, active_only=False)}
    depts = {d.id: d.name for d in await towns.departments(session, municipality_id=town_id)}
    names = await _names(session, {a.assignee_id for a in appeals})
    counts = await attachment_counts(session, appeal_ids=[a.id for a in appeals])
    items = [_item(a, cats, depts, names, counts, now) for a in appeals]
    if query and query.strip():
        for item, a in zip(items, appeals, strict=True):
            item.snippet = search.snippet(a.text, query)
    return items


def _item(
    a: Appeal, cats: dict[int, str], depts: dict[int, str], names: dict[int, str], counts: dict[int, int], now: datetime
) -> AppealListItem:
    return AppealListItem(
        id=a.id, reg_number=a.reg_number, kind=Kind(a.kind), status=Status(a.status),
        category=cats.get(a.category_id or 0), department_id=a.department_id, department=depts.get(a.department_id or 0),
        assignee_id=a.assignee_id, assignee_name=names.get(a.assignee_id or 0), full_name=a.full_name,
        excerpt=excerpt(a.text), registered_at=a.registered_at, due_at=a.due_at,
        deadline=rules.deadline_state(a.due_at, now).value if rules.is_open(Status(a.status)) else "none",
        attachments=counts.get(a.id, 0), source=a.source,
    )


async def card(
    session: AsyncSession, *, town: Municipality, appeal: Appeal, now: datetime | None = None, departments: Departments = None
) -> AppealCard:
    """Everything about one appeal for the clerk: text, files, map, history, comments,
    duplicates, linked appeals, the resident's other appeals and answers; other appeals only
    within the clerk's departments."""
    now = now or utcnow()
    item = (await list_items(session, appeals=[appeal], now=now))[0]
    notes = await comments(session, appeal_id=appeal.id)
    names = await _names(session, {c.author_id for c in notes})
    history = await audit.history(session, object_type="appeal", object_id=appeal.id)
    assignees = {(h.after or {}).get("assignee_id") for h in history}
    actor_names = await _names(session, {h.actor_id for h in history} | assignees)
    merged_into = await session.get(Appeal, appeal.merged_into_id) if appeal.merged_into_id else None
    docs = []
    for d in await _documents(session, appeal):
        f = await session.get(StoredFile, d.file_id) if d.file_id else None
        docs.append(DocumentOut(id=d.id, number=d.number, title=d.title, body=d.body, registered_at=d.registered_at,
                                file=file_out(town.id, f) if f else None))
    all_files = await files.of_owner(session, owner_type="appeal", owner_id=appeal.id)
    return AppealCard(
        **item.model_dump(),
        text=appeal.text, reply_address=appeal.reply_address, reply_address_type=appeal.reply_address_type,
        phone=appeal.phone, address=appeal.address, lat=appeal.lat, lon=appeal.lon,
        map_url=f"https://www.openstreetmap.org/?mlat={appeal.lat}&mlon={appeal.lon}#map=17/{appeal.lat}/{appeal.lon}" if appeal.lat is not None and appeal.lon is not None else None,
        answer_required=appeal.answer_required, no_answer_reason=_(appeal.no_answer_reason) if appeal.no_answer_reason else None,
        flagged_for_head=appeal.flagged_for_head, flagged_obscene=appeal.flagged_obscene,
        redirected_to=appeal.redirected_to, extended=appeal.extended_at is not None, merged_into_id=appeal.merged_into_id,
        merged_into=AppealRef(id=merged_into.id, reg_number=merged_into.reg_number) if merged_into else None,
        can_request_info=can_request_info(appeal),
        rating=appeal.rating, rating_comment=appeal.rating_comment,
        can_redirect=can_redirect(appeal, town, now),
        allowed_statuses=sorted(rules.ALLOWED_TRANSITIONS[Status(appeal.status)]),
        files=[file_out(town.id, f) for f in all_files],
        comments=[CommentOut(id=c.id, kind=c.kind, body=c.body, author=names.get(c.author_id or 0), created_at=c.created_at) for c in notes],
        history=[HistoryOut(at=h.at, action=h.action, actor=actor_names.get(h.actor_id or 0), details=_details(h.after, actor_names)) for h in history],
        duplicates=[DuplicateOut(id=a.id, reg_number=a.reg_number, excerpt=excerpt(a.text, 80), score=round(s, 3), status=Status(a.status))
                    for a, s in await possible_duplicates(session, appeal=appeal) if in_scope(departments, a.department_id)],
        linked=[DuplicateOut(id=a.id, reg_number=a.reg_number, excerpt=excerpt(a.text, 80), score=1.0, status=Status(a.status))
                for a in await linked(session, appeal_id=appeal.id) if in_scope(departments, a.department_id)],
        documents=docs,
        can_forward_crime_report=rules.can_forward_as_crime_report(
            kind=Kind(appeal.kind), status=Status(appeal.status), no_answer_reason=appeal.no_answer_reason,
            forwarded=appeal.redirected_at is not None,
        ),
        resident_appeals=[
            ResidentAppealOut(id=a.id, reg_number=a.reg_number, status=Status(a.status), registered_at=a.registered_at, excerpt=excerpt(a.text, 80))
            for a in await of_resident(session, appeal=appeal, departments=departments)
        ],
    )


def _details(after: dict | None, names: dict[int, str]) -> dict | None:
    """Audit details for the card, with the assignee's name beside the id."""
    if after and after.get("assignee_id") in names:
        return {**after, "assignee_name": names[after["assignee_id"]]}
    return after


async def _documents(session: AsyncSession, appeal: Appeal) -> list[Document]:
    if not appeal.answer_document_id:
        return []
    return await documents.for_origin(session, origin_type="appeal", origin_id=appeal.merged_into_id or appeal.id)


EXPORT_COLUMNS = (
    N_("Registration number"), N_("Kind"), N_("Status"), N_("Category"), N_("Department"), N_("Author"), N_("Registered"),
    N_("Due"), N_("Assignee"), N_("Address"), N_("Text"),
)
EXPORT_MAX_ROWS = 50_000


async def export_rows(
    session: AsyncSession, *, town: Municipality, filters: QueueFilters, user_id: int, now: datetime | None = None,
    departments: Departments = None, order: QueueOrder = QueueOrder.DUE,
) -> tuple[list[str], list[list[str]]]:
    """The filtered queue in `order` as a header and rows of text (up to EXPORT_MAX_ROWS)."""
    now = now or utcnow()
    tz = policy_for(town).tz
    rows: list[list[str]] = []
    cursor = None
    while len(rows) < EXPORT_MAX_ROWS:
        page, cursor = await queue(
            session, municipality_id=town.id, filters=filters, user_id=user_id, now=now, cursor=cursor, limit=500,
            departments=departments, order=order,
        )
        by_id = {a.id: a for a in page}
        for item in await list_items(session, appeals=page, now=now):
            a = by_id[item.id]
            rows.append([
                item.reg_number, _(rules.KIND_TITLES[item.kind]), _(rules.STATUS_TITLES[item.status]), item.category or "",
                item.department or "", item.full_name or "", item.registered_at.astimezone(tz).strftime("%d.%m.%Y %H:%M"),
                item.due_at.astimezone(tz).strftime("%d.%m.%Y"), item.assignee_name or "", a.address or "", a.text,
            ])
        if cursor is None:
            break
    return [_(c) for c in EXPORT_COLUMNS], rows[:EXPORT_MAX_ROWS]


def _median(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered, mid = sorted(values), len(values) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


@dataclass
class _Tally:
    """One group's figures (the town, or one category of it)."""

    received: int = 0
    answered: int = 0
    on_time: int = 0
    resolved: int = 0
    to_first_reply: list[float] = field(default_factory=list)
    to_answer: list[float] = field(default_factory=list)

    def add(self, *, registered: datetime, answered: datetime | None, due: datetime, first_reply: datetime | None, rating: int | None) -> None:
        self.received += 1
        if first_reply is not None:
            self.to_first_reply.append(_days(registered, first_reply))
        if answered is not None:
            self.answered += 1
            self.on_time += answered <= due
            self.to_answer.append(_days(registered, answered))
            self.resolved += rating is not None and rating >= RESOLVED_RATING


# A resident who rates the answer 4 or 5 says the matter is settled for them: the only
# evidence of "resolved" the record holds. An answer alone may refuse, explain or promise.
RESOLVED_RATING = 4


async def stats(session: AsyncSession, municipality_id: int, now: datetime) -> StatsReport:
    """The town's figures for the Atlas and dashboards, in total and by category. "Answered"
    is not "resolved": an answer may refuse, explain or promise; resolved counts answers the
    resident rated 4 or 5. The first reply is the administration's first move the resident
    hears of (taken into work, a question, a redirection, an answer), read from the audit log."""
    rows = (await session.execute(
        select(Appeal.id, Appeal.category_id, Appeal.registered_at, Appeal.answered_at, Appeal.due_at, Appeal.rating, Appeal.status, Appeal.author_id)
        .where(Appeal.municipality_id == municipality_id, Appeal.merged_into_id.is_(None))
    )).all()
    first_moves = dict((await session.execute(
        select(AuditLog.object_id, func.min(AuditLog.at))
        .where(AuditLog.municipality_id == municipality_id, AuditLog.object_type == "appeal", AuditLog.action == "appeal.status")
        .group_by(AuditLog.object_id)
    )).all())
    names = dict((await session.execute(
        select(AppealCategory.id, AppealCategory.name).where(AppealCategory.municipality_id == municipality_id)
    )).all())
    town: _Tally = _Tally()
    by_category: defaultdict[str | None, _Tally] = defaultdict(_Tally)
    open_values = {s.value for s in rules.OPEN_STATUSES}
    still_open = overdue = 0
    ratings: list[int] = []
    for appeal_id, category_id, registered, answered, due, rating, status, _author in rows:
        facts = {"registered": registered, "answered": answered, "due": due, "first_reply": first_moves.get(str(appeal_id)), "rating": rating}
        town.add(**facts)
        by_category[names.get(category_id)].add(**facts)
        if status in open_values:
            still_open += 1
            overdue += due < now
        if rating is not None:
            ratings.append(rating)
    figures = (
        Figure("received", N_("Appeals and reports received"), town.received),
        Figure("answered", N_("Answered"), town.answered),
        Figure("answered_on_time", N_("Answered on time (59-FZ term)"), town.on_time),
        Figure("answered_on_time_percent", N_("Share answered on time"), round(100 * town.on_time / town.answered, 1) if town.answered else 0.0, unit=N_("%")),
        Figure("resolved", N_("Resolved in the resident's view (answer rated 4-5)"), town.resolved),
        Figure("open", N_("Still being handled"), still_open),
        Figure("overdue", N_("Overdue"), overdue),
        Figure("median_days_to_first_reply", N_("Median time to the first reply"), round(_median(town.to_first_reply), 1), unit=N_("days")),
        Figure("median_days_to_answer", N_("Median time to the answer"), round(_median(town.to_answer), 1), unit=N_("days")),
        Figure("rated", N_("Answers rated by residents"), len(ratings)),
        Figure("average_rating", N_("Average rating of answers (1-5)"), round(sum(ratings) / len(ratings), 2) if ratings else 0.0),
    )
    groups = sorted(by_category.items(), key=lambda kv: (-kv[1].received, kv[0] or ""))

    def per_category(key: str, title: str, value: Callable[[_Tally], float | int], unit: str = "") -> Series:
        points = tuple(Point(name, value(t)) if name else Point(N_("Without a category"), value(t), msgid=True) for name, t in groups)
        return Series(key, title, points, unit=unit)

    series = (
        per_category("received_by_category", N_("Received, by category"), lambda t: t.received),
        per_category("answered_by_category", N_("Answered, by category"), lambda t: t.answered),
        per_category("answered_on_time_by_category", N_("Answered on time, by category"), lambda t: t.on_time),
        per_category("resolved_by_category", N_("Resolved in the resident's view, by category"), lambda t: t.resolved),
        per_category("median_days_to_first_reply_by_category", N_("Median days to the first reply, by category"), lambda t: round(_median(t.to_first_reply), 1), N_("days")),
        per_category("median_days_to_answer_by_category", N_("Median days to the answer, by category"), lambda t: round(_median(t.to_answer), 1), N_("days")),
    ) if groups else ()
    authors = {row[-1] for row in rows if row[-1] is not None}
    return StatsReport(figures=figures, series=series, participants=len(authors))
