"""Keyboards of broadcasts: the organizer's buttons under a post, the mute row, the /mute menu."""

from __future__ import annotations

import logging
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from backend.i18n import N_
from backend.i18n import gettext as _
from backend.services.broadcasts.rules import ALL, CATEGORIES
from backend.settings import Settings
from bot.services.broadcasts.callbacks import MuteCB

log = logging.getLogger(__name__)

MUTE_CATEGORY = N_("🔕 Mute «{category}»")
SETTINGS = N_("⚙️ Announcements")
MUTE_ALL = N_("🔕 Stop all announcements")
UNMUTE_ALL = N_("🔔 Receive announcements again")


def organizer_button(button: dict[str, Any], settings: Settings) -> InlineKeyboardButton | None:
    """One of the organizer's buttons; None where this installation cannot build it."""
    text, kind, value = button.get("text", ""), button.get("kind"), button.get("value", "")
    if kind == "url":
        return InlineKeyboardButton(text=text, url=value)
    if kind == "deeplink":
        if not settings.BOT_USERNAME:
            log.warning("a deep-link button needs BOT_USERNAME; left out")
            return None
        return InlineKeyboardButton(text=text, url=f"https://t.me/{settings.BOT_USERNAME}?start={value}")
    if kind == "miniapp":
        if not settings.miniapp_base:
            return None
        return InlineKeyboardButton(text=text, web_app=WebAppInfo(url=f"{settings.miniapp_base}/{value}"))
    return None


def post(buttons: list[list[dict[str, Any]]], *, town: int, category: str, settings: Settings, preview: bool) -> InlineKeyboardMarkup | None:
    """The organizer's rows, then (for residents) mute this category and the settings."""
    rows = [[b for b in (organizer_button(x, settings) for x in row) if b is not None] for row in buttons]
    rows = [row for row in rows if row]
    if not preview:
        title = _(CATEGORIES.get(category, category))
        rows.append([
            InlineKeyboardButton(text=_(MUTE_CATEGORY).format(category=title), callback_data=MuteCB(action="post", town=town, cat=category).pack()),
            InlineKeyboardButton(text=_(SETTINGS), callback_data=MuteCB(action="menu", town=town, cat=ALL).pack()),
        ])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def mute_menu(town: int, muted: set[str]) -> InlineKeyboardMarkup:
    """Each category with its switch, and the switch for all of them."""
    rows = []
    everything = ALL in muted
    for code, title in CATEGORIES.items():
        off = code in muted
        mark = "🔕" if off or everything else "🔔"
        rows.append([InlineKeyboardButton(
            text=f"{mark} {_(title)}", callback_data=MuteCB(action="unmute" if off else "mute", town=town, cat=code).pack(),
        )])
    rows.append([InlineKeyboardButton(
        text=_(UNMUTE_ALL) if everything else _(MUTE_ALL),
        callback_data=MuteCB(action="unmute" if everything else "mute", town=town, cat=ALL).pack(),
    )])
    return InlineKeyboardMarkup(inline_keyboard=rows)
