"""What changes surveys: building, versioning, opening and closing them, taking responses
(one a person; in anonymous mode with no link to the person), publishing results. Plain
async functions that flush and never commit."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import service as audit
from backend.core.files import service as files
from backend.core.files.models import StoredFile
from backend.core.notifications import service as outbox
from backend.core.privacy import service as privacy
from backend.core.users import service as users
from backend.core.users.models import User
from backend.db import utcnow
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.i18n import N_
from backend.services.surveys import rules, templates
from backend.services.surveys.models import Survey, SurveyResponse, SurveyVersion, SurveyVoter
from backend.services.surveys.notices import ResultsPublished
from backend.services.surveys.rules import Audience, Question
from backend.services.surveys.schemas import SurveyIn, SurveyPatch

FILE_OWNER = "survey_response"


def questions_of(version: SurveyVersion) -> list[Question]:
    """The version's questions as models."""
    return [Question.model_validate(q) for q in version.questions]


def audience_of(survey: Survey) -> Audience:
    return Audience.model_validate(survey.audience or {})


def accepting(survey: Survey, now: datetime) -> bool:
    """Whether the survey takes answers at `now`: open, and within its times if it has them."""
    if survey.status != "open":
        return False
    if survey.opens_at is not None and now < survey.opens_at:
        return False
    return survey.closes_at is None or now < survey.closes_at


def _check_times(opens_at: datetime | None, closes_at: datetime | None) -> None:
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise Invalid(N_("The survey must close after it opens."))


async def current_version(session: AsyncSession, *, survey: Survey) -> SurveyVersion:
    """The edition of the questions new responses answer."""
    version = await session.get(SurveyVersion, survey.current_version_id) if survey.current_version_id else None
    assert version is not None, "every survey has a version"
    return version


async def create(session: AsyncSession, *, municipality_id: int, actor_id: int | None, data: SurveyIn, template: str | None = None) -> Survey:
    """A new survey in draft, with its first version of questions."""
    _check_times(data.opens_at, data.closes_at)
    rules.check_questions(data.questions)
    survey = Survey(
        municipality_id=municipality_id, title=data.title.strip(), description=data.description.strip(), anonymous=data.anonymous,
        opens_at=data.opens_at, closes_at=data.closes_at, audience=data.audience.model_dump(mode="json"), created_by=actor_id,
        template=template, status="draft",
    )
    session.add(survey)
    await session.flush()
    version = SurveyVersion(survey_id=survey.id, number=1, questions=[q.model_dump(mode="json") for q in data.questions])
    session.add(version)
    await session.flush()
    survey.current_version_id = version.id
    await audit.record(session, action="survey.create", object_type="survey", object_id=survey.id, actor_id=actor_id,
                       municipality_id=municipality_id, after={"title": survey.title, "anonymous": survey.anonymous})
    await session.flush()
    return survey


async def from_template(session: AsyncSession, *, municipality_id: int, actor_id: int | None, code: str = "maturity_audit") -> Survey:
    """A survey made from a template in one action (the maturity audit's resident survey)."""
    return await create(session, municipality_id=municipality_id, actor_id=actor_id, data=templates.build(code), template=code)


async def _has_responses(session: AsyncSession, *, survey_id: int) -> bool:
    return await session.scalar(select(SurveyResponse.id).where(SurveyResponse.survey_id == survey_id).limit(1)) is not None


async def update(session: AsyncSession, *, survey: Survey, actor_id: int, changes: SurveyPatch) -> Survey:
    """Change the title, description, times, audience or mode. The mode is fixed once
    anyone has answered: what respondents were told must stay true."""
    values = changes.model_dump(exclude_unset=True)
    if "anonymous" in values and values["anonymous"] is not None and values["anonymous"] != survey.anonymous:
        if await _has_responses(session, survey_id=survey.id):
            raise Conflict(N_("People have answered already: the survey cannot switch between anonymous and identified."))
        survey.anonymous = values["anonymous"]
    for name in ("title", "description"):
        if values.get(name) is not None:
            setattr(survey, name, values[name].strip())
    if "opens_at" in values:
        survey.opens_at = values["opens_at"]
    if "closes_at" in values:
        survey.closes_at = values["closes_at"]
    _check_times(survey.opens_at, survey.closes_at)
    if changes.audience is not None:
        survey.audience = changes.audience.model_dump(mode="json")
    await audit.record(session, action="survey.update", object_type="survey", object_id=survey.id, actor_id=actor_id,
                       municipality_id=survey.municipality_id, after=changes.model_dump(mode="json", exclude_unset=True))
    await session.flush()
    return survey


async def set_questions(session: AsyncSession, *, survey: Survey, actor_id: int, questions: list[Question]) -> SurveyVersion:
    """Replace the questions. Once the current version has answers it is locked, and the new
    questions become a new version; earlier responses keep reading against theirs."""
    if survey.status == "closed":
        raise Conflict(N_("The survey is closed: its questions cannot change."))
    rules.check_questions(questions)
    version = await current_version(session, survey=survey)
    payload = [q.model_dump(mode="json") for q in questions]
    if version.locked_at is not None:
        version = SurveyVersion(survey_id=survey.id, number=version.number + 1, questions=payload)
        session.add(version)
        await session.flush()
        survey.current_version_id = version.id
    else:
        version.questions = payload
    await audit.record(session, action="survey.questions", object_type="survey", object_id=survey.id, actor_id=actor_id,
                       municipality_id=survey.municipality_id, after={"version": version.number, "questions": len(questions)})
    await session.flush()
    return version


async def open_(session: AsyncSession, *, survey: Survey, actor_id: int) -> Survey:
    """Start taking answers (from `opens_at`, if set)."""
    version = await current_version(session, survey=survey)
    if not version.questions:
        raise Conflict(N_("Add at least one question before opening the survey."))
    if survey.closes_at is not None and survey.closes_at <= utcnow():
        raise Conflict(N_("The closing time has passed: change it before opening the survey."))
    survey.status = "open"
    await audit.record(session, action="survey.open", object_type="survey", object_id=survey.id, actor_id=actor_id,
                       municipality_id=survey.municipality_id)
    await session.flush()
    return survey


async def close(session: AsyncSession, *, survey: Survey, actor_id: int, now: datetime | None = None) -> Survey:
    """Stop taking answers now."""
    if survey.status != "open":
        raise Conflict(N_("Only an open survey can be closed."))
    survey.status = "closed"
    now = now or utcnow()
    if survey.closes_at is None or survey.closes_at > now:
        survey.closes_at = now
    await audit.record(session, action="survey.close", object_type="survey", object_id=survey.id, actor_id=actor_id,
                       municipality_id=survey.municipality_id)
    await session.flush()
    return survey


async def close_due(session: AsyncSession, *, now: datetime) -> int:
    """Close the open surveys whose closing time has come (the scheduler's job)."""
    due = list(await session.scalars(select(Survey).where(Survey.status == "open", Survey.closes_at.is_not(None), Survey.closes_at <= now)))
    for survey in due:
        survey.status = "closed"
    await session.flush()
    return len(due)


# --- responses ----------------------------------------------------------------------------------


def _day(now: datetime) -> datetime:
    # Anonymous responses keep only the day: an exact time could be matched against the
    # moment a person was seen using the bot.
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def save_photo(
    session: AsyncSession, *, survey: Survey, user: User, data: bytes, filename: str, mime: str, files_root: Any
) -> StoredFile:
    """Store a photo answer before the response is sent; in anonymous surveys the file row
    does not say who uploaded it."""
    if not mime.startswith("image/"):
        raise Invalid(N_("Send a photo."))
    stored = await files.save(
        session, root=files_root, municipality_id=survey.municipality_id, data=data, filename=filename, mime=mime,
        owner_type=FILE_OWNER, created_by=None if survey.anonymous else user.id,
    )
    if survey.anonymous:
        stored.created_at = _day(stored.created_at)
        await session.flush()
    return stored


async def _check_photos(
    session: AsyncSession, *, survey: Survey, user: User, questions: list[Question], answers: dict[str, Any], earlier: int | None
) -> list[int]:
    """The photo answers' files: uploaded for this survey's town by this person (anonymous
    ones name nobody), not yet an answer, or already one of `earlier` (the response replaced)."""
    ids = [answers[q.key] for q in questions if q.kind == rules.QuestionKind.PHOTO and q.key in answers]
    for file_id in ids:
        stored = await session.get(StoredFile, file_id)
        ok = (
            stored is not None and stored.owner_type == FILE_OWNER and stored.owner_id in (None, earlier)
            and stored.municipality_id == survey.municipality_id
            and stored.created_by == (None if survey.anonymous else user.id)
        )
        if not ok:
            raise Invalid(N_("Send a photo."))
    return ids


async def _drop_photos(session: AsyncSession, *, response: SurveyResponse, keep: list[int]) -> None:
    """Photos a replaced response no longer gives: unowned, so the files' orphan job removes them."""
    answered = await session.get(SurveyVersion, response.version_id)
    dropped = set(_photo_ids(questions_of(answered) if answered else [], response.answers)) - set(keep)
    if dropped:
        await session.execute(sql_update(StoredFile).where(StoredFile.id.in_(dropped)).values(owner_id=None))


def _photo_ids(questions: list[Question], answers: dict[str, Any]) -> list[int]:
    kinds = {q.key: q.kind for q in questions}
    return [v for k, v in answers.items() if kinds.get(k) == rules.QuestionKind.PHOTO and isinstance(v, int)]


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def issue_edit_key(session: AsyncSession, *, response: SurveyResponse) -> str:
    """A new key to change an anonymous response; only its hash is kept. The caller hands it
    to the respondent alone (the bot: in a button under its thank-you)."""
    key = secrets.token_urlsafe(16)
    response.edit_key = _key_hash(key)
    await session.flush()
    return key


async def by_edit_key(session: AsyncSession, *, survey: Survey, key: str) -> SurveyResponse:
    """The anonymous response a key opens; NotFound when it opens none of this survey's."""
    response = await session.scalar(select(SurveyResponse).where(SurveyResponse.edit_key == _key_hash(key)))
    if response is None or response.survey_id != survey.id:
        raise NotFound(N_("This button no longer opens your answers."))
    return response


async def submit(
    session: AsyncSession, *, survey: Survey, user: User, answers: dict[str, Any], secret: bytes, source: str = "bot",
    consent: bool = False, edit_key: str | None = None, now: datetime | None = None,
) -> tuple[SurveyResponse, bool]:
    """Take a person's response; returns it and whether it replaced their earlier one.

    Identified: one row per person, replaced while the survey is open; needs consent to the
    personal-data policy (152-FZ), given now (`consent`) or before. Anonymous: the row has
    no person; a keyed hash of the person in `survey_voter` refuses a second response, and
    the response is replaced only with its `edit_key`."""
    now = now or utcnow()
    if not accepting(survey, now):
        raise Conflict(N_("This survey is not accepting answers now."))
    roles = await users.roles_in(session, user_id=user.id, municipality_id=survey.municipality_id)
    if not audience_of(survey).admits(roles):
        raise Forbidden(N_("This survey is meant for other participants."))
    version = await current_version(session, survey=survey)
    questions = questions_of(version)
    clean = rules.check_answers(questions, answers)
    if survey.anonymous:
        response = await by_edit_key(session, survey=survey, key=edit_key) if edit_key is not None else None
    else:
        response = await session.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id, SurveyResponse.user_id == user.id))
    photos = await _check_photos(
        session, survey=survey, user=user, questions=questions, answers=clean, earlier=response.id if response is not None else None
    )
    replaced = False
    if survey.anonymous and response is not None:
        replaced = True
        await _drop_photos(session, response=response, keep=photos)
        response.answers, response.version_id, response.source, response.submitted_at = clean, version.id, source, _day(now)
    elif survey.anonymous:
        digest = rules.voter_digest(secret, survey_id=survey.id, user_id=user.id)
        if await session.get(SurveyVoter, (survey.id, digest)) is not None:
            raise Conflict(N_("You have already answered this anonymous survey. Nothing links the answers to you: only the button under the bot's thank-you opens them for a change."))
        try:
            async with session.begin_nested():
                session.add(SurveyVoter(survey_id=survey.id, digest=digest))
                await session.flush()
        except IntegrityError:  # the same person, at the same moment, from another device
            raise Conflict(N_("You have already answered this anonymous survey. Nothing links the answers to you: only the button under the bot's thank-you opens them for a change.")) from None
        response = SurveyResponse(survey_id=survey.id, version_id=version.id, user_id=None, answers=clean, source=source, submitted_at=_day(now))
        session.add(response)
    else:
        if consent:
            await privacy.give_consent(session, user_id=user.id, channel=source)
        await privacy.ensure_consent(session, user_id=user.id)
        if response is None:
            response = SurveyResponse(survey_id=survey.id, version_id=version.id, user_id=user.id, answers=clean, source=source, submitted_at=now)
            session.add(response)
        else:
            replaced = True
            await _drop_photos(session, response=response, keep=photos)
            response.answers, response.version_id, response.source, response.submitted_at = clean, version.id, source, now
    if version.locked_at is None:
        version.locked_at = now
    await session.flush()
    if photos:
        await files.attach(session, file_ids=photos, owner_type=FILE_OWNER, owner_id=response.id)
    return response, replaced


async def has_answered(session: AsyncSession, *, survey: Survey, user_id: int, secret: bytes) -> bool:
    """Whether the person has a response (identified) or their hash is recorded (anonymous)."""
    if survey.anonymous:
        digest = rules.voter_digest(secret, survey_id=survey.id, user_id=user_id)
        return await session.get(SurveyVoter, (survey.id, digest)) is not None
    return await session.scalar(
        select(SurveyResponse.id).where(SurveyResponse.survey_id == survey.id, SurveyResponse.user_id == user_id)
    ) is not None


# --- results ----------------------------------------------------------------------------------


def summary_text(results: list[rules.QuestionResult]) -> str:
    """The results as chat text: each question with its leading figures (numbers only, so
    it reads the same in any language)."""
    lines: list[str] = []
    for r in results:
        if r.kind == rules.QuestionKind.TEXT or r.kind == rules.QuestionKind.PHOTO or not r.answered:
            continue
        lines.append(f"▪️ {r.text}")
        if r.options:
            for o in sorted(r.options, key=lambda o: -o.count)[:5]:
                lines.append(f"   {o.label} — {round(100 * o.share)}% ({o.count})")
        elif r.mean is not None:
            lines.append(f"   ⌀ {r.mean} · {r.answered}")
    return "\n".join(lines)[:3000]


async def publish(session: AsyncSession, *, survey: Survey, actor_id: int, results: list[rules.QuestionResult], now: datetime | None = None) -> int:
    """Publish the results: each identified respondent gets them in chat (through the outbox,
    after commit). Anonymous respondents cannot be told: nothing links them to their answers.
    Returns how many people are notified."""
    if survey.status != "closed":
        raise Conflict(N_("Close the survey before publishing its results."))
    if survey.results_published_at is not None:
        raise Conflict(N_("The results are already published."))
    survey.results_published_at = now or utcnow()
    notified = 0
    if not survey.anonymous:
        notice = ResultsPublished(survey_id=survey.id, title=survey.title, summary=summary_text(results))
        user_ids = await session.scalars(select(SurveyResponse.user_id).where(SurveyResponse.survey_id == survey.id, SurveyResponse.user_id.is_not(None)))
        for user_id in user_ids:
            assert user_id is not None
            await outbox.enqueue(session, user_id=user_id, notice=notice, municipality_id=survey.municipality_id)
            notified += 1
    await audit.record(session, action="survey.publish", object_type="survey", object_id=survey.id, actor_id=actor_id,
                       municipality_id=survey.municipality_id, after={"notified": notified})
    await session.flush()
    return notified


async def erase_personal_data(session: AsyncSession, user_id: int) -> None:
    """/forget: delete the person's identified responses and their photos' links (anonymous
    responses hold nothing of theirs; the keyed hashes cannot be told apart without the secret)."""
    ids = list(await session.scalars(select(SurveyResponse.id).where(SurveyResponse.user_id == user_id)))
    if ids:
        # Unowned files are removed, bytes and all, by the files' orphan job.
        await session.execute(sql_update(StoredFile).where(StoredFile.owner_type == FILE_OWNER, StoredFile.owner_id.in_(ids)).values(owner_id=None))
        await session.execute(delete(SurveyResponse).where(SurveyResponse.id.in_(ids)))
    await session.flush()


def voter_secret(signing_token: str) -> bytes:
    """The key of anonymous voters' hashes, derived from the bot's token (the server's one
    secret): every replica computes the same, and nobody without the token can test whether
    a given person has answered."""
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415

    return hmac.new(signing_token.encode(), b"glocal-surveys-voters", hashlib.sha256).digest()
