"""How surveys' notices look in Telegram: the results, with a button to the list of surveys."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from backend.core.notifications.notices import Notice
from backend.i18n import gettext as _
from backend.services.surveys import notices
from backend.settings import Settings
from bot.component import Rendered, Renderer
from bot.services.surveys.callbacks import SurveyMenuCB


def results(notice: Notice, settings: Settings) -> Rendered:
    assert isinstance(notice, notices.ResultsPublished)
    button = InlineKeyboardButton(text=_("📊 Surveys"), callback_data=SurveyMenuCB(action="list").pack())
    return Rendered(notice.render(), markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))


RENDERERS: dict[str, Renderer] = {notices.ResultsPublished.kind: results}
