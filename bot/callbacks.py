"""Callback data factories of the bot's core (start, profile). Each applied service keeps its
own in bot/services/<slug>/callbacks.py. The longest packed value stays far under
Telegram's 64 bytes (tests/platform/test_platform.py, test_callback_data_fits_telegram_limit)."""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData


class TownCB(CallbackData, prefix="town"):
    id: int


class LangCB(CallbackData, prefix="lang"):
    code: Literal["ru", "en"]


class PrivacyCB(CallbackData, prefix="pd"):
    action: Literal["accept", "withdraw", "show"]


class ForgetCB(CallbackData, prefix="forget"):
    confirm: bool


class MenuCB(CallbackData, prefix="menu"):
    action: Literal["language", "privacy", "town", "phone"]
