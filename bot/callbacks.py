"""Callback data factories. The longest packed value stays far under Telegram's 64 bytes
(see tests/test_callbacks.py)."""

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


class AppealRateCB(CallbackData, prefix="rate"):
    appeal_id: int
    stars: int


class AppealReplyCB(CallbackData, prefix="areply"):
    appeal_id: int
