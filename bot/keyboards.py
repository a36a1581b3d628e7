"""Keyboards of the bot's core; each service keeps its own. Captions go through gettext in the
person's language."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    WebAppInfo,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder

from backend.core.components.manifest import Manifest
from backend.core.municipalities.models import Municipality
from backend.i18n import N_
from backend.i18n import gettext as _
from bot.callbacks import ForgetCB, LangCB, MenuCB, PrivacyCB, TownCB

CANCEL = N_("✖️ Cancel")
SKIP = N_("⏭ Skip")


def main_menu(
    miniapps: list[Manifest], miniapp_base: str | None, service_rows: list[list[InlineKeyboardButton]]
) -> InlineKeyboardMarkup:
    """The town's miniapps, then each service's own buttons, then the person's settings."""
    kb = InlineKeyboardBuilder()
    if miniapp_base:
        for m in miniapps:
            kb.row(InlineKeyboardButton(text=f"{m.icon} {_(m.title)}", web_app=WebAppInfo(url=f"{miniapp_base}/{m.miniapp}")))
    for row in service_rows:
        kb.row(*row)
    kb.row(
        InlineKeyboardButton(text=_("📱 Share phone"), callback_data=MenuCB(action="phone").pack()),
        InlineKeyboardButton(text=_("🏙 Town"), callback_data=MenuCB(action="town").pack()),
    )
    kb.row(
        InlineKeyboardButton(text=_("🌐 Language"), callback_data=MenuCB(action="language").pack()),
        InlineKeyboardButton(text=_("🔒 Privacy"), callback_data=MenuCB(action="privacy").pack()),
    )
    return kb.as_markup()


def towns(choices: list[Municipality]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for town in choices:
        kb.row(InlineKeyboardButton(text=town.name, callback_data=TownCB(id=town.id).pack()))
    return kb.as_markup()


def languages() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="🇷🇺 Русский", callback_data=LangCB(code="ru").pack()),
                InlineKeyboardButton(text="🇬🇧 English", callback_data=LangCB(code="en").pack()),
            ]
        ]
    )


def privacy(accepted: bool) -> InlineKeyboardMarkup:
    if accepted:
        button = InlineKeyboardButton(text=_("Withdraw consent"), callback_data=PrivacyCB(action="withdraw").pack())
    else:
        button = InlineKeyboardButton(text=_("✅ I agree"), callback_data=PrivacyCB(action="accept").pack())
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def forget_confirm() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=_("Yes, delete my data"), callback_data=ForgetCB(confirm=True).pack()),
                InlineKeyboardButton(text=_("No, keep it"), callback_data=ForgetCB(confirm=False).pack()),
            ]
        ]
    )


def share_phone() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_("📱 Send my phone number"), request_contact=True)],
            [KeyboardButton(text=_(CANCEL))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )




def clip(value: str, n: int = 40) -> str:
    """A value short enough for a button caption."""
    value = " ".join(value.split())
    return value if len(value) <= n else value[: n - 1] + "…"
