"""How appeals' notices look in Telegram: the answer with its PDF and a rating prompt, a
question with a Reply button, a reminder with a button that opens the appeal's card."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from backend.core.notifications.notices import Notice
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.services.appeals import notices
from backend.settings import Settings
from bot.component import Rendered, Renderer
from bot.services.appeals import keyboards

RATE_PROMPT = N_("How satisfied are you with the answer? Rate it from 1 to 5.")
OPEN_APPEAL = N_("Open the appeal")


def answered(notice: Notice, settings: Settings) -> Rendered:
    assert isinstance(notice, notices.Answered)
    return Rendered(notice.render(), prompt=_(RATE_PROMPT), prompt_markup=keyboards.rate_answer(notice.appeal_id))


def info_requested(notice: Notice, settings: Settings) -> Rendered:
    assert isinstance(notice, notices.InfoRequested)
    return Rendered(notice.render(), markup=keyboards.reply_to_question(notice.appeal_id))


def reminder(notice: Notice, settings: Settings) -> Rendered:
    assert isinstance(notice, notices.Reminder)
    if not settings.miniapp_base:
        return Rendered(notice.render())
    url = f"{settings.miniapp_base}/appeals/?town={notice.municipality_id}&appeal={notice.appeal_id}"
    button = InlineKeyboardButton(text=_(OPEN_APPEAL), web_app=WebAppInfo(url=url))
    return Rendered(notice.render(), markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))


RENDERERS: dict[str, Renderer] = {
    notices.Answered.kind: answered,
    notices.InfoRequested.kind: info_requested,
    notices.DueIn5Days.kind: reminder,
    notices.DueTomorrow.kind: reminder,
    notices.Overdue.kind: reminder,
}
