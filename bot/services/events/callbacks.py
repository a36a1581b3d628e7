"""Callback data of events in the chat: the list, registration steps, the ticket's buttons,
the offer's "confirm", and teams. Every packed string fits Telegram's 64 bytes."""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData


class EvMenuCB(CallbackData, prefix="evmenu"):
    action: Literal["list", "mine"]


class EvOpenCB(CallbackData, prefix="evo"):
    event_id: int


class EvMapCB(CallbackData, prefix="evmap"):
    event_id: int


class EvStartCB(CallbackData, prefix="evs"):
    """Register for the event: the terms, then the questions."""

    event_id: int


class EvTermsCB(CallbackData, prefix="evt"):
    event_id: int


class EvOptionCB(CallbackData, prefix="evq"):
    """An option of question `q` (its index in the event's form) chosen."""

    event_id: int
    q: int
    opt: int


class EvSkipCB(CallbackData, prefix="evk"):
    event_id: int
    q: int


class EvQuitCB(CallbackData, prefix="evquit"):
    """Stop registering (nothing is saved)."""


class EvConfirmCB(CallbackData, prefix="evc"):
    """Confirm a place offered from the waitlist."""

    registration_id: int


class EvCancelCB(CallbackData, prefix="evx"):
    registration_id: int
    sure: bool = False


class EvTicketCB(CallbackData, prefix="evtk"):
    registration_id: int


class EvTeamCB(CallbackData, prefix="evm"):
    registration_id: int
    action: Literal["show", "create", "join", "leave"]
