"""What reads surveys: lists, one survey, results, exports, the Atlas' figures, a person's data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.components.manifest import Viewer
from backend.core.components.permissions import effective_roles
from backend.core.exports.writers import Cell
from backend.core.municipalities.models import Municipality
from backend.core.users.models import Membership
from backend.errors import NotFound
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.services.surveys import permissions, rules
from backend.services.surveys.models import Survey, SurveyResponse, SurveyVersion
from backend.services.surveys.rules import AudienceKind, Question
from backend.services.surveys.schemas import SurveyListItem, SurveyOut
from backend.services.surveys.service import accepting, audience_of, current_version, questions_of


async def get(session: AsyncSession, *, municipality_id: int, survey_id: int) -> Survey:
    """The town's survey; another town's is a 404."""
    survey = await session.get(Survey, survey_id)
    if survey is None or survey.municipality_id != municipality_id:
        raise NotFound(N_("Survey not found."))
    return survey


async def response_counts(session: AsyncSession, *, survey_ids: list[int]) -> dict[int, int]:
    if not survey_ids:
        return {}
    rows = await session.execute(
        select(SurveyResponse.survey_id, func.count()).where(SurveyResponse.survey_id.in_(survey_ids)).group_by(SurveyResponse.survey_id)
    )
    return {sid: n for sid, n in rows.all()}


def _item(survey: Survey, responses: int, now: datetime) -> dict[str, Any]:
    return {
        "id": survey.id, "title": survey.title, "anonymous": survey.anonymous, "status": survey.status,
        "accepting": accepting(survey, now), "opens_at": survey.opens_at, "closes_at": survey.closes_at,
        "responses": responses, "results_published": survey.results_published_at is not None,
    }


async def list_all(session: AsyncSession, *, municipality_id: int, now: datetime) -> list[SurveyListItem]:
    """Every survey of the town, newest first (the organizers' list)."""
    surveys = list(await session.scalars(select(Survey).where(Survey.municipality_id == municipality_id).order_by(Survey.id.desc()).limit(500)))
    counts = await response_counts(session, survey_ids=[s.id for s in surveys])
    return [SurveyListItem(**_item(s, counts.get(s.id, 0), now)) for s in surveys]


async def open_for(session: AsyncSession, *, municipality_id: int, roles: set[Any], now: datetime) -> list[Survey]:
    """The surveys a member with these roles may answer now, oldest first."""
    surveys = await session.scalars(
        select(Survey).where(Survey.municipality_id == municipality_id, Survey.status == "open").order_by(Survey.id).limit(100)
    )
    return [s for s in surveys if accepting(s, now) and audience_of(s).admits(roles)]


async def published(session: AsyncSession, *, municipality_id: int) -> list[Survey]:
    """Surveys whose results are published, newest first."""
    return list(await session.scalars(
        select(Survey).where(Survey.municipality_id == municipality_id, Survey.results_published_at.is_not(None))
        .order_by(Survey.results_published_at.desc()).limit(50)
    ))


async def detail(session: AsyncSession, *, survey: Survey, now: datetime) -> SurveyOut:
    """One survey as organizers edit it."""
    version = await current_version(session, survey=survey)
    counts = await response_counts(session, survey_ids=[survey.id])
    audience = audience_of(survey)
    return SurveyOut(
        **_item(survey, counts.get(survey.id, 0), now), description=survey.description, audience=audience,
        audience_resolved=audience.kind.resolved, version=version.number, locked=version.locked_at is not None,
        questions=questions_of(version),
    )


async def eligible(session: AsyncSession, *, survey: Survey) -> int | None:
    """How many people the audience holds (None where the platform cannot tell yet)."""
    audience = audience_of(survey)
    stmt = select(func.count(distinct(Membership.user_id))).where(Membership.municipality_id == survey.municipality_id)
    if audience.kind == AudienceKind.ROLES:
        stmt = stmt.where(Membership.role.in_([r.value for r in audience.roles]))
    elif not audience.kind.resolved:
        return None
    return int(await session.scalar(stmt) or 0)


async def _answers(session: AsyncSession, *, survey_id: int) -> list[tuple[SurveyResponse, int]]:
    rows = await session.execute(
        select(SurveyResponse, SurveyVersion.number).join(SurveyVersion, SurveyVersion.id == SurveyResponse.version_id)
        .where(SurveyResponse.survey_id == survey_id).order_by(SurveyResponse.id)
    )
    return [(r, n) for r, n in rows.all()]


async def results(session: AsyncSession, *, survey: Survey, text_limit: int = 500) -> list[rules.QuestionResult]:
    """Results per question of the current version, over every response (answers to a
    question are matched by its key across versions; options by their keys)."""
    questions = questions_of(await current_version(session, survey=survey))
    answers = [r.answers for r, _n in await _answers(session, survey_id=survey.id)]
    return rules.tally(questions, answers, text_limit=text_limit)


async def response_count(session: AsyncSession, *, survey_id: int) -> int:
    return (await response_counts(session, survey_ids=[survey_id])).get(survey_id, 0)


async def export_rows(session: AsyncSession, *, survey: Survey) -> tuple[list[str], list[list[Cell]]]:
    """One row per response: its number, version, date, and an answer per question (option
    labels; several choices joined). Identified surveys add the respondent's name."""
    questions = questions_of(await current_version(session, survey=survey))
    header = [_("No."), _("Version"), _("Date")]
    if not survey.anonymous:
        header.append(_("Respondent"))
    header += [q.text for q in questions]
    names: dict[int, str] = {}
    if not survey.anonymous:
        from backend.core.users import service as users  # noqa: PLC0415 - only identified exports need names

        ids = {r.user_id for r, _n in await _answers(session, survey_id=survey.id) if r.user_id}
        names = {u.id: (u.full_name or u.display_name) for u in await users.by_ids(session, user_ids=ids)}
    rows: list[list[Cell]] = []
    for i, (response, number) in enumerate(await _answers(session, survey_id=survey.id), start=1):
        row: list[Cell] = [i, number, response.submitted_at.date()]
        if not survey.anonymous:
            row.append(names.get(response.user_id or 0, ""))
        for q in questions:
            value = response.answers.get(q.key)
            if value is None:
                row.append(None)
            elif q.kind in (rules.QuestionKind.SCALE, rules.QuestionKind.NUMBER):
                row.append(value)
            else:
                row.append(rules.display(q, value) if q.kind != rules.QuestionKind.PHOTO else f"file:{value}")
        rows.append(row)
    return header, rows


async def my_answers(session: AsyncSession, *, survey: Survey, user_id: int) -> dict[str, Any]:
    """The person's earlier answers to an identified survey (nothing for anonymous ones)."""
    if survey.anonymous:
        return {}
    response = await session.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id, SurveyResponse.user_id == user_id))
    return dict(response.answers) if response is not None else {}


async def export_personal_data(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """/mydata: the person's answers to identified surveys (anonymous answers hold no person)."""
    rows = await session.execute(
        select(SurveyResponse, Survey).join(Survey, Survey.id == SurveyResponse.survey_id).where(SurveyResponse.user_id == user_id)
    )
    out = []
    for response, survey in rows.all():
        version = await session.get(SurveyVersion, response.version_id)
        questions: list[Question] = questions_of(version) if version is not None else []
        by_key = {q.key: q for q in questions}
        out.append({
            "survey": survey.title, "submitted_at": response.submitted_at.isoformat(),
            "answers": {by_key[k].text if k in by_key else k: (rules.display(by_key[k], v) if k in by_key else v) for k, v in response.answers.items()},
        })
    return out


async def may_see(session: AsyncSession, viewer: Viewer, response_id: int) -> bool:
    """Photos answered to a survey: those who may see its results, in its town."""
    row = await session.execute(
        select(Survey).join(SurveyResponse, SurveyResponse.survey_id == Survey.id).where(SurveyResponse.id == response_id)
    )
    survey = row.scalar_one_or_none()
    if survey is None or survey.municipality_id != viewer.municipality_id:
        return False
    town = await session.get(Municipality, survey.municipality_id)
    assert town is not None
    return bool(viewer.roles & effective_roles(town, permissions.SLUG, permissions.RESULTS))


async def stats(session: AsyncSession, municipality_id: int, now: datetime) -> dict[str, float | int]:
    """Figures for the Atlas: surveys run, respondents, the response rate of published
    surveys and, per published survey with enough respondents, one headline per question."""
    from backend.services.surveys.settings import of  # noqa: PLC0415

    town = await session.get(Municipality, municipality_id)
    minimum = of(town).atlas_min_respondents if town is not None else 5
    surveys = list(await session.scalars(select(Survey).where(Survey.municipality_id == municipality_id)))
    counts = await response_counts(session, survey_ids=[s.id for s in surveys])
    out: dict[str, float | int] = {
        "surveys": len(surveys),
        "surveys_open": sum(1 for s in surveys if accepting(s, now)),
        "respondents": sum(counts.values()),
    }
    members = int(await session.scalar(
        select(func.count(distinct(Membership.user_id))).where(Membership.municipality_id == municipality_id)
    ) or 0)
    published_ids = [s for s in surveys if s.results_published_at is not None]
    answered = sum(counts.get(s.id, 0) for s in published_ids)
    out["published"] = len(published_ids)
    if published_ids and members:
        out["response_rate"] = round(answered / (members * len(published_ids)), 4)
    for s in published_ids:
        if counts.get(s.id, 0) < minimum:
            continue
        for r in await results(session, survey=s, text_limit=0):
            figure = rules.headline(r)
            if figure is not None:
                out[f"survey_{s.id}.{r.key}"] = figure
    return out
