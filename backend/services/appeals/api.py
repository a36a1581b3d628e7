"""The clerk's side of appeals: queue, card, actions, answers, export (roles clerk,
department_head, head, admin; own town only)."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import service as audit
from backend.core.documents import pdf
from backend.core.documents import service as documents
from backend.core.documents.models import Document
from backend.core.files import service as files
from backend.core.files.models import StoredFile
from backend.core.users import service as users
from backend.core.users.models import Role
from backend.db import utcnow
from backend.deps import CurrentUser, MemberDep, SessionDep, SettingsDep, TownAccess, town_access
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.services.appeals import rules, service
from backend.services.appeals.models import Appeal
from backend.services.appeals.rules import Kind, Status
from backend.services.appeals.schemas import (
    AnswerIn,
    AppealCard,
    AppealListItem,
    AppealRef,
    AssignIn,
    CategoryOut,
    CommentOut,
    DocumentOut,
    DraftOut,
    DuplicateOut,
    ExtendIn,
    FileOut,
    HistoryOut,
    MergeIn,
    NoAnswerIn,
    QueueFilters,
    QueuePage,
    RedirectIn,
    StaffOut,
    StatusCounts,
    StatusIn,
    TemplateIn,
    TemplateOut,
    TextIn,
)

router = APIRouter(prefix="/api/v1/municipalities/{municipality_id}", tags=["appeals"])
StaffDep = Annotated[TownAccess, Depends(town_access(*service.STAFF))]
AppealId = Annotated[int, Path()]


def _filters(
    status: Annotated[list[Status] | None, Query()] = None,
    kind: Annotated[list[Kind] | None, Query()] = None,
    category_id: int | None = None,
    department_id: int | None = None,
    assignee: Annotated[str | None, Query(pattern=r"^(me|none|\d+)$")] = None,
    overdue: bool = False,
    due_within_days: Annotated[int | None, Query(ge=0, le=366)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> QueueFilters:
    return QueueFilters(
        status=status or [], kind=kind or [], category_id=category_id, department_id=department_id,
        assignee=int(assignee) if assignee and assignee.isdigit() else assignee,  # type: ignore[arg-type]
        overdue=overdue, due_within_days=due_within_days, q=q,
    )


FiltersDep = Annotated[QueueFilters, Depends(_filters)]


def _file_out(town_id: int, f: StoredFile) -> FileOut:
    return FileOut(id=f.id, filename=f.filename, mime=f.mime, size=f.size, url=f"/api/v1/municipalities/{town_id}/files/{f.id}")


async def _names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {u.id: u.full_name or u.display_name for u in await users.by_ids(session, user_ids=wanted)}


async def _items(session: AsyncSession, appeals: list[Appeal], now: datetime) -> list[AppealListItem]:
    cats = {c.id: c.name for c in await service.categories(session, municipality_id=appeals[0].municipality_id, active_only=False)} if appeals else {}
    names = await _names(session, {a.assignee_id for a in appeals})
    counts = await service.attachment_counts(session, appeal_ids=[a.id for a in appeals])
    return [_item(a, cats, names, counts, now) for a in appeals]


def _item(a: Appeal, cats: dict[int, str], names: dict[int, str], counts: dict[int, int], now: datetime) -> AppealListItem:
    return AppealListItem(
        id=a.id, reg_number=a.reg_number, kind=Kind(a.kind), status=Status(a.status),
        category=cats.get(a.category_id or 0), department_id=a.department_id,
        assignee_id=a.assignee_id, assignee_name=names.get(a.assignee_id or 0), full_name=a.full_name,
        excerpt=service.excerpt(a.text), registered_at=a.registered_at, due_at=a.due_at,
        deadline=rules.deadline_state(a.due_at, now).value if rules.is_open(Status(a.status)) else "none",
        attachments=counts.get(a.id, 0), source=a.source,
    )


@router.get("/appeal-categories", response_model=list[CategoryOut])
async def list_categories(access: MemberDep, session: SessionDep) -> list[CategoryOut]:
    """The town's categories of appeals."""
    return [CategoryOut.model_validate(c) for c in await service.categories(session, municipality_id=access.town.id)]


ManagerDep = Annotated[TownAccess, Depends(town_access(Role.DEPARTMENT_HEAD, Role.HEAD, Role.ADMIN))]


@router.get("/appeal-categories/{category_id}/answer-template", response_model=TemplateOut)
async def get_answer_template(category_id: Annotated[int, Path()], access: StaffDep, session: SessionDep) -> TemplateOut:
    """The Jinja2 template a category's answers start from, and the fields it may use."""
    cat = await service.category(session, municipality_id=access.town.id, category_id=category_id)
    return TemplateOut(body=await service.answer_template(session, category=cat), fields=sorted(documents.TEMPLATE_FIELDS))


@router.put("/appeal-categories/{category_id}/answer-template", response_model=TemplateOut)
async def put_answer_template(
    category_id: Annotated[int, Path()], body: TemplateIn, access: ManagerDep, user: CurrentUser, session: SessionDep
) -> TemplateOut:
    """Set the category's answer template (department heads, the head, admins)."""
    cat = await service.category(session, municipality_id=access.town.id, category_id=category_id)
    await service.set_answer_template(session, category=cat, actor=user, body=body.body)
    return TemplateOut(body=await service.answer_template(session, category=cat), fields=sorted(documents.TEMPLATE_FIELDS))


@router.get("/appeals", response_model=QueuePage)
async def appeal_queue(
    access: StaffDep, user: CurrentUser, session: SessionDep, filters: FiltersDep,
    cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> QueuePage:
    """The queue sorted by due date, filtered, one keyset page at a time."""
    now = utcnow()
    rows, next_cursor = await service.queue(
        session, municipality_id=access.town.id, filters=filters, user_id=user.id, now=now, cursor=cursor, limit=limit
    )
    return QueuePage(items=await _items(session, rows, now), next_cursor=next_cursor)


@router.get("/appeals/counts", response_model=StatusCounts)
async def appeal_counts(access: StaffDep, user: CurrentUser, session: SessionDep, filters: FiltersDep) -> StatusCounts:
    """How many appeals are in each status (under the other filters) and how many overdue."""
    counts, overdue = await service.status_counts(session, municipality_id=access.town.id, filters=filters, user_id=user.id)
    return StatusCounts(counts=counts, overdue=overdue)


@router.get("/appeals/staff", response_model=list[StaffOut])
async def appeal_staff(access: StaffDep, session: SessionDep) -> list[StaffOut]:
    """Colleagues an appeal can be assigned to."""
    seen: dict[int, StaffOut] = {}
    for u, role in await service.staff_of(session, municipality_id=access.town.id):
        seen.setdefault(u.id, StaffOut(id=u.id, name=u.full_name or u.display_name, roles=[])).roles.append(role)
    return list(seen.values())


EXPORT_COLUMNS = (
    N_("Registration number"), N_("Kind"), N_("Status"), N_("Category"), N_("Author"), N_("Registered"),
    N_("Due"), N_("Assignee"), N_("Address"), N_("Text"),
)


@router.get("/appeals/export")
async def export_queue(
    access: StaffDep, user: CurrentUser, session: SessionDep, filters: FiltersDep,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
) -> Response:
    """The filtered queue as CSV or XLSX (up to 50,000 rows)."""
    now = utcnow()
    tz = service.policy_for(access.town).tz
    rows: list[list[str]] = []
    cursor = None
    while len(rows) < 50_000:
        page, cursor = await service.queue(session, municipality_id=access.town.id, filters=filters, user_id=user.id, now=now, cursor=cursor, limit=500)
        for item in await _items(session, page, now):
            a = next(x for x in page if x.id == item.id)
            rows.append([
                item.reg_number, _(service.KIND_TITLES[item.kind]), _(service.STATUS_TITLES[item.status]), item.category or "",
                item.full_name or "", item.registered_at.astimezone(tz).strftime("%d.%m.%Y %H:%M"),
                item.due_at.astimezone(tz).strftime("%d.%m.%Y"), item.assignee_name or "",
                a.address or "", a.text,
            ])
        if cursor is None:
            break
    header = [_(c) for c in EXPORT_COLUMNS]
    stamp = now.astimezone(tz).strftime("%Y%m%d-%H%M")
    await audit.record(session, action="appeal.export", object_type="appeal_queue", actor_id=user.id,
                       municipality_id=access.town.id, after={"rows": len(rows), "format": format})
    if format == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=";")
        writer.writerow(header)
        writer.writerows(rows)
        # A BOM so Excel opens Cyrillic CSV correctly.
        return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="appeals-{stamp}.csv"'})
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Appeals"))
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return Response(out.getvalue(), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="appeals-{stamp}.xlsx"'})


async def _card(session: AsyncSession, access: TownAccess, appeal: Appeal) -> AppealCard:
    now = utcnow()
    town_id = access.town.id
    item = (await _items(session, [appeal], now))[0]
    comments = await service.comments(session, appeal_id=appeal.id)
    names = await _names(session, {c.author_id for c in comments})
    history = await audit.history(session, object_type="appeal", object_id=appeal.id)
    assignees = {(h.after or {}).get("assignee_id") for h in history}
    actor_names = await _names(session, {h.actor_id for h in history} | assignees)
    merged_into = await session.get(Appeal, appeal.merged_into_id) if appeal.merged_into_id else None
    docs = []
    for d in await _documents(session, appeal):
        f = await session.get(StoredFile, d.file_id) if d.file_id else None
        docs.append(DocumentOut(id=d.id, number=d.number, title=d.title, body=d.body, registered_at=d.registered_at,
                                file=_file_out(town_id, f) if f else None))
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
        can_request_info=service.can_request_info(appeal),
        rating=appeal.rating, rating_comment=appeal.rating_comment,
        can_redirect=service.can_redirect(appeal, access.town, now),
        allowed_statuses=sorted(rules.ALLOWED_TRANSITIONS[Status(appeal.status)]),
        files=[_file_out(town_id, f) for f in all_files],
        comments=[CommentOut(id=c.id, kind=c.kind, body=c.body, author=names.get(c.author_id or 0), created_at=c.created_at) for c in comments],
        history=[HistoryOut(at=h.at, action=h.action, actor=actor_names.get(h.actor_id or 0), details=_details(h.after, actor_names)) for h in history],
        duplicates=[DuplicateOut(id=a.id, reg_number=a.reg_number, excerpt=service.excerpt(a.text, 80), score=round(s, 3), status=Status(a.status))
                    for a, s in await service.possible_duplicates(session, appeal=appeal)],
        linked=[DuplicateOut(id=a.id, reg_number=a.reg_number, excerpt=service.excerpt(a.text, 80), score=1.0, status=Status(a.status))
                for a in await service.linked(session, appeal_id=appeal.id)],
        documents=docs,
    )


def _details(after: dict | None, names: dict[int, str]) -> dict | None:
    """Audit details for the card, with the assignee's name beside the id."""
    if after and after.get("assignee_id") in names:
        return {**after, "assignee_name": names[after["assignee_id"]]}
    return after


async def _documents(session: AsyncSession, appeal: Appeal) -> list[Document]:
    return await documents.for_origin(session, origin_type="appeal", origin_id=appeal.merged_into_id or appeal.id) if appeal.answer_document_id else []


async def _after(
    session: AsyncSession, access: TownAccess, appeal_id: int, action: Callable[[Appeal], Awaitable[object]]
) -> AppealCard:
    """Load the town's appeal, apply one service action to it, return the fresh card."""
    appeal = await service.get(session, municipality_id=access.town.id, appeal_id=appeal_id)
    await action(appeal)
    return await _card(session, access, appeal)


@router.get("/appeals/{appeal_id}", response_model=AppealCard)
async def appeal_card(appeal_id: AppealId, access: StaffDep, session: SessionDep) -> AppealCard:
    """Everything about one appeal: text, files, map, history, comments, duplicates, answers."""
    appeal = await service.get(session, municipality_id=access.town.id, appeal_id=appeal_id)
    return await _card(session, access, appeal)


@router.post("/appeals/{appeal_id}/assign", response_model=AppealCard)
async def assign(appeal_id: AppealId, body: AssignIn, access: StaffDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Take the appeal, or assign it to a colleague."""
    return await _after(session, access, appeal_id, lambda appeal: service.assign(session, appeal=appeal, actor=user, assignee_id=body.assignee_id))


@router.post("/appeals/{appeal_id}/status", response_model=AppealCard)
async def change_status(appeal_id: AppealId, body: StatusIn, access: StaffDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Move to another status the 59-FZ rules allow."""
    return await _after(session, access, appeal_id, lambda appeal: service.set_status(session, appeal=appeal, actor=user, status=Status(body.status)))


@router.post("/appeals/{appeal_id}/comments", response_model=AppealCard)
async def add_comment(appeal_id: AppealId, body: TextIn, access: StaffDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """An internal note."""
    return await _after(session, access, appeal_id, lambda appeal: service.add_note(session, appeal=appeal, actor=user, text=body.text))


@router.post("/appeals/{appeal_id}/request-info", response_model=AppealCard)
async def request_info(appeal_id: AppealId, body: TextIn, access: StaffDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Ask the resident for more information in the chat."""
    return await _after(session, access, appeal_id, lambda appeal: service.request_info(session, appeal=appeal, actor=user, question=body.text))


@router.post("/appeals/{appeal_id}/redirect", response_model=AppealCard)
async def redirect(appeal_id: AppealId, body: RedirectIn, access: StaffDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Redirect to the competent body (within 7 days of registration)."""
    return await _after(session, access, appeal_id, lambda appeal: service.redirect(session, appeal=appeal, actor=user, to=body.to))


@router.post("/appeals/{appeal_id}/extend", response_model=AppealCard)
async def extend(appeal_id: AppealId, body: ExtendIn, access: StaffDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Extend the deadline once by up to 30 days."""
    return await _after(session, access, appeal_id, lambda appeal: service.extend(session, appeal=appeal, actor=user, days=body.days, reason=body.reason))


@router.post("/appeals/{appeal_id}/no-answer", response_model=AppealCard)
async def no_answer(appeal_id: AppealId, body: NoAnswerIn, access: StaffDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Leave without an answer on a ground of 59-FZ art. 11."""
    return await _after(session, access, appeal_id, lambda appeal: service.mark_no_answer(session, appeal=appeal, actor=user, reason=body.reason))


@router.post("/appeals/{appeal_id}/merge", response_model=AppealCard)
async def merge(appeal_id: AppealId, body: MergeIn, access: StaffDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Merge this report into a duplicate of it."""
    appeal = await service.get(session, municipality_id=access.town.id, appeal_id=appeal_id)
    into = await service.get(session, municipality_id=access.town.id, appeal_id=body.into_id)
    await service.merge(session, appeal=appeal, into=into, actor=user)
    return await _card(session, access, appeal)


@router.get("/appeals/{appeal_id}/answer-draft", response_model=DraftOut)
async def answer_draft(appeal_id: AppealId, access: StaffDep, user: CurrentUser, session: SessionDep) -> DraftOut:
    """The answer's starting text from the category's template."""
    appeal = await service.get(session, municipality_id=access.town.id, appeal_id=appeal_id)
    return DraftOut(body=await service.draft_answer(session, appeal=appeal, actor=user))


@router.post("/appeals/{appeal_id}/answer", response_model=AppealCard)
async def answer(appeal_id: AppealId, body: AnswerIn, access: StaffDep, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> AppealCard:
    """Answer: a registered outgoing document, rendered to PDF and sent to the resident's chat."""
    font = pdf.find_font(settings.PDF_FONT)
    return await _after(
        session, access, appeal_id,
        lambda appeal: service.answer(session, appeal=appeal, actor=user, body=body.body, files_root=settings.files_dir, font=font),
    )
