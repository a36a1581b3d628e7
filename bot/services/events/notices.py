"""How events' notices look in Telegram: an offered place with its one-tap "Confirm your
place" button; reminders with a button to the ticket."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from backend.core.notifications.notices import Notice
from backend.i18n import gettext as _
from backend.services.events import notices
from backend.settings import Settings
from bot.component import Rendered, Renderer
from bot.services.events import keyboards
from bot.services.events.callbacks import EvTicketCB


def offered(notice: Notice, settings: Settings) -> Rendered:
    assert isinstance(notice, notices.PlaceOffered)
    return Rendered(notice.render(), markup=keyboards.confirm_place(notice.registration_id))


def reminder(notice: Notice, settings: Settings) -> Rendered:
    assert isinstance(notice, notices.ReminderDay | notices.ReminderHour)
    button = InlineKeyboardButton(text=_("🎫 My ticket"), callback_data=EvTicketCB(registration_id=notice.registration_id).pack())
    return Rendered(notice.render(), markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))


RENDERERS: dict[str, Renderer] = {
    notices.PlaceOffered.kind: offered,
    notices.ReminderDay.kind: reminder,
    notices.ReminderHour.kind: reminder,
}
