"""Appeals under 59-FZ and problem reports: filing, the clerk's queue and actions, answers as
registered documents. The legal rules themselves are pure functions in `rules.py`."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, literal, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.core.audit import service as audit
from backend.core.documents import pdf
from backend.core.documents import service as documents
from backend.core.documents.models import Direction, Document
from backend.core.files import service as files
from backend.core.files.models import StoredFile
from backend.core.identity import service as identity
from backend.core.municipalities.models import Department, Municipality
from backend.core.notifications import service as outbox
from backend.core.users.models import Membership, Role, User
from backend.db import UTCDateTime, utcnow
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.i18n import N_
from backend.services.appeals import rules
from backend.services.appeals.models import Appeal, AppealCategory, AppealComment, AppealLink, AppealReminder
from backend.services.appeals.rules import Kind, NoAnswerReason, Status
from backend.services.appeals.schemas import MAX_ATTACHMENTS, AppealDraft, QueueFilters

STAFF = frozenset({Role.CLERK, Role.DEPARTMENT_HEAD, Role.HEAD, Role.ADMIN})
DEFAULT_TEXT_LIMIT = 10_000
DEFAULT_REPORT_DAYS = 10  # the informal channel: ПОС asks for an answer within 10 working days

KIND_TITLES = {
    Kind.PROPOSAL: N_("Proposal"),
    Kind.STATEMENT: N_("Statement"),
    Kind.COMPLAINT: N_("Complaint"),
    Kind.REPORT: N_("Problem report"),
}
STATUS_TITLES = {
    Status.REGISTERED: N_("registered"),
    Status.IN_PROGRESS: N_("in progress"),
    Status.INFO_REQUESTED: N_("more information requested"),
    Status.REDIRECTED: N_("redirected to another body"),
    Status.ANSWERED: N_("answered"),
    Status.NO_ANSWER_REQUIRED: N_("left without an answer"),
    Status.CLOSED: N_("closed"),
}
NO_ANSWER_KEYS = {
    "missing_name": NoAnswerReason.MISSING_NAME,
    "missing_reply_address": NoAnswerReason.MISSING_REPLY_ADDRESS,
    "obscene": NoAnswerReason.OBSCENE,
    "unreadable": NoAnswerReason.UNREADABLE,
    "no_essence": NoAnswerReason.NO_ESSENCE,
    "correspondence_stopped": NoAnswerReason.CORRESPONDENCE_STOPPED,
}

DEFAULT_ANSWER_TEMPLATE = """Уважаемый(ая) {{ resident_name }}!

Ваше обращение № {{ reg_number }} от {{ registered_date }} рассмотрено {{ department }}.

{{ answer_text | default("") }}

Если вы не согласны с ответом, вы можете обжаловать его в порядке, установленном законодательством Российской Федерации.

Исполнитель: {{ clerk }}"""


# --- town settings ----------------------------------------------------------------------------


def policy_for(town: Municipality, *, kind: Kind = Kind.STATEMENT) -> rules.DeadlinePolicy:
    """The town's reading of 59-FZ terms (settings `appeal_answer_days`, `calendar_days`,
    `holidays`); informal reports use `report_answer_days`."""
    s = town.settings or {}
    days = s.get("appeal_answer_days", 30) if kind.is_formal else s.get("report_answer_days", DEFAULT_REPORT_DAYS)
    return rules.DeadlinePolicy(
        answer_days=int(days),
        calendar_days=bool(s.get("calendar_days", True)),
        holidays=frozenset(date.fromisoformat(d) for d in s.get("holidays", [])),
        timezone=town.timezone,
    )


def reg_prefix(town: Municipality) -> str:
    """The town's registration prefix (`reg_prefix` setting), else from its slug."""
    prefix = (town.settings or {}).get("reg_prefix")
    if prefix:
        return str(prefix)
    letters = re.sub(r"[^a-z0-9]", "", town.slug.lower())
    return (letters[:3] or "APL").upper().ljust(2, "X")


def text_limit(town: Municipality) -> int:
    return int((town.settings or {}).get("appeal_max_chars", DEFAULT_TEXT_LIMIT))


def _search_text(*parts: str | None) -> str:
    return " ".join(p for p in parts if p).lower().replace("ё", "е")


def excerpt(text: str, n: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# --- categories -------------------------------------------------------------------------------


async def categories(session: AsyncSession, *, municipality_id: int, active_only: bool = True) -> list[AppealCategory]:
    """The town's categories, in display order."""
    stmt = select(AppealCategory).where(AppealCategory.municipality_id == municipality_id)
    if active_only:
        stmt = stmt.where(AppealCategory.is_active.is_(True))
    return list(await session.scalars(stmt.order_by(AppealCategory.sort, AppealCategory.name)))


async def category(session: AsyncSession, *, municipality_id: int, category_id: int) -> AppealCategory:
    """One active category of the town."""
    cat = await session.get(AppealCategory, category_id)
    if cat is None or cat.municipality_id != municipality_id or not cat.is_active:
        raise NotFound(N_("Category not found."))
    return cat


async def create_category(
    session: AsyncSession, *, municipality_id: int, code: str, name: str, department_id: int | None = None,
    description: str = "", sort: int = 100,
) -> AppealCategory:
    """Add a category routed to a department."""
    if not re.fullmatch(r"[a-z0-9_-]{1,32}", code):
        raise Invalid(N_("A category code is 1-32 lowercase Latin letters, digits, - or _."))
    cat = AppealCategory(
        municipality_id=municipality_id, code=code, name=name, department_id=department_id, description=description, sort=sort
    )
    session.add(cat)
    await session.flush()
    return cat


# --- filing -----------------------------------------------------------------------------------


async def identity_check(user: User, town: Municipality, *, full_name: str | None, reply_address: str | None) -> identity.IdentityCheck:
    """Whether this person may file a formal appeal in this town now."""
    return identity.check_for_appeal(user, town_settings=town.settings or {}, full_name=full_name, reply_address=reply_address)


async def submit(
    session: AsyncSession,
    *,
    town: Municipality,
    draft: AppealDraft,
    author: User | None,
    source: str = "bot",
    now: datetime | None = None,
) -> Appeal:
    """Register an appeal or report: number, deadline, routing, 59-FZ art. 11 assessment and
    the link to repeated appeals of the same author."""
    now = now or utcnow()
    kind = Kind(draft.kind)
    cat = await category(session, municipality_id=town.id, category_id=draft.category_id)
    text = draft.text.strip()
    if len(text) > text_limit(town):
        raise Invalid(N_("The text is longer than {limit} characters. Please shorten it."), limit=text_limit(town))
    if kind.is_formal:
        if author is None:
            raise Forbidden(N_("A formal appeal needs an identified author."))
        check = await identity_check(author, town, full_name=draft.full_name, reply_address=draft.reply_address)
        if not check.ok:
            raise Forbidden(N_("A formal appeal needs: {missing}. You can file a problem report instead."), missing=", ".join(check.missing))

    policy = policy_for(town, kind=kind)
    seq = await documents.next_number(session, municipality_id=town.id, journal="appeals", year=now.year)
    reg_number = rules.format_reg_number(reg_prefix(town), now.year, seq)
    appeal = Appeal(
        municipality_id=town.id,
        kind=kind.value,
        status=Status.REGISTERED.value,
        category_id=cat.id,
        department_id=cat.department_id,
        author_id=author.id if author else None,
        source=source,
        full_name=(draft.full_name or "").strip() or None,
        reply_address=(draft.reply_address or "").strip() or None,
        reply_address_type=rules.classify_reply_address(draft.reply_address or ""),
        phone=draft.phone or (author.phone if author else None),
        text=text,
        address=draft.address,
        lat=draft.lat,
        lon=draft.lon,
        search_text=_search_text(reg_number, draft.full_name, draft.address, text),
        reg_number=reg_number,
        received_at=now,
        registered_at=now,
        due_at=rules.answer_due(now, policy),
    )
    if kind.is_formal:
        verdict = rules.assess_admissibility(
            full_name=appeal.full_name, reply_address=appeal.reply_address, text=text, mentions_crime=draft.mentions_crime
        )
        if not verdict.answer_required:
            appeal.status = Status.NO_ANSWER_REQUIRED.value
            appeal.answer_required = False
            appeal.no_answer_reason = verdict.reason
            appeal.route_to_competent_body = verdict.route_to_competent_body
    session.add(appeal)
    await session.flush()
    if draft.file_ids:
        await _attach_files(session, appeal=appeal, file_ids=draft.file_ids, user_id=author.id if author else None)
    if kind.is_formal and author is not None:
        await _link_repeats(session, appeal=appeal)
    if author is not None:
        _remember_contacts(author, appeal)
    await audit.record(
        session, action="appeal.register", object_type="appeal", object_id=appeal.id, actor_id=appeal.author_id,
        municipality_id=town.id, after={"reg_number": reg_number, "kind": kind.value, "status": appeal.status, "source": source},
    )
    return appeal


def _remember_contacts(author: User, appeal: Appeal) -> None:
    """Keep the name and reply address in the profile, so the next appeal is pre-filled."""
    if appeal.full_name:
        author.full_name = appeal.full_name
    if appeal.reply_address_type == "email":
        author.email = appeal.reply_address
    elif appeal.reply_address_type == "postal":
        author.postal_address = appeal.reply_address


async def _attach_files(session: AsyncSession, *, appeal: Appeal, file_ids: list[int], user_id: int | None) -> None:
    if len(file_ids) > MAX_ATTACHMENTS:
        raise Invalid(N_("At most {max} attachments."), max=MAX_ATTACHMENTS)
    owned = list(
        await session.scalars(
            select(StoredFile).where(
                StoredFile.id.in_(file_ids),
                StoredFile.municipality_id == appeal.municipality_id,
                StoredFile.owner_id.is_(None),
                StoredFile.created_by.is_(user_id) if user_id is None else StoredFile.created_by == user_id,
            )
        )
    )
    if len(owned) != len(set(file_ids)):
        raise NotFound(N_("File not found."))
    for f in owned:
        f.owner_type, f.owner_id = "appeal", appeal.id


async def _link_repeats(session: AsyncSession, *, appeal: Appeal) -> None:
    previous = list(
        await session.scalars(
            select(Appeal)
            .where(
                Appeal.author_id == appeal.author_id,
                Appeal.municipality_id == appeal.municipality_id,
                Appeal.id != appeal.id,
                Appeal.kind != Kind.REPORT.value,
            )
            .order_by(Appeal.id.desc())
            .limit(50)
        )
    )
    if not previous:
        return
    verdict = rules.is_repeated(
        appeal.text,
        [rules.PreviousAppeal(id=p.id, text=p.text, answered_on_merits=p.status in (Status.ANSWERED.value, Status.CLOSED.value) and p.answer_document_id is not None) for p in previous],
    )
    for related in verdict.linked_ids:
        session.add(AppealLink(appeal_id=appeal.id, related_id=related, relation="repeat"))
    appeal.flagged_for_head = verdict.flag_for_head
    await session.flush()


async def save_attachment(
    session: AsyncSession, *, town: Municipality, user: User | None, data: bytes, filename: str, mime: str, files_root: Path
) -> StoredFile:
    """Store an attachment before the appeal exists (the dialog collects them one by one)."""
    return await files.save(
        session, root=files_root, municipality_id=town.id, data=data, filename=filename, mime=mime,
        owner_type="appeal", owner_id=None, created_by=user.id if user else None,
    )


# --- reading ----------------------------------------------------------------------------------


async def get(session: AsyncSession, *, municipality_id: int, appeal_id: int) -> Appeal:
    """An appeal of this town; other towns' appeals do not exist here."""
    appeal = await session.get(Appeal, appeal_id)
    if appeal is None or appeal.municipality_id != municipality_id:
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


def encode_cursor(appeal: Appeal) -> str:
    return base64.urlsafe_b64encode(f"{appeal.due_at.isoformat()}|{appeal.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        due, ident = raw.split("|")
        moment = datetime.fromisoformat(due)
        if moment.tzinfo is None:
            raise ValueError(due)
        return moment, int(ident)
    except (ValueError, UnicodeDecodeError):
        raise Invalid(N_("The page link is broken; reload the list.")) from None


def _filtered(stmt, *, municipality_id: int, filters: QueueFilters, user_id: int, now: datetime):  # noqa: ANN001, ANN202
    stmt = stmt.where(Appeal.municipality_id == municipality_id)
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
    if filters.q:
        for word in filters.q.lower().replace("ё", "е").split()[:5]:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(Appeal.search_text.like(f"%{escaped}%", escape="\\"))
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
) -> tuple[list[Appeal], str | None]:
    """One page of the clerk's queue sorted by due date, keyset-paginated so a deep page
    costs what the first does."""
    now = now or utcnow()
    stmt = _filtered(select(Appeal), municipality_id=municipality_id, filters=filters, user_id=user_id, now=now)
    if filters.status:
        stmt = stmt.where(Appeal.status.in_([s.value for s in filters.status]))
    if cursor:
        due, ident = decode_cursor(cursor)
        # A row-value comparison: both engines walk the (…, due_at, id) index from the cursor.
        stmt = stmt.where(tuple_(Appeal.due_at, Appeal.id) > tuple_(literal(due, UTCDateTime()), literal(ident)))
    stmt = stmt.order_by(Appeal.due_at, Appeal.id).limit(limit + 1)
    rows = list(await session.scalars(stmt))
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def status_counts(
    session: AsyncSession, *, municipality_id: int, filters: QueueFilters, user_id: int, now: datetime | None = None
) -> tuple[dict[str, int], int]:
    """How many appeals each status has under the other filters, and how many are overdue."""
    now = now or utcnow()
    base = _filtered(select(Appeal.status, func.count()), municipality_id=municipality_id, filters=filters, user_id=user_id, now=now)
    counts = {s.value: 0 for s in Status}
    for status, n in (await session.execute(base.group_by(Appeal.status))).all():
        counts[status] = n
    overdue_q = _filtered(
        select(func.count()).select_from(Appeal), municipality_id=municipality_id,
        filters=filters.model_copy(update={"overdue": True}), user_id=user_id, now=now,
    )
    return counts, int(await session.scalar(overdue_q) or 0)


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


# --- the clerk's actions ----------------------------------------------------------------------


async def _notify_people(session: AsyncSession, appeal: Appeal, message: str, params: dict[str, Any], **kw: Any) -> None:
    """Tell the author, and the authors of reports merged into this one."""
    people = {appeal.author_id} if appeal.author_id else set()
    people |= set(await session.scalars(select(Appeal.author_id).where(Appeal.merged_into_id == appeal.id, Appeal.author_id.is_not(None))))
    for user_id in sorted(people):
        await outbox.enqueue(session, user_id=user_id, message=message, params=params, **kw)


async def _move(session: AsyncSession, appeal: Appeal, target: Status, *, actor_id: int | None, notify: bool = True, **details: Any) -> None:
    current = Status(appeal.status)
    if current == target:
        return
    if not rules.can_transition(current, target):
        raise Conflict(
            N_("An appeal that is «{current_msgid}» cannot become «{target_msgid}»."),
            current_msgid=STATUS_TITLES[current], target_msgid=STATUS_TITLES[target],
        )
    appeal.status = target.value
    await audit.record(
        session, action="appeal.status", object_type="appeal", object_id=appeal.id, actor_id=actor_id,
        municipality_id=appeal.municipality_id, before={"status": current.value}, after={"status": target.value, **details},
    )
    if notify:
        await _notify_people(
            session, appeal, N_("Your appeal {number}: the status is now «{status_msgid}»."),
            {"number": appeal.reg_number, "status_msgid": STATUS_TITLES[target]},
        )


async def staff_of(session: AsyncSession, *, municipality_id: int) -> list[tuple[User, str]]:
    """People who may handle appeals in the town, with their role."""
    rows = await session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.municipality_id == municipality_id, Membership.role.in_([r.value for r in STAFF]))
        .order_by(User.last_name, User.first_name)
    )
    return [(u, r) for u, r in rows.all()]


async def assign(session: AsyncSession, *, appeal: Appeal, actor: User, assignee_id: int | None = None) -> None:
    """Take the appeal (no assignee given) or hand it to a colleague of the town."""
    target = assignee_id or actor.id
    roles = set(await session.scalars(select(Membership.role).where(Membership.user_id == target, Membership.municipality_id == appeal.municipality_id)))
    if not roles & {r.value for r in STAFF}:
        raise Invalid(N_("This person does not handle appeals in this town."))
    before = appeal.assignee_id
    appeal.assignee_id = target
    await audit.record(
        session, action="appeal.assign", object_type="appeal", object_id=appeal.id, actor_id=actor.id,
        municipality_id=appeal.municipality_id, before={"assignee_id": before}, after={"assignee_id": target},
    )
    if appeal.status == Status.REGISTERED.value:
        await _move(session, appeal, Status.IN_PROGRESS, actor_id=actor.id)


async def set_status(session: AsyncSession, *, appeal: Appeal, actor: User, status: Status) -> None:
    """Move to another status the rules allow."""
    await _move(session, appeal, status, actor_id=actor.id)


async def add_note(session: AsyncSession, *, appeal: Appeal, actor: User, text: str) -> AppealComment:
    """An internal comment, never shown to the resident."""
    note = AppealComment(appeal_id=appeal.id, author_id=actor.id, kind="note", body=text.strip())
    session.add(note)
    await session.flush()
    return note


def can_request_info(appeal: Appeal) -> bool:
    """Whether the resident can be asked for more now: they are in the chat, and the status allows it."""
    return appeal.author_id is not None and rules.can_transition(Status(appeal.status), Status.INFO_REQUESTED)


def can_redirect(appeal: Appeal, town: Municipality, now: datetime) -> bool:
    """Whether the appeal is still being handled and within 7 days of registration (art. 8 p. 3)."""
    return rules.is_open(Status(appeal.status)) and rules.can_redirect(
        appeal.registered_at, now, policy_for(town, kind=Kind(appeal.kind))
    )


async def request_info(session: AsyncSession, *, appeal: Appeal, actor: User, question: str) -> AppealComment:
    """Ask the resident for more; their reply in chat is attached to the appeal."""
    if appeal.author_id is None:
        raise Conflict(N_("This appeal has no author in the chat to ask."))
    comment = AppealComment(appeal_id=appeal.id, author_id=actor.id, kind="info_request", body=question.strip())
    session.add(comment)
    await session.flush()
    await _move(session, appeal, Status.INFO_REQUESTED, actor_id=actor.id, notify=False)
    await outbox.enqueue(
        session, user_id=appeal.author_id,
        message=N_("Your appeal {number}: the administration asks for more information:\n\n{question}"),
        params={"number": appeal.reg_number, "question": comment.body},
        action={"type": "reply_to_appeal", "appeal_id": appeal.id},
    )
    return comment


async def add_resident_reply(
    session: AsyncSession, *, appeal_id: int, user: User, text: str, file_ids: list[int] | None = None
) -> AppealComment:
    """The resident's answer to a request for information."""
    appeal = await get_own(session, user_id=user.id, appeal_id=appeal_id)
    if appeal.status != Status.INFO_REQUESTED.value:
        raise Conflict(N_("The administration is not waiting for more information on this appeal."))
    comment = AppealComment(appeal_id=appeal.id, author_id=user.id, kind="resident_reply", body=text.strip() or "—")
    session.add(comment)
    await session.flush()
    if file_ids:
        await _attach_files(session, appeal=appeal, file_ids=file_ids, user_id=user.id)
    appeal.search_text = _search_text(appeal.search_text, text)
    await _move(session, appeal, Status.IN_PROGRESS, actor_id=user.id, notify=False)
    return comment


async def redirect(session: AsyncSession, *, appeal: Appeal, actor: User, to: str, now: datetime | None = None) -> None:
    """Forward to the competent body within 7 days of registration, telling the resident."""
    now = now or utcnow()
    town = await session.get(Municipality, appeal.municipality_id)
    assert town is not None
    if not rules.can_redirect(appeal.registered_at, now, policy_for(town, kind=Kind(appeal.kind))):
        raise Conflict(N_("More than 7 days have passed since registration: the appeal can no longer be redirected."))
    appeal.redirected_to, appeal.redirected_at = to.strip(), now
    await _move(session, appeal, Status.REDIRECTED, actor_id=actor.id, notify=False, to=appeal.redirected_to)
    await _notify_people(
        session, appeal, N_("Your appeal {number} has been sent to the body competent to answer it: {to}."),
        {"number": appeal.reg_number, "to": appeal.redirected_to},
    )


async def extend(session: AsyncSession, *, appeal: Appeal, actor: User, days: int, reason: str) -> None:
    """Extend the answer deadline once, by up to 30 days, telling the resident (art. 12 p. 2)."""
    if not rules.is_open(Status(appeal.status)):
        raise Conflict(N_("Only an appeal still being handled can have its deadline extended."))
    town = await session.get(Municipality, appeal.municipality_id)
    assert town is not None
    before = appeal.due_at
    appeal.due_at = rules.extend(appeal.due_at, days, policy_for(town, kind=Kind(appeal.kind)), already_extended=appeal.extended_at is not None)
    appeal.extended_at, appeal.extension_reason = utcnow(), reason.strip()
    # The reminder schedule starts over from the new deadline.
    await session.execute(delete(AppealReminder).where(AppealReminder.appeal_id == appeal.id))
    await audit.record(
        session, action="appeal.extend", object_type="appeal", object_id=appeal.id, actor_id=actor.id,
        municipality_id=appeal.municipality_id, before={"due_at": before.isoformat()}, after={"due_at": appeal.due_at.isoformat(), "days": days},
    )
    local_due = appeal.due_at.astimezone(policy_for(town).tz).date()
    await _notify_people(
        session, appeal, N_("The answer to your appeal {number} has been extended to {date}. Reason: {reason}"),
        {"number": appeal.reg_number, "date": local_due.strftime("%d.%m.%Y"), "reason": appeal.extension_reason},
    )


async def mark_no_answer(session: AsyncSession, *, appeal: Appeal, actor: User, reason: str) -> None:
    """Leave the appeal without an answer on one of the grounds of art. 11, telling the resident."""
    msgid = NO_ANSWER_KEYS.get(reason)
    if msgid is None:
        raise Invalid(N_("Unknown reason."))
    if reason == "correspondence_stopped" and not (set(await _roles(session, actor.id, appeal.municipality_id)) & {Role.HEAD.value, Role.ADMIN.value}):
        raise Forbidden(N_("Only the head of the municipality may stop the correspondence."))
    appeal.answer_required = False
    appeal.no_answer_reason = msgid
    appeal.flagged_obscene = appeal.flagged_obscene or reason == "obscene"
    await _move(session, appeal, Status.NO_ANSWER_REQUIRED, actor_id=actor.id, notify=False, reason=reason)
    await _notify_people(
        session, appeal, N_("Your appeal {number} will not be answered on the merits. Reason: {reason_msgid}"),
        {"number": appeal.reg_number, "reason_msgid": msgid},
    )


async def _roles(session: AsyncSession, user_id: int, municipality_id: int) -> list[str]:
    return list(await session.scalars(select(Membership.role).where(Membership.user_id == user_id, Membership.municipality_id == municipality_id)))


async def merge(session: AsyncSession, *, appeal: Appeal, into: Appeal, actor: User) -> None:
    """Merge a duplicate report into another: everyone who reported gets the one answer."""
    if Kind(appeal.kind) is not Kind.REPORT or Kind(into.kind) is not Kind.REPORT:
        raise Conflict(N_("Only problem reports can be merged."))
    if appeal.id == into.id or into.merged_into_id is not None or into.municipality_id != appeal.municipality_id:
        raise Conflict(N_("These reports cannot be merged."))
    if not rules.is_open(Status(into.status)):
        raise Conflict(N_("Merge into a report that is still being handled."))
    appeal.merged_into_id = into.id
    for child in await session.scalars(select(Appeal).where(Appeal.merged_into_id == appeal.id)):
        child.merged_into_id = into.id
    await audit.record(
        session, action="appeal.merge", object_type="appeal", object_id=appeal.id, actor_id=actor.id,
        municipality_id=appeal.municipality_id, after={"into": into.id},
    )
    if appeal.author_id:
        await outbox.enqueue(
            session, user_id=appeal.author_id,
            message=N_("Your report {number} is about the same problem as report {other}; you will receive the answer to it."),
            params={"number": appeal.reg_number, "other": into.reg_number},
        )


# --- answers ----------------------------------------------------------------------------------


def _template_context(appeal: Appeal, town: Municipality, department: Department | None, clerk: User) -> dict[str, Any]:
    tz = policy_for(town).tz
    return {
        "resident_name": appeal.full_name or "",
        "reg_number": appeal.reg_number,
        "registered_date": appeal.registered_at.astimezone(tz).strftime("%d.%m.%Y"),
        "due_date": appeal.due_at.astimezone(tz).strftime("%d.%m.%Y"),
        "today": utcnow().astimezone(tz).strftime("%d.%m.%Y"),
        "clerk": clerk.full_name or clerk.display_name,
        "department": department.name if department else town.name,
        "town": town.name,
        "text": appeal.text,
    }


async def set_answer_template(session: AsyncSession, *, category: AppealCategory, actor: User, body: str | None) -> None:
    """Set (or, with None, clear) a category's answer template, checked in the sandbox first."""
    if body is not None:
        documents.check_template(body)
    category.answer_template = body
    await audit.record(
        session, action="appeal_category.template", object_type="appeal_category", object_id=category.id,
        actor_id=actor.id, municipality_id=category.municipality_id, after={"set": body is not None},
    )


async def answer_template(session: AsyncSession, *, category: AppealCategory) -> str:
    """The template the category's answers start from."""
    if category.answer_template:
        return category.answer_template
    tpl = await documents.template_for(session, municipality_id=category.municipality_id, key="appeal_answer")
    return tpl.body if tpl else DEFAULT_ANSWER_TEMPLATE


async def draft_answer(session: AsyncSession, *, appeal: Appeal, actor: User) -> str:
    """The answer's starting text from the category's template (else the town's, else the
    shared default), rendered in the sandbox."""
    town = await session.get(Municipality, appeal.municipality_id)
    assert town is not None
    cat = await session.get(AppealCategory, appeal.category_id) if appeal.category_id else None
    if cat is not None:
        source = await answer_template(session, category=cat)
    else:
        tpl = await documents.template_for(session, municipality_id=town.id, key="appeal_answer")
        source = tpl.body if tpl else DEFAULT_ANSWER_TEMPLATE
    department = await session.get(Department, appeal.department_id) if appeal.department_id else None
    return documents.render_template(source, _template_context(appeal, town, department, actor))


@dataclass(frozen=True)
class AnswerResult:
    document: Document
    file: StoredFile


async def answer(
    session: AsyncSession, *, appeal: Appeal, actor: User, body: str, files_root: Path, font: Path | None, now: datetime | None = None
) -> AnswerResult:
    """Answer: an outgoing Document with its own number, rendered to PDF, sent to the chat of
    everyone who reported; the rating request follows."""
    now = now or utcnow()
    if appeal.merged_into_id is not None:
        raise Conflict(N_("This report was merged into another; answer that one."))
    if not rules.can_transition(Status(appeal.status), Status.ANSWERED):
        raise Conflict(
            N_("An appeal that is «{current_msgid}» cannot become «{target_msgid}»."),
            current_msgid=STATUS_TITLES[Status(appeal.status)], target_msgid=STATUS_TITLES[Status.ANSWERED],
        )
    town = await session.get(Municipality, appeal.municipality_id)
    assert town is not None
    department = await session.get(Department, appeal.department_id) if appeal.department_id else None
    tz = policy_for(town).tz
    signer = actor.full_name or actor.display_name
    addressee = "\n".join(p for p in (appeal.full_name, appeal.reply_address) if p) or "—"
    title = f"Ответ на обращение № {appeal.reg_number} от {appeal.registered_at.astimezone(tz):%d.%m.%Y}"
    doc = await documents.register(
        session, municipality_id=town.id, direction=Direction.OUTGOING, kind="appeal_answer", title=title, body=body.strip(),
        requisites={"addressee": addressee, "author": signer, "signer": signer, "appeal": appeal.reg_number,
                    "department": department.name if department else None},
        author_id=actor.id, signer_id=actor.id, origin=("appeal", appeal.id), now=now,
    )
    content = pdf.PdfContent(
        header=f"Администрация муниципального образования «{town.name}»" + (f"\n{department.name}" if department else ""),
        number=f"Исх. № {doc.number}",
        date=f"от {now.astimezone(tz):%d.%m.%Y}",
        addressee=addressee,
        title=title,
        body=doc.body,
        signature=f"Исполнитель: {signer}",
        footer=f"Документ зарегистрирован в системе «Глокал» {now.astimezone(tz):%d.%m.%Y %H:%M}.",
    )
    stored = await files.save(
        session, root=files_root, municipality_id=town.id, data=pdf.render(content, font=font),
        filename=f"{doc.number}.pdf", mime="application/pdf", owner_type="document", owner_id=doc.id, created_by=actor.id,
    )
    doc.file_id = stored.id
    appeal.answer_document_id, appeal.answered_at = doc.id, now
    await _move(session, appeal, Status.ANSWERED, actor_id=actor.id, notify=False, document=doc.number)
    for child in await session.scalars(select(Appeal).where(Appeal.merged_into_id == appeal.id)):
        child.status, child.answer_document_id, child.answered_at = Status.ANSWERED.value, doc.id, now
    await _notify_people(
        session, appeal, N_("Answer to your appeal {number} (outgoing No. {doc_number}):\n\n{body}"),
        {"number": appeal.reg_number, "doc_number": doc.number, "body": doc.body},
        file_id=stored.id, action={"type": "rate_appeal", "appeal_id": appeal.id},
    )
    await documents.mark_sent(session, document_id=doc.id, now=now)
    return AnswerResult(document=doc, file=stored)


async def rate(session: AsyncSession, *, appeal_id: int, user: User, rating: int, comment: str | None = None) -> Appeal:
    """The resident rates the answer (1 to 5, optional comment); the appeal is then closed."""
    if not 1 <= rating <= 5:
        raise Invalid(N_("A rating is from 1 to 5."))
    appeal = await get_own(session, user_id=user.id, appeal_id=appeal_id)
    if appeal.status not in (Status.ANSWERED.value, Status.CLOSED.value):
        raise Conflict(N_("You can rate the answer once it has been given."))
    appeal.rating, appeal.rated_at = rating, utcnow()
    if comment is not None:
        appeal.rating_comment = comment.strip()[:1000] or None
    await audit.record(session, action="appeal.rate", object_type="appeal", object_id=appeal.id, actor_id=user.id,
                       municipality_id=appeal.municipality_id, after={"rating": rating})
    if appeal.status == Status.ANSWERED.value:
        await _move(session, appeal, Status.CLOSED, actor_id=user.id, notify=False)
    return appeal


# --- reminders (scheduler) --------------------------------------------------------------------


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
    messages = {
        rules.Reminder.DUE_IN_5_DAYS: N_("Reminder: the answer to appeal {number} is due in 5 days ({date})."),
        rules.Reminder.DUE_IN_1_DAY: N_("Reminder: the answer to appeal {number} is due tomorrow ({date})."),
        rules.Reminder.OVERDUE: N_("Overdue: the answer to appeal {number} was due {date}."),
    }
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
            await outbox.enqueue(
                session, user_id=user_id, message=messages[decision.send],
                params={"number": appeal.reg_number, "date": local_due},
                action={"type": "open_appeal", "appeal_id": appeal.id, "municipality_id": appeal.municipality_id},
            )
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


# --- personal data (152-FZ) -------------------------------------------------------------------


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


async def erase_personal_data(session: AsyncSession, user_id: int) -> None:
    """Appeals are records the law keeps: they stay, without the person's name and contacts."""
    for a in await session.scalars(select(Appeal).where(Appeal.author_id == user_id)):
        a.full_name = a.reply_address = a.phone = None
        a.search_text = _search_text(a.reg_number, a.address, a.text)


async def may_see(session: AsyncSession, user_id: int, municipality_id: int, roles: frozenset[Role], appeal_id: int) -> bool:
    """Staff of the town see every appeal's files; a resident sees their own."""
    if roles & STAFF:
        return True
    author = await session.scalar(select(Appeal.author_id).where(Appeal.id == appeal_id, Appeal.municipality_id == municipality_id))
    return author == user_id


async def may_see_document(session: AsyncSession, user_id: int, municipality_id: int, roles: frozenset[Role], document_id: int) -> bool:
    """An answer document is visible to whoever may see its appeal."""
    doc = await session.get(Document, document_id)
    if doc is None or doc.origin_type != "appeal" or doc.origin_id is None:
        return bool(roles & STAFF)
    return await may_see(session, user_id, municipality_id, roles, doc.origin_id)
