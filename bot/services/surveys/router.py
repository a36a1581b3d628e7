"""Residents answer surveys in the chat: `/surveys` lists the open ones of their town, a deep
link (`t.me/<bot>?start=srv_<id>`) opens one; then one question a message (buttons for
choices and marks, a reply for numbers, dates, text and photos), a progress line, Skip where
optional, Back, conditional questions left out when their condition fails, a summary, Send.

The answers live in the dialog state (in the update's own transaction) until Send: a wrong
answer gets a message that says what fits and changes nothing. Handlers parse, call the
surveys service and render; texts are in `dialog.py`.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.files import service as files
from backend.core.municipalities.models import Municipality
from backend.core.privacy import service as privacy
from backend.core.users import service as users
from backend.core.users.models import User
from backend.db import utcnow
from backend.errors import Invalid, NotFound
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.runtime import Runtime
from backend.services.surveys import permissions, queries, rules
from backend.services.surveys import service as surveys
from backend.services.surveys.models import Survey, SurveyVersion
from backend.services.surveys.rules import Question, QuestionKind
from backend.settings import Settings
from bot import keyboards as core_keyboards
from bot import steps
from bot.callbacks import PrivacyCB
from bot.routers import from_menu
from bot.services.surveys import dialog, keyboards
from bot.services.surveys.callbacks import (
    SurveyChangeCB,
    SurveyEditCB,
    SurveyMenuCB,
    SurveyOpenCB,
    SurveyOptionCB,
    SurveyResultsCB,
    SurveyStepCB,
)
from bot.services.surveys.dialog import SurveyForm

DEEP_LINK = r"^srv_([0-9]{1,10})$"


# --- helpers ------------------------------------------------------------------------------------


async def _close(query: CallbackQuery) -> Message:
    """Answer the press and take the keyboard off its message, so it is not pressed twice."""
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_reply_markup(reply_markup=None)
    return query.message


async def _loaded(session: AsyncSession, state: FSMContext) -> tuple[Survey, list[Question], dict[str, Any]]:
    data = await state.get_data()
    survey = await session.get(Survey, data["survey_id"])
    version = await session.get(SurveyVersion, data["version_id"])
    if survey is None or version is None:
        await state.clear()
        raise NotFound(N_("This survey is no longer available."))
    return survey, surveys.questions_of(version), data


async def _answerable(session: AsyncSession, user: User, survey_id: int) -> Survey:
    """A survey the person may open now: open, in a town of theirs, meant for them."""
    survey = await session.get(Survey, survey_id)
    roles = await users.roles_in(session, user_id=user.id, municipality_id=survey.municipality_id) if survey else set()
    if survey is None or survey.status == "draft" or not roles:
        raise NotFound(N_("This survey is not available."))
    if not surveys.accepting(survey, utcnow()):
        raise Invalid(N_("This survey is not accepting answers now."))
    if not surveys.audience_of(survey).admits(roles):
        raise Invalid(N_("This survey is meant for other participants."))
    return survey


# --- the list and the start -----------------------------------------------------------------------


async def surveys_cmd(message: Message, session: AsyncSession, user: User, settings: Settings) -> None:
    """The open surveys of the person's town, and the published results."""
    town = await users.current_town(session, user=user)
    if town is None:
        await message.answer(_("Please choose your town first: /start"))
        return
    roles = await users.roles_in(session, user_id=user.id, municipality_id=town.id)
    open_ = await queries.open_for(session, municipality_id=town.id, roles=roles, now=utcnow())
    secret = surveys.voter_secret(settings.signing_token)
    listed = [(s.id, s.title, await surveys.has_answered(session, survey=s, user_id=user.id, secret=secret)) for s in open_]
    published = [(s.id, s.title) for s in await queries.published(session, municipality_id=town.id)][:10]
    if not listed and not published:
        await message.answer(_("No surveys are open in {town} right now.").format(town=town.name))
        return
    text = _("Surveys of {town}: choose one to answer.").format(town=town.name) if listed else _("No surveys are open in {town} right now.").format(town=town.name)
    if published:
        text += "\n\n" + _("📈 Published results are below the surveys.")
    url = f"{settings.miniapp_base}/surveys/?town={town.id}" if settings.miniapp_base else None
    await message.answer(text, reply_markup=keyboards.survey_list(listed, published, url))


async def _intro(message: Message, state: FSMContext, session: AsyncSession, user: User, settings: Settings, survey: Survey) -> None:
    version = await surveys.current_version(session, survey=survey)
    questions = surveys.questions_of(version)
    answered = await surveys.has_answered(session, survey=survey, user_id=user.id, secret=surveys.voter_secret(settings.signing_token))
    if answered and survey.anonymous:
        await message.answer(_(
            "You have already answered «{title}». Thank you! To change your answers, press “Change my answers” "
            "under the bot's thank-you message."
        ).format(title=survey.title))
        return
    earlier = await queries.my_answers(session, survey=survey, user_id=user.id)
    await state.set_state(SurveyForm.intro)
    await state.set_data({"survey_id": survey.id, "version_id": version.id, "title": survey.title, "answers": earlier, "seen": [], "index": -1})
    lines = [f"📊 {survey.title}"]
    if survey.description:
        lines += ["", survey.description]
    lines += ["", _("Questions: {n}.").format(n=len(rules.visible(questions, earlier)) or len(questions)), "", dialog.mode_notice(survey.anonymous)]
    if answered:
        lines += ["", _("You answered this survey before: going through it again replaces your answers.")]
    await message.answer("\n".join(lines), reply_markup=keyboards.intro())


async def open_survey(
    query: CallbackQuery, callback_data: SurveyOpenCB, state: FSMContext, session: AsyncSession, user: User, settings: Settings
) -> None:
    """A survey chosen from the list."""
    survey = await _answerable(session, user, callback_data.survey_id)
    message = await _close(query)
    await _intro(message, state, session, user, settings, survey)


async def deep_link(
    message: Message, command: CommandObject, state: FSMContext, session: AsyncSession, user: User, settings: Settings, runtime: Runtime
) -> None:
    """`/start srv_<id>`: the survey's town becomes the person's, then the survey opens."""
    assert command.args is not None
    survey = await session.get(Survey, int(command.args.removeprefix("srv_")))
    if survey is None or survey.status == "draft":
        await message.answer(_("This survey is not available."))
        return
    town = await session.get(Municipality, survey.municipality_id)
    if town is None or not town.is_active or not runtime.registry.is_on(permissions.SLUG, town):
        await message.answer(_("This survey is not available."))
        return
    await users.join_town(session, user=user, municipality_id=town.id)
    await _intro(message, state, session, user, settings, await _answerable(session, user, survey.id))


async def begin(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User) -> None:
    """Identified surveys ask consent first (152-FZ); then the first question."""
    survey, questions, data = await _loaded(session, state)
    message = await _close(query)
    if not survey.anonymous and await privacy.active_consent(session, user_id=user.id) is None:
        await state.set_state(SurveyForm.consent)
        await message.answer(
            privacy.policy_text() + "\n\n" + _("Your answers to this survey will be stored with your name: to take them, we need your consent."),
            reply_markup=core_keyboards.privacy(False),
        )
        return
    await _first(message, state, questions, data)


async def consent_accept(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User) -> None:
    """Consent recorded through the shared step; the survey goes on."""
    await steps.accept_consent(query, session, user)
    _survey, questions, data = await _loaded(session, state)
    assert isinstance(query.message, Message)
    await _first(query.message, state, questions, data)


async def _first(message: Message, state: FSMContext, questions: list[Question], data: dict[str, Any]) -> None:
    first = rules.next_index(questions, data["answers"], -1)
    if first is None:
        await _summary(message, state, questions, data)
        return
    await _ask(message, state, questions, data, first)


# --- asking and answering -------------------------------------------------------------------------


async def _ask(message: Message, state: FSMContext, questions: list[Question], data: dict[str, Any], index: int) -> None:
    q = questions[index]
    answers = data["answers"]
    data = {**data, "index": index, "multi": list(answers.get(q.key) or []) if q.kind == QuestionKind.MULTIPLE else []}
    await state.set_state(SurveyForm.answering)
    await state.set_data(data)
    can_back = _previous(questions, answers, index) is not None
    await message.answer(
        dialog.question_text(questions, answers, index),
        reply_markup=keyboards.question(q, index, chosen=data["multi"], can_back=can_back),
    )


def _previous(questions: list[Question], answers: dict[str, Any], index: int) -> int | None:
    """The question shown before `index` (conditions read only earlier answers, so it is the
    same one the person saw)."""
    keys = [q.key for q in rules.visible(questions[:index], answers)]
    if not keys:
        return None
    return next(i for i, q in enumerate(questions) if q.key == keys[-1])


async def _summary(message: Message, state: FSMContext, questions: list[Question], data: dict[str, Any], title: str | None = None) -> None:
    await state.set_state(SurveyForm.summary)
    await state.set_data({**data, "index": len(questions), "editing": False})
    shown = rules.visible(questions, data["answers"])
    if title is None:
        title = data.get("title", "")
    await message.answer(dialog.summary_text(title, questions, data["answers"]), reply_markup=keyboards.summary(len(shown)))


async def _advance(message: Message, state: FSMContext, session: AsyncSession, questions: list[Question], data: dict[str, Any]) -> None:
    """After an answer (or a skip): the next question shown, else the summary. After a change
    from the summary, only questions not yet seen (a condition may have revealed some)."""
    index = data["index"]
    seen = set(data.get("seen", [])) | {questions[index].key}
    data = {**data, "seen": sorted(seen)}
    nxt = rules.next_index(questions, data["answers"], index)
    if data.get("editing"):
        while nxt is not None and questions[nxt].key in seen:
            nxt = rules.next_index(questions, data["answers"], nxt)
    if nxt is None:
        survey = await session.get(Survey, data["survey_id"])
        await _summary(message, state, questions, data, title=survey.title if survey else "")
        return
    await _ask(message, state, questions, data, nxt)


async def _record(message: Message, state: FSMContext, session: AsyncSession, value: Any) -> None:
    """Check the answer to the current question; keep it and go on, or say what fits."""
    _survey, questions, data = await _loaded(session, state)
    q = questions[data["index"]]
    try:
        clean = rules.check_answer(q, value)
    except Invalid as exc:
        await message.answer(exc.render() + "\n" + _("Nothing is lost: answer this question again."))
        return
    await _advance(message, state, session, questions, {**data, "answers": {**data["answers"], q.key: clean}})


async def _current(query: CallbackQuery, state: FSMContext, session: AsyncSession, index: int) -> tuple[list[Question], dict[str, Any]] | None:
    """The dialog's questions when the pressed button belongs to the question asked now."""
    _survey, questions, data = await _loaded(session, state)
    if index != data.get("index"):
        await query.answer(_("This button belongs to another question."), show_alert=True)
        return None
    return questions, data


async def option(query: CallbackQuery, callback_data: SurveyOptionCB, state: FSMContext, session: AsyncSession) -> None:
    """A choice or a mark: a single choice or a mark is the answer; a multiple choice toggles."""
    current = await _current(query, state, session, callback_data.q)
    if current is None:
        return
    questions, data = current
    q = questions[callback_data.q]
    if q.kind == QuestionKind.SCALE:
        message = await _close(query)
        await _record(message, state, session, callback_data.v)
        return
    if not q.kind.has_options or not 0 <= callback_data.v < len(q.options):
        await query.answer(_("This button belongs to another question."), show_alert=True)
        return
    key = q.options[callback_data.v].key
    if q.kind == QuestionKind.SINGLE:
        message = await _close(query)
        await _record(message, state, session, key)
        return
    chosen = list(data.get("multi", []))
    chosen = [k for k in chosen if k != key] if key in chosen else [*chosen, key]
    await state.update_data(multi=chosen)
    await query.answer()
    assert isinstance(query.message, Message)
    can_back = _previous(questions, data["answers"], callback_data.q) is not None
    await query.message.edit_reply_markup(reply_markup=keyboards.question(q, callback_data.q, chosen=chosen, can_back=can_back))


async def multiple_done(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    """The choices of a multiple-choice question are made."""
    _survey, questions, data = await _loaded(session, state)
    q = questions[data["index"]]
    if q.kind != QuestionKind.MULTIPLE:
        await query.answer(_("This button belongs to another question."), show_alert=True)
        return
    if not data.get("multi"):
        await query.answer(_("Choose at least one option, or press “Skip”.") if not q.required else _("Choose at least one option."), show_alert=True)
        return
    message = await _close(query)
    await _record(message, state, session, data["multi"])


async def typed(message: Message, state: FSMContext, session: AsyncSession) -> None:
    """A reply: the answer to a number, date or text question; elsewhere, a hint."""
    _survey, questions, data = await _loaded(session, state)
    q = questions[data["index"]]
    if q.kind in (QuestionKind.NUMBER, QuestionKind.DATE, QuestionKind.TEXT):
        assert message.text is not None
        await _record(message, state, session, message.text)
        return
    await message.answer(dialog.hint(q) + " " + _("Nothing is lost: answer this question again."))


async def photo(message: Message, state: FSMContext, session: AsyncSession, user: User, bot: Bot, settings: Settings) -> None:
    """A photo: the answer to a photo question, stored (without its sender in anonymous surveys)."""
    survey, questions, data = await _loaded(session, state)
    q = questions[data["index"]]
    if q.kind != QuestionKind.PHOTO:
        await message.answer(dialog.hint(q) + " " + _("Nothing is lost: answer this question again."))
        return
    assert message.photo
    media = message.photo[-1]
    if media.file_size and media.file_size > files.MAX_BYTES:
        await message.answer(_("The file is larger than {mb} MB.").format(mb=files.MAX_BYTES // (1024 * 1024)))
        return
    buffer = await bot.download(media.file_id)
    assert buffer is not None
    stored = await surveys.save_photo(
        session, survey=survey, user=user, data=buffer.getvalue(), filename="photo.jpg", mime="image/jpeg", files_root=settings.files_dir
    )
    await _record(message, state, session, stored.id)


async def skip(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    """Leave an optional question unanswered."""
    _survey, questions, data = await _loaded(session, state)
    q = questions[data["index"]]
    if q.required:
        await query.answer(_("This question is required."), show_alert=True)
        return
    message = await _close(query)
    answers = {k: v for k, v in data["answers"].items() if k != q.key}
    await _advance(message, state, session, questions, {**data, "answers": answers})


async def back(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    """The question before this one (from the summary: the last one), its answer kept."""
    _survey, questions, data = await _loaded(session, state)
    prev = _previous(questions, data["answers"], min(data["index"], len(questions)))
    if prev is None:
        await query.answer(_("This is the first question."), show_alert=True)
        return
    message = await _close(query)
    await _ask(message, state, questions, {**data, "editing": False}, prev)


async def edit(query: CallbackQuery, callback_data: SurveyEditCB, state: FSMContext, session: AsyncSession) -> None:
    """Change one answer from the summary; then back to the summary."""
    _survey, questions, data = await _loaded(session, state)
    shown = rules.visible(questions, data["answers"])
    if not 0 <= callback_data.q < len(shown):
        await query.answer(_("This button belongs to another question."), show_alert=True)
        return
    message = await _close(query)
    index = next(i for i, q in enumerate(questions) if q.key == shown[callback_data.q].key)
    await _ask(message, state, questions, {**data, "editing": True}, index)


async def submit(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User, settings: Settings) -> None:
    """Send the answers. When the organizers changed the questions meanwhile, the answers
    that still fit are kept and the person checks them again."""
    survey, questions, data = await _loaded(session, state)
    if survey.current_version_id != data["version_id"]:
        version = await surveys.current_version(session, survey=survey)
        new = surveys.questions_of(version)
        kept = {}
        for q in new:
            if q.key in data["answers"]:
                try:
                    kept[q.key] = rules.check_answer(q, data["answers"][q.key])
                except Invalid:
                    pass
        message = await _close(query)
        await message.answer(_("The organizers have changed the questions meanwhile. Please check your answers."))
        await _first(message, state, new, {**data, "version_id": version.id, "answers": kept, "seen": [], "editing": True})
        return
    key = data.get("edit_key")
    response, replaced = await surveys.submit(
        session, survey=survey, user=user, answers=data["answers"], secret=surveys.voter_secret(settings.signing_token), source="bot",
        edit_key=key,
    )
    await state.clear()
    message = await _close(query)
    if survey.anonymous:
        key = key or await surveys.issue_edit_key(session, response=response)
        text = _("Thank you! Your answers are replaced, still with no link to you.") if replaced else _(
            "Thank you! Your answers are saved, with no link to you. To change them until the survey closes, press the "
            "button below: only this message holds the key to them."
        )
        await message.answer(text, reply_markup=keyboards.change_answers(survey.id, key))
        return
    if replaced:
        text = _("Thank you! Your answers are replaced. You can change them until the survey closes: /surveys")
    else:
        text = _("Thank you! Your answers are saved. You can change them until the survey closes: /surveys")
    await message.answer(text)


async def change(query: CallbackQuery, callback_data: SurveyChangeCB, state: FSMContext, session: AsyncSession, user: User) -> None:
    """The button under an anonymous thank-you: its key opens those answers again, to go
    through and send anew. The button stays, so a cancelled change keeps the key."""
    survey = await _answerable(session, user, callback_data.survey_id)
    response = await surveys.by_edit_key(session, survey=survey, key=callback_data.key)
    version = await surveys.current_version(session, survey=survey)
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.answer(_("Changing your answers to «{title}».").format(title=survey.title))
    data = {"survey_id": survey.id, "version_id": version.id, "title": survey.title, "answers": dict(response.answers),
            "seen": [], "index": -1, "edit_key": callback_data.key}
    await _first(query.message, state, surveys.questions_of(version), data)


async def cancel(message: Message, state: FSMContext) -> None:
    """Put the survey aside: nothing was sent."""
    await state.clear()
    await message.answer(_("The survey is put aside; nothing was sent. /surveys to come back to it."))


async def cancel_button(query: CallbackQuery, state: FSMContext) -> None:
    message = await _close(query)
    await cancel(message, state)


async def results(query: CallbackQuery, callback_data: SurveyResultsCB, session: AsyncSession, user: User) -> None:
    """A published survey's results as text (the way anonymous respondents see them)."""
    survey = await session.get(Survey, callback_data.survey_id)
    if survey is None or survey.results_published_at is None or not await users.roles_in(session, user_id=user.id, municipality_id=survey.municipality_id):
        raise NotFound(N_("These results are not published."))
    await query.answer()
    assert isinstance(query.message, Message)
    summary = surveys.summary_text(await queries.results(session, survey=survey, text_limit=0))
    await query.message.answer(_("Results of «{title}»:").format(title=survey.title) + "\n\n" + (summary or _("No answers to chart.")))


async def stale(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active. Send /surveys for a fresh list."), show_alert=True)


# --- the router -----------------------------------------------------------------------------------

FREE_TEXT = F.text & ~F.text.startswith("/")


def create_router() -> Router:
    """The surveys router, built fresh for each Dispatcher."""
    r = Router(name="surveys")
    r.message.filter(F.chat.type == "private")
    r.callback_query.filter(F.message.chat.type == "private")

    r.message.register(surveys_cmd, Command("surveys"))
    r.callback_query.register(from_menu(surveys_cmd), SurveyMenuCB.filter(F.action == "list"))
    r.message.register(deep_link, CommandStart(deep_link=True, magic=F.args.regexp(DEEP_LINK)))
    r.callback_query.register(open_survey, SurveyOpenCB.filter())
    r.callback_query.register(results, SurveyResultsCB.filter())
    r.callback_query.register(change, SurveyChangeCB.filter())
    r.message.register(cancel, Command("cancel"), StateFilter(SurveyForm))
    r.callback_query.register(cancel_button, SurveyStepCB.filter(F.action == "cancel"), StateFilter(SurveyForm))

    r.callback_query.register(begin, SurveyStepCB.filter(F.action == "begin"), SurveyForm.intro)
    r.callback_query.register(consent_accept, PrivacyCB.filter(F.action == "accept"), SurveyForm.consent)
    r.callback_query.register(option, SurveyOptionCB.filter(), SurveyForm.answering)
    r.callback_query.register(multiple_done, SurveyStepCB.filter(F.action == "done"), SurveyForm.answering)
    r.callback_query.register(skip, SurveyStepCB.filter(F.action == "skip"), SurveyForm.answering)
    r.callback_query.register(back, SurveyStepCB.filter(F.action == "back"), StateFilter(SurveyForm.answering, SurveyForm.summary))
    r.message.register(typed, SurveyForm.answering, FREE_TEXT)
    r.message.register(photo, SurveyForm.answering, F.photo)
    r.callback_query.register(edit, SurveyEditCB.filter(), SurveyForm.summary)
    r.callback_query.register(submit, SurveyStepCB.filter(F.action == "submit"), SurveyForm.summary)
    # Survey buttons outside their step (an old message, a finished survey).
    r.callback_query.register(stale, F.data.regexp(r"^(sstep|sopt|sedit):"))
    return r
