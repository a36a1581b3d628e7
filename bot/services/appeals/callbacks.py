"""Callback data of the appeals dialog and of the buttons under appeals' notices."""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData


class AppealMenuCB(CallbackData, prefix="amenu"):
    """The main menu's appeals buttons: write a new one, or list mine."""

    action: Literal["new", "mine"]


class AppealRateCB(CallbackData, prefix="rate"):
    appeal_id: int
    stars: int


class AppealReplyCB(CallbackData, prefix="areply"):
    appeal_id: int


class AppealKindCB(CallbackData, prefix="akind"):
    kind: Literal["proposal", "statement", "complaint", "report"]


class AppealCategoryCB(CallbackData, prefix="acat"):
    id: int


class AppealStepCB(CallbackData, prefix="astep"):
    """A dialog button. It names the step it belongs to, so a button left on an older message
    never acts in a later step (a text step's "Start over" must not clear attachments)."""

    step: Literal["kind", "cat", "text", "files", "consent", "name", "addr", "id", "sum", "resume", "rate", "reply", "offer"]
    action: Literal[
        "done", "skip", "clear", "use_name", "use_email", "use_postal", "phone", "name", "address",
        "report", "submit", "cancel", "continue", "restart", "send", "discard", "formal", "dismiss",
    ]


class AppealEditCB(CallbackData, prefix="aedit"):
    """Change one part of the draft from the summary."""

    field: Literal["kind", "category", "text", "files", "location", "name", "address"]


class AppealViewCB(CallbackData, prefix="aview"):
    appeal_id: int
