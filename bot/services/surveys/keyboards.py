"""Keyboards of surveys in the chat."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from backend.i18n import gettext as _
from backend.services.surveys.rules import Question, QuestionKind
from bot.keyboards import CANCEL, SKIP, clip
from bot.services.surveys.callbacks import (
    SurveyChangeCB,
    SurveyEditCB,
    SurveyMenuCB,
    SurveyOpenCB,
    SurveyOptionCB,
    SurveyResultsCB,
    SurveyStepCB,
)


def menu_rows() -> list[list[InlineKeyboardButton]]:
    """The surveys button of the main menu."""
    return [[InlineKeyboardButton(text=_("📊 Surveys"), callback_data=SurveyMenuCB(action="list").pack())]]


def _step(text: str, action: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=SurveyStepCB(action=action).pack())  # type: ignore[arg-type]


def survey_list(
    open_: list[tuple[int, str, bool]], published: list[tuple[int, str]], miniapp_url: str | None = None
) -> InlineKeyboardMarkup | None:
    """A button per open survey (✅ where answered), a button per published result, and the
    Mini App (where it is served over HTTPS) for those who prefer a form."""
    rows = [[InlineKeyboardButton(text=("✅ " if done else "📊 ") + clip(title, 60), callback_data=SurveyOpenCB(survey_id=sid).pack())]
            for sid, title, done in open_]
    rows += [[InlineKeyboardButton(text="📈 " + clip(title, 60), callback_data=SurveyResultsCB(survey_id=sid).pack())]
             for sid, title in published]
    if miniapp_url and open_:
        rows.append([InlineKeyboardButton(text=_("🗂 Answer in the Mini App"), web_app=WebAppInfo(url=miniapp_url))])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def intro() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_step(_("▶️ Begin"), "begin"), _step(_(CANCEL), "cancel")]])


def question(q: Question, index: int, *, chosen: list[str] | None = None, can_back: bool) -> InlineKeyboardMarkup:
    """The answer buttons of one question, then Skip (where optional), Back and Cancel."""
    rows: list[list[InlineKeyboardButton]] = []
    if q.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        marks = set(chosen or [])
        for i, o in enumerate(q.options):
            prefix = ("☑️ " if o.key in marks else "⬜ ") if q.kind == QuestionKind.MULTIPLE else ""
            rows.append([InlineKeyboardButton(text=prefix + clip(o.label, 60), callback_data=SurveyOptionCB(q=index, v=i).pack())])
        if q.kind == QuestionKind.MULTIPLE:
            rows.append([_step(_("✔️ Done"), "done")])
    elif q.kind == QuestionKind.SCALE:
        rows.append([InlineKeyboardButton(text=str(v), callback_data=SurveyOptionCB(q=index, v=v).pack())
                     for v in range(q.scale_min, q.scale_max + 1)])
    nav: list[InlineKeyboardButton] = []
    if can_back:
        nav.append(_step(_("⬅️ Back"), "back"))
    if not q.required:
        nav.append(_step(_(SKIP), "skip"))
    nav.append(_step(_(CANCEL), "cancel"))
    rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def summary(count: int) -> InlineKeyboardMarkup:
    """Send, change an answer by its number, back, cancel."""
    numbers = [InlineKeyboardButton(text=f"✏️ {i + 1}", callback_data=SurveyEditCB(q=i).pack()) for i in range(count)]
    rows: list[list[Any]] = [[_step(_("📨 Send"), "submit")]]
    rows += [numbers[i:i + 5] for i in range(0, len(numbers), 5)]
    rows.append([_step(_("⬅️ Back"), "back"), _step(_(CANCEL), "cancel")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def change_answers(survey_id: int, key: str) -> InlineKeyboardMarkup:
    """Under the thank-you of an anonymous survey: the only way back to those answers."""
    button = InlineKeyboardButton(text=_("✏️ Change my answers"), callback_data=SurveyChangeCB(survey_id=survey_id, key=key).pack())
    return InlineKeyboardMarkup(inline_keyboard=[[button]])
