"""The clerk's side of appeals: queue, card, actions, answers, export. Routes parse, call
`queries` or `service`, and return; who may do what is the manifest's actions (permissions.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AfterValidator
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import service as audit
from backend.core.documents import pdf
from backend.core.documents import service as documents
from backend.core.downloads import api as downloads
from backend.core.downloads import service as links
from backend.core.downloads.schemas import DownloadLinkOut
from backend.core.exports import writers
from backend.core.municipalities.models import Municipality
from backend.db import utcnow
from backend.deps import CurrentUser, MemberDep, SessionDep, SettingsDep, TownAccess, can
from backend.fields import INT32_MAX, IdPath, IdQuery, TextQuery
from backend.i18n import gettext as _
from backend.openapi import ERRORS, errors, file_response
from backend.services.appeals import drafts, queries, service
from backend.services.appeals.models import Appeal, AppealCategory
from backend.services.appeals.queries import Departments
from backend.services.appeals.rules import Kind, Status
from backend.services.appeals.schemas import (
    applied_order,
    AnswerIn,
    CrimeReportIn,
    AppealCard,
    AssignIn,
    CategoryAdminOut,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    DraftIn,
    DraftOut,
    ExtendIn,
    MergeIn,
    NoAnswerIn,
    QueueFilters,
    QueueOrder,
    QueuePage,
    RedirectIn,
    StaffOut,
    StatusCounts,
    StatusIn,
    TemplateIn,
    TemplateOut,
    TextIn,
)
from backend.services.appeals.settings import policy_for

router = APIRouter(prefix="/api/v1/municipalities/{municipality_id}", tags=["appeals"], responses=ERRORS)
StaffDep = Annotated[TownAccess, Depends(can("appeals", "handle"))]
ManagerDep = Annotated[TownAccess, Depends(can("appeals", "manage_templates"))]
AppealId = IdPath


@dataclass(frozen=True)
class Clerk:
    """The person handling the queue: their town, roles and the departments they see."""

    access: TownAccess
    user_id: int
    departments: Departments


async def _clerk(access: StaffDep, user: CurrentUser, session: SessionDep) -> Clerk:
    departments = await queries.department_scope(session, town=access.town, user_id=user.id, roles=access.roles)
    return Clerk(access=access, user_id=user.id, departments=departments)


ClerkDep = Annotated[Clerk, Depends(_clerk)]


def _assignee(value: str) -> str | int:
    # One value, so a refusal names one field: "me", "none", or an id within the database's.
    if value in ("me", "none"):
        return value
    if not 1 <= int(value) <= INT32_MAX:
        raise ValueError("not a person's id")
    return int(value)


Assignee = Annotated[str, Query(pattern=r"^(me|none|[0-9]{1,10})$", description="me, none, or a person's id"), AfterValidator(_assignee)]


def _filters(
    status: Annotated[list[Status] | None, Query()] = None,
    kind: Annotated[list[Kind] | None, Query()] = None,
    category_id: IdQuery | None = None,
    department_id: IdQuery | None = None,
    assignee: Assignee | None = None,
    overdue: bool = False,
    due_within_days: Annotated[int | None, Query(ge=0, le=366)] = None,
    q: TextQuery(200) | None = None,
) -> QueueFilters:
    return QueueFilters(
        status=status or [], kind=kind or [], category_id=category_id, department_id=department_id,
        assignee=assignee, overdue=overdue, due_within_days=due_within_days, q=q,
    )


FiltersDep = Annotated[QueueFilters, Depends(_filters)]
SortDep = Annotated[QueueOrder | None, Query(
    alias="sort",
    description="due (the default without a search), -registered (newest first), registered, or rank (best match "
                "first: the default with a search q; due without one)",
)]
Cursor = Annotated[TextQuery(200) | None, Query(description="next_cursor of the page before (of the same order)")]
Format = Annotated[Literal["csv", "xlsx"], Query()]


@router.get("/appeal-categories", response_model=list[CategoryOut])
async def list_categories(access: MemberDep, session: SessionDep) -> list[CategoryOut]:
    """The town's categories of appeals."""
    return [CategoryOut.model_validate(c) for c in await queries.categories(session, municipality_id=access.town.id)]


@router.get("/appeal-categories/{category_id}/answer-template", response_model=TemplateOut)
async def get_answer_template(category_id: IdPath, access: StaffDep, session: SessionDep) -> TemplateOut:
    """The Jinja2 template a category's answers start from, and the fields it may use."""
    cat = await queries.category(session, municipality_id=access.town.id, category_id=category_id)
    return TemplateOut(body=await service.answer_template(session, category=cat), fields=sorted(documents.TEMPLATE_FIELDS))


@router.put("/appeal-categories/{category_id}/answer-template", response_model=TemplateOut)
async def put_answer_template(
    category_id: IdPath, body: TemplateIn, access: ManagerDep, user: CurrentUser, session: SessionDep
) -> TemplateOut:
    """Set the category's answer template (department heads, the head, admins)."""
    cat = await queries.category(session, municipality_id=access.town.id, category_id=category_id)
    await service.set_answer_template(session, category=cat, actor=user, body=body.body)
    return TemplateOut(body=await service.answer_template(session, category=cat), fields=sorted(documents.TEMPLATE_FIELDS))


# -- categories as the town's administration edits them (the admin miniapp) ------------------
CategoriesDep = Annotated[TownAccess, Depends(can("appeals", "manage_categories"))]


def _category_admin(c: AppealCategory) -> CategoryAdminOut:
    return CategoryAdminOut(
        id=c.id, code=c.code, name=c.name, description=c.description, department_id=c.department_id, sort=c.sort,
        active=c.is_active, has_template=bool(c.answer_template),
    )


@router.get("/appeal-categories/all", response_model=list[CategoryAdminOut], responses=ERRORS)
async def list_all_categories(access: CategoriesDep, session: SessionDep) -> list[CategoryAdminOut]:
    """Every category of the town, archived ones too."""
    return [_category_admin(c) for c in await queries.categories(session, municipality_id=access.town.id, active_only=False)]


@router.post("/appeal-categories", response_model=CategoryAdminOut, status_code=201, responses=ERRORS)
async def create_category(body: CategoryIn, access: CategoriesDep, user: CurrentUser, session: SessionDep) -> CategoryAdminOut:
    """Add a category, routed to a department."""
    cat = await service.create_category(
        session, municipality_id=access.town.id, code=body.code, name=body.name, description=body.description,
        department_id=body.department_id, sort=body.sort, actor_id=user.id,
    )
    return _category_admin(cat)


@router.patch("/appeal-categories/{category_id}", response_model=CategoryAdminOut, responses=ERRORS)
async def patch_category(
    category_id: IdPath, body: CategoryPatch, access: CategoriesDep, user: CurrentUser, session: SessionDep
) -> CategoryAdminOut:
    """Change a category, archive it (no new appeals) or bring it back."""
    cat = await queries.category(session, municipality_id=access.town.id, category_id=category_id, include_archived=True)
    await service.update_category(session, category=cat, changes=body, actor_id=user.id)
    return _category_admin(cat)


@router.get("/appeals", response_model=QueuePage)
async def appeal_queue(
    clerk: ClerkDep, session: SessionDep, filters: FiltersDep, cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, order: SortDep = None,
) -> QueuePage:
    """The queue in the chosen order (due date by default, best match first with a search),
    filtered, one keyset page at a time."""
    now = utcnow()
    order = applied_order(order, filters.q)
    rows, next_cursor = await queries.queue(
        session, municipality_id=clerk.access.town.id, filters=filters, user_id=clerk.user_id, now=now, cursor=cursor,
        limit=limit, departments=clerk.departments, order=order,
    )
    items = await queries.list_items(session, appeals=rows, now=now, query=filters.q)
    return QueuePage(items=items, next_cursor=next_cursor, sort=order)


@router.get("/appeals/counts", response_model=StatusCounts)
async def appeal_counts(clerk: ClerkDep, session: SessionDep, filters: FiltersDep) -> StatusCounts:
    """How many appeals are in each status (under the other filters) and how many overdue."""
    counts, overdue = await queries.status_counts(
        session, municipality_id=clerk.access.town.id, filters=filters, user_id=clerk.user_id, departments=clerk.departments
    )
    return StatusCounts(counts=counts, overdue=overdue)


@router.get("/appeals/staff", response_model=list[StaffOut])
async def appeal_staff(access: StaffDep, session: SessionDep) -> list[StaffOut]:
    """Colleagues an appeal can be assigned to."""
    seen: dict[int, StaffOut] = {}
    for u, role in await queries.staff_of(session, town=access.town):
        seen.setdefault(u.id, StaffOut(id=u.id, name=u.full_name or u.display_name, roles=[])).roles.append(role)
    return list(seen.values())


def _export_name(town: Municipality, now: datetime, format: str) -> str:
    return f"appeals-{now.astimezone(policy_for(town).tz):%Y%m%d-%H%M}.{format}"


@router.get(
    "/appeals/export", response_class=Response,
    responses=file_response(writers.CSV, writers.XLSX, description="The filtered queue as a spreadsheet"),
)
async def export_queue(
    clerk: ClerkDep, session: SessionDep, filters: FiltersDep, format: Format = "csv", order: SortDep = None,
) -> Response:
    """The filtered queue as CSV or XLSX (up to 50,000 rows), safe to open in a spreadsheet."""
    town = clerk.access.town
    now = utcnow()
    header, rows = await queries.export_rows(
        session, town=town, filters=filters, user_id=clerk.user_id, now=now, departments=clerk.departments,
        order=applied_order(order, filters.q),
    )
    await audit.record(session, action="appeal.export", object_type="appeal_queue", actor_id=clerk.user_id,
                       municipality_id=town.id, after={"rows": len(rows), "format": format})
    if format == "csv":
        content, media_type = writers.csv_bytes(header, rows), f"{writers.CSV}; charset=utf-8"
    else:
        content, media_type = writers.xlsx_bytes(header, rows, sheet=_("Appeals")), writers.XLSX
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": writers.content_disposition(_export_name(town, now, format))})


@router.post("/appeals/export" + links.SUFFIX, response_model=DownloadLinkOut)
async def export_link(
    request: Request, clerk: ClerkDep, settings: SettingsDep, filters: FiltersDep, format: Format = "csv",
    order: SortDep = None,
) -> DownloadLinkOut:
    """A signed link to the same export (same filters, order and format) for a few minutes."""
    name = _export_name(clerk.access.town, utcnow(), format)
    return downloads.link(request, settings, user_id=clerk.user_id, filename=name)


async def _load(session: AsyncSession, clerk: Clerk, appeal_id: int) -> Appeal:
    return await queries.get(session, municipality_id=clerk.access.town.id, appeal_id=appeal_id, departments=clerk.departments)


async def _card(session: AsyncSession, clerk: Clerk, appeal: Appeal) -> AppealCard:
    return await queries.card(session, town=clerk.access.town, appeal=appeal, departments=clerk.departments)


async def _act(session: AsyncSession, clerk: Clerk, appeal_id: int, action: Callable[[Appeal], Awaitable[object]]) -> AppealCard:
    """Load the appeal the clerk may see, apply one service action to it, return the fresh card."""
    appeal = await _load(session, clerk, appeal_id)
    await action(appeal)
    return await _card(session, clerk, appeal)


@router.get("/appeals/{appeal_id}", response_model=AppealCard)
async def appeal_card(appeal_id: AppealId, clerk: ClerkDep, session: SessionDep) -> AppealCard:
    """Everything about one appeal: text, files, map, history, comments, duplicates, answers."""
    return await _card(session, clerk, await _load(session, clerk, appeal_id))


@router.post("/appeals/{appeal_id}/assign", response_model=AppealCard)
async def assign(appeal_id: AppealId, body: AssignIn, clerk: ClerkDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Take the appeal, or assign it to a colleague."""
    return await _act(session, clerk, appeal_id, lambda appeal: service.assign(session, appeal=appeal, actor=user, assignee_id=body.assignee_id))


@router.post("/appeals/{appeal_id}/status", response_model=AppealCard)
async def change_status(appeal_id: AppealId, body: StatusIn, clerk: ClerkDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Move to another status the 59-FZ rules allow."""
    return await _act(session, clerk, appeal_id, lambda appeal: service.set_status(session, appeal=appeal, actor=user, status=Status(body.status)))


@router.post("/appeals/{appeal_id}/comments", response_model=AppealCard)
async def add_comment(appeal_id: AppealId, body: TextIn, clerk: ClerkDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """An internal note."""
    return await _act(session, clerk, appeal_id, lambda appeal: service.add_note(session, appeal=appeal, actor=user, text=body.text))


@router.post("/appeals/{appeal_id}/request-info", response_model=AppealCard)
async def request_info(appeal_id: AppealId, body: TextIn, clerk: ClerkDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Ask the resident for more information in the chat."""
    return await _act(session, clerk, appeal_id, lambda appeal: service.request_info(session, appeal=appeal, actor=user, question=body.text))


@router.post("/appeals/{appeal_id}/redirect", response_model=AppealCard)
async def redirect(appeal_id: AppealId, body: RedirectIn, clerk: ClerkDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Redirect to the competent body (within 7 days of registration)."""
    return await _act(session, clerk, appeal_id, lambda appeal: service.redirect(session, appeal=appeal, actor=user, to=body.to))


@router.post("/appeals/{appeal_id}/extend", response_model=AppealCard)
async def extend(appeal_id: AppealId, body: ExtendIn, clerk: ClerkDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Extend the deadline once by up to 30 days."""
    return await _act(session, clerk, appeal_id, lambda appeal: service.extend(session, appeal=appeal, actor=user, days=body.days, reason=body.reason))


@router.post("/appeals/{appeal_id}/no-answer", response_model=AppealCard)
async def no_answer(appeal_id: AppealId, body: NoAnswerIn, clerk: ClerkDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Leave without an answer on a ground of 59-FZ art. 11."""
    return await _act(session, clerk, appeal_id, lambda appeal: service.mark_no_answer(session, appeal=appeal, actor=user, reason=body.reason))


@router.post("/appeals/{appeal_id}/merge", response_model=AppealCard)
async def merge(appeal_id: AppealId, body: MergeIn, clerk: ClerkDep, user: CurrentUser, session: SessionDep) -> AppealCard:
    """Merge this report into a duplicate of it."""
    appeal = await _load(session, clerk, appeal_id)
    into = await _load(session, clerk, body.into_id)
    await service.merge(session, appeal=appeal, into=into, actor=user)
    return await _card(session, clerk, appeal)


@router.get("/appeals/{appeal_id}/answer-draft", response_model=DraftOut)
async def answer_draft(appeal_id: AppealId, clerk: ClerkDep, user: CurrentUser, session: SessionDep) -> DraftOut:
    """The answer's text as last saved (saved_at), else its start from the category's template."""
    appeal = await _load(session, clerk, appeal_id)
    saved = await drafts.draft_of(session, appeal_id=appeal.id)
    if saved is not None:
        return DraftOut(body=saved.body, saved_at=saved.saved_at)
    return DraftOut(body=await service.draft_answer(session, appeal=appeal, actor=user))


@router.put("/appeals/{appeal_id}/answer-draft", response_model=DraftOut)
async def save_answer_draft(appeal_id: AppealId, body: DraftIn, clerk: ClerkDep, user: CurrentUser, session: SessionDep) -> DraftOut:
    """Keep the answer being written (one draft per appeal; the last save wins)."""
    appeal = await _load(session, clerk, appeal_id)
    saved = await drafts.save_draft(session, appeal=appeal, actor=user, body=body.body)
    return DraftOut(body=saved.body, saved_at=saved.saved_at)


@router.delete("/appeals/{appeal_id}/answer-draft", status_code=204, response_class=Response)
async def discard_answer_draft(appeal_id: AppealId, clerk: ClerkDep, session: SessionDep) -> Response:
    """Throw the saved draft away: the answer starts from the template again."""
    appeal = await _load(session, clerk, appeal_id)
    await drafts.discard_draft(session, appeal_id=appeal.id)
    return Response(status_code=204)


@router.post("/appeals/{appeal_id}/answer", response_model=AppealCard)
async def answer(
    appeal_id: AppealId, body: AnswerIn, clerk: ClerkDep, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> AppealCard:
    """Answer: a registered outgoing document, rendered to PDF and sent to the resident's chat."""
    appeal = await _load(session, clerk, appeal_id)
    await service.answer(
        session, appeal=appeal, actor=user, body=body.body, files_root=settings.files_dir, font=pdf.find_font(settings.PDF_FONT)
    )
    return await _card(session, clerk, appeal)


@router.post(
    "/appeals/{appeal_id}/forward-crime-report", response_model=AppealCard, responses=errors(401, 403, 404, 409, 422),
)
async def forward_crime_report(
    appeal_id: IdPath, body: CrimeReportIn, clerk: ClerkDep, user: CurrentUser, session: SessionDep
) -> AppealCard:
    """Forward an appeal left without an answer for want of a name or a reply address, which
    reports a crime, to the competent body (59-FZ art. 11 p. 1); 409 in any other case."""
    return await _act(session, clerk, appeal_id, lambda appeal: service.forward_crime_report(session, appeal=appeal, actor=user, to=body.to))
