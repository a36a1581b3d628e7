"""Surveys over HTTP: organizers build, open, close and read them (results as JSON, SVG
charts, CSV/XLSX); residents read the survey and answer it from the miniapp. Routes parse,
call `queries` or `service`, and return; who may do what is the manifest's actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import service as audit
from backend.core.downloads import api as downloads
from backend.core.downloads import service as links
from backend.core.downloads.schemas import DownloadLinkOut
from backend.core.exports import writers
from backend.core.users import service as users
from backend.db import utcnow
from backend.deps import CurrentUser, SessionDep, SettingsDep, TownAccess, can
from backend.errors import NotFound
from backend.fields import IdPath
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.openapi import ERRORS, file_response
from backend.services.surveys import charts, queries, service
from backend.services.surveys.models import Survey
from backend.services.surveys.rules import Key
from backend.services.surveys.schemas import (
    FormOut,
    QuestionsIn,
    ResponseIn,
    ResponseOut,
    ResultsOut,
    SurveyIn,
    SurveyListItem,
    SurveyOut,
    SurveyPatch,
    TemplateIn,
)
from backend.services.surveys.settings import of as settings_of

router = APIRouter(prefix="/api/v1/municipalities/{municipality_id}", tags=["surveys"], responses=ERRORS)
ManageDep = Annotated[TownAccess, Depends(can("surveys", "manage"))]
ResultsDep = Annotated[TownAccess, Depends(can("surveys", "results"))]
PublishDep = Annotated[TownAccess, Depends(can("surveys", "publish"))]
AnswerDep = Annotated[TownAccess, Depends(can("surveys", "answer"))]
SurveyId = IdPath
Format = Annotated[Literal["csv", "xlsx"], Query()]
SVG = "image/svg+xml"


async def _survey(session: AsyncSession, access: TownAccess, survey_id: int) -> Survey:
    return await queries.get(session, municipality_id=access.town.id, survey_id=survey_id)


# --- organizers -----------------------------------------------------------------------------------


@router.get("/surveys", response_model=list[SurveyListItem])
async def list_surveys(access: ManageDep, session: SessionDep) -> list[SurveyListItem]:
    """Every survey of the town, newest first, with its status and number of responses."""
    return await queries.list_all(session, municipality_id=access.town.id, now=utcnow())


@router.post("/surveys", response_model=SurveyOut, status_code=201)
async def create_survey(body: SurveyIn, access: ManageDep, user: CurrentUser, session: SessionDep) -> SurveyOut:
    """A new survey, in draft, with its questions."""
    survey = await service.create(session, municipality_id=access.town.id, actor_id=user.id, data=body)
    return await queries.detail(session, survey=survey, now=utcnow())


@router.post("/surveys/from-template", response_model=SurveyOut, status_code=201)
async def create_from_template(body: TemplateIn, access: ManageDep, user: CurrentUser, session: SessionDep) -> SurveyOut:
    """A new survey from a template (the maturity audit's resident survey), in draft."""
    survey = await service.from_template(session, municipality_id=access.town.id, actor_id=user.id, code=body.template)
    return await queries.detail(session, survey=survey, now=utcnow())


@router.get("/surveys/{survey_id}", response_model=SurveyOut)
async def get_survey(survey_id: SurveyId, access: ManageDep, session: SessionDep) -> SurveyOut:
    """One survey with its current questions."""
    return await queries.detail(session, survey=await _survey(session, access, survey_id), now=utcnow())


@router.patch("/surveys/{survey_id}", response_model=SurveyOut)
async def patch_survey(survey_id: SurveyId, body: SurveyPatch, access: ManageDep, user: CurrentUser, session: SessionDep) -> SurveyOut:
    """Change the title, description, times, audience, or (before any answer) the mode."""
    survey = await service.update(session, survey=await _survey(session, access, survey_id), actor_id=user.id, changes=body)
    return await queries.detail(session, survey=survey, now=utcnow())


@router.put("/surveys/{survey_id}/questions", response_model=SurveyOut)
async def put_questions(survey_id: SurveyId, body: QuestionsIn, access: ManageDep, user: CurrentUser, session: SessionDep) -> SurveyOut:
    """Replace the questions; once answered, that makes a new version (409 when closed)."""
    survey = await _survey(session, access, survey_id)
    await service.set_questions(session, survey=survey, actor_id=user.id, questions=body.questions)
    return await queries.detail(session, survey=survey, now=utcnow())


@router.post("/surveys/{survey_id}/open", response_model=SurveyOut)
async def open_survey(survey_id: SurveyId, access: ManageDep, user: CurrentUser, session: SessionDep) -> SurveyOut:
    """Start taking answers (from its opening time, if set)."""
    survey = await service.open_(session, survey=await _survey(session, access, survey_id), actor_id=user.id)
    return await queries.detail(session, survey=survey, now=utcnow())


@router.post("/surveys/{survey_id}/close", response_model=SurveyOut)
async def close_survey(survey_id: SurveyId, access: ManageDep, user: CurrentUser, session: SessionDep) -> SurveyOut:
    """Stop taking answers now."""
    survey = await service.close(session, survey=await _survey(session, access, survey_id), actor_id=user.id)
    return await queries.detail(session, survey=survey, now=utcnow())


@router.post("/surveys/{survey_id}/publish", response_model=SurveyOut)
async def publish_results(survey_id: SurveyId, access: PublishDep, user: CurrentUser, session: SessionDep) -> SurveyOut:
    """Publish a closed survey's results: identified respondents get them in chat; anonymous
    respondents cannot be reached (nothing links them to their answers)."""
    survey = await _survey(session, access, survey_id)
    await service.publish(session, survey=survey, actor_id=user.id, results=await queries.results(session, survey=survey))
    return await queries.detail(session, survey=survey, now=utcnow())


@router.get("/surveys/{survey_id}/results", response_model=ResultsOut)
async def survey_results(survey_id: SurveyId, access: ResultsDep, session: SessionDep) -> ResultsOut:
    """Counts per option (each option chosen counts once), distributions of marks, numbers
    and dates, text answers."""
    survey = await _survey(session, access, survey_id)
    limit = settings_of(access.town).text_answers_shown
    return ResultsOut(
        survey_id=survey.id, responses=await queries.response_count(session, survey_id=survey.id),
        eligible=await queries.eligible(session, survey=survey), questions=await queries.results(session, survey=survey, text_limit=limit),
    )


@router.get(
    "/surveys/{survey_id}/charts/{question_key}", response_class=Response,
    responses=file_response(SVG, description="The question's results as a bar chart"),
)
async def question_chart(survey_id: SurveyId, question_key: Annotated[Key, Path()], access: ResultsDep, session: SessionDep) -> Response:
    """One question's results as an SVG bar chart drawn on the server."""
    survey = await _survey(session, access, survey_id)
    for result in await queries.results(session, survey=survey, text_limit=0):
        if result.key == question_key:
            return Response(charts.question_svg(result), media_type=SVG, headers={"Cache-Control": "no-store"})
    raise NotFound(N_("There is no such question in this survey."))


def _export_name(survey: Survey, now: datetime, format: str) -> str:
    return f"survey-{survey.id}-{now:%Y%m%d-%H%M}.{format}"


@router.get(
    "/surveys/{survey_id}/export", response_class=Response,
    responses=file_response(writers.CSV, writers.XLSX, description="Every response as a spreadsheet row"),
)
async def export_responses(survey_id: SurveyId, access: ResultsDep, user: CurrentUser, session: SessionDep, format: Format = "csv") -> Response:
    """Every response as CSV or XLSX, safe to open in a spreadsheet."""
    survey = await _survey(session, access, survey_id)
    header, rows = await queries.export_rows(session, survey=survey)
    await audit.record(session, action="survey.export", object_type="survey", object_id=survey.id, actor_id=user.id,
                       municipality_id=access.town.id, after={"rows": len(rows), "format": format})
    if format == "csv":
        content, media_type = writers.csv_bytes(header, rows), f"{writers.CSV}; charset=utf-8"
    else:
        content, media_type = writers.xlsx_bytes(header, rows, sheet=survey.title or _("Survey")), writers.XLSX
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": writers.content_disposition(_export_name(survey, utcnow(), format))})


@router.post("/surveys/{survey_id}/export" + links.SUFFIX, response_model=DownloadLinkOut)
async def export_link(
    request: Request, survey_id: SurveyId, access: ResultsDep, user: CurrentUser, settings: SettingsDep, session: SessionDep,
    format: Format = "csv",
) -> DownloadLinkOut:
    """A signed link to the same export for a few minutes (for WebApp.downloadFile)."""
    survey = await _survey(session, access, survey_id)
    return downloads.link(request, settings, user_id=user.id, filename=_export_name(survey, utcnow(), format))


# --- residents ------------------------------------------------------------------------------------


@router.get("/surveys-open", response_model=list[SurveyListItem])
async def open_surveys(access: AnswerDep, user: CurrentUser, session: SessionDep) -> list[SurveyListItem]:
    """The surveys the person may answer now."""
    now = utcnow()
    roles = await users.roles_in(session, user_id=user.id, municipality_id=access.town.id)
    surveys = await queries.open_for(session, municipality_id=access.town.id, roles=roles, now=now)
    counts = await queries.response_counts(session, survey_ids=[s.id for s in surveys])
    return [SurveyListItem(**queries._item(s, counts.get(s.id, 0), now)) for s in surveys]


async def _answerable(session: AsyncSession, access: TownAccess, survey_id: int) -> Survey:
    survey = await _survey(session, access, survey_id)
    if survey.status == "draft":  # drafts are the organizers' business
        raise NotFound(N_("Survey not found."))
    return survey


@router.get("/surveys/{survey_id}/form", response_model=FormOut)
async def survey_form(survey_id: SurveyId, access: AnswerDep, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> FormOut:
    """The survey as the person answers it, with their earlier answers where identified."""
    survey = await _answerable(session, access, survey_id)
    secret = service.voter_secret(settings.signing_token)
    answered = await service.has_answered(session, survey=survey, user_id=user.id, secret=secret)
    version = await service.current_version(session, survey=survey)
    return FormOut(
        id=survey.id, title=survey.title, description=survey.description, anonymous=survey.anonymous,
        accepting=service.accepting(survey, utcnow()), questions=service.questions_of(version), answered=answered,
        can_change=not survey.anonymous, answers=await queries.my_answers(session, survey=survey, user_id=user.id),
    )


@router.post("/surveys/{survey_id}/response", response_model=ResponseOut)
async def submit_response(
    survey_id: SurveyId, body: ResponseIn, access: AnswerDep, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ResponseOut:
    """Answer the survey (identified: replaces the earlier answers while it is open)."""
    survey = await _answerable(session, access, survey_id)
    _response, replaced = await service.submit(
        session, survey=survey, user=user, answers=dict(body.answers), secret=service.voter_secret(settings.signing_token),
        source="miniapp", consent=body.consent,
    )
    return ResponseOut(survey_id=survey.id, answered=True, replaced=replaced)
