"""The states and texts of answering a survey in the chat, apart from the handlers."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.state import State, StatesGroup

from backend.i18n import gettext as _
from backend.services.surveys import rules
from backend.services.surveys.rules import Question, QuestionKind


class SurveyForm(StatesGroup):
    intro = State()
    consent = State()
    answering = State()
    summary = State()


def mode_notice(anonymous: bool) -> str:
    """What the person is told about what is kept, before the first question."""
    if anonymous:
        return _(
            "🔒 This survey is anonymous. Your answers are stored without your name, your Telegram account or any "
            "other link to you, and no log records who answered what (the bot's delivery records of these chat messages "
            "are deleted within 3 days). To keep it to one response a person, only a coded mark that you have "
            "answered is kept, separately from the answers. To change your answers until the survey closes, "
            "use the button under the bot's thank-you message: only that message holds the key to them. The results "
            "cannot be sent to you in chat: look for them under /surveys."
        )
    return _(
        "👤 This survey is not anonymous: the organizers will see your answers together with your name. "
        "That is processing of personal data, so it needs your consent (152-FZ). You can change your answers "
        "until the survey closes, and you will get the results in chat when they are published."
    )


def hint(question: Question) -> str:
    """How to answer a question of this kind."""
    kind = question.kind
    if kind == QuestionKind.SINGLE:
        return _("Choose one option.")
    if kind == QuestionKind.MULTIPLE:
        return _("Choose one or more options, then press “Done”.")
    if kind == QuestionKind.SCALE:
        return _("Choose a mark from {low} to {high}.").format(low=question.scale_min, high=question.scale_max)
    if kind == QuestionKind.NUMBER:
        return _("Send a number in reply.")
    if kind == QuestionKind.DATE:
        return _("Send a date in reply, as DD.MM.YYYY.")
    if kind == QuestionKind.TEXT:
        return _("Write your answer in reply.")
    return _("Send a photo in reply.")


def question_text(questions: list[Question], answers: dict[str, Any], index: int) -> str:
    """A question with its progress line ("3 of 8"), its help, how to answer, and the
    answer given before (after Back)."""
    q = questions[index]
    n, total = rules.progress(questions, answers, index)
    lines = [_("Question {n} of {total}").format(n=n, total=total), "", q.text]
    if q.help:
        lines.append(q.help)
    lines += ["", hint(q) + ("" if q.required else " " + _("You may skip this question."))]
    if q.key in answers:
        lines.append(_("Your answer now: {answer}").format(answer=_clip(rules.display(q, answers[q.key]), 1000)))
    return "\n".join(lines)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# Telegram refuses a message over 4096 characters.
MESSAGE_LIMIT = 4000


def summary_text(title: str, questions: list[Question], answers: dict[str, Any]) -> str:
    """Every question shown with its answer, before sending."""
    lines = [_("Your answers to «{title}»:").format(title=title), ""]
    shown = rules.visible(questions, answers)
    # Long surveys with long answers are shortened to fit one message; each stays recognisable.
    room = max(40, (MESSAGE_LIMIT - 300) // max(len(shown), 1) - 10)
    for i, q in enumerate(shown, start=1):
        lines.append(_clip(f"{i}. {q.text}", room // 2))
        lines.append("   " + (_clip(rules.display(q, answers[q.key]), room // 2) if q.key in answers else _("(skipped)")))
    lines += ["", _("Press “Send” to send them, or change an answer by its number.")]
    return "\n".join(lines)
