"""Callback data of surveys in the chat. Each answer button names the question it belongs
to, so a button left on an older message never answers a later question. The longest
packed string ("sopen:2147483647") stays far within Telegram's 64 bytes."""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData


class SurveyMenuCB(CallbackData, prefix="smenu"):
    """The main menu's button: the open surveys."""

    action: Literal["list"]


class SurveyOpenCB(CallbackData, prefix="sopen"):
    survey_id: int


class SurveyResultsCB(CallbackData, prefix="sres"):
    survey_id: int


class SurveyStepCB(CallbackData, prefix="sstep"):
    action: Literal["begin", "skip", "back", "done", "submit", "cancel"]


class SurveyOptionCB(CallbackData, prefix="sopt"):
    """A choice (single or multiple) or a mark on a scale: question index, value index."""

    q: int
    v: int


class SurveyEditCB(CallbackData, prefix="sedit"):
    """Change the answer to one question from the summary."""

    q: int


class SurveyChangeCB(CallbackData, prefix="schg"):
    """Change an anonymous response: the key to it lives only in this button (the database
    keeps its hash). "schg:2147483647:" and a 22-character key: 38 bytes."""

    survey_id: int
    key: str
