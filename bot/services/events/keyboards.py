"""Keyboards of events in the chat."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from backend.i18n import gettext as _
from bot.keyboards import CANCEL, SKIP, clip
from bot.services.events.callbacks import (
    EvCancelCB,
    EvConfirmCB,
    EvMapCB,
    EvMenuCB,
    EvOpenCB,
    EvOptionCB,
    EvQuitCB,
    EvSkipCB,
    EvStartCB,
    EvTeamCB,
    EvTermsCB,
    EvTicketCB,
)


def _b(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def menu_rows() -> list[list[InlineKeyboardButton]]:
    """The events buttons of the main menu."""
    return [[_b(_("🎟 Events"), EvMenuCB(action="list").pack()), _b(_("🎫 My tickets"), EvMenuCB(action="mine").pack())]]


def event_list(events: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_b(clip(title), EvOpenCB(event_id=i).pack())] for i, title in events])


def event_card(event_id: int, *, can_register: bool, waitlist: bool, registration_id: int | None, has_pin: bool) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if registration_id is not None:
        rows.append([_b(_("🎫 My ticket"), EvTicketCB(registration_id=registration_id).pack())])
    elif can_register:
        rows.append([_b(_("📝 Join the waitlist") if waitlist else _("📝 Register"), EvStartCB(event_id=event_id).pack())])
    if has_pin:
        rows.append([_b(_("📍 On the map"), EvMapCB(event_id=event_id).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def accept_terms(event_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_b(_("✅ I accept"), EvTermsCB(event_id=event_id).pack())], [_b(_(CANCEL), EvQuitCB().pack())]])


def question(event_id: int, q: int, options: list[str] | None, required: bool) -> InlineKeyboardMarkup:
    rows = [[_b(clip(o), EvOptionCB(event_id=event_id, q=q, opt=i).pack())] for i, o in enumerate(options or [])]
    last = [_b(_(CANCEL), EvQuitCB().pack())]
    if not required:
        last.insert(0, _b(_(SKIP), EvSkipCB(event_id=event_id, q=q).pack()))
    return InlineKeyboardMarkup(inline_keyboard=[*rows, last])


def ticket(registration_id: int, *, teams: bool) -> InlineKeyboardMarkup:
    rows = []
    if teams:
        rows.append([_b(_("👥 Team"), EvTeamCB(registration_id=registration_id, action="show").pack())])
    rows.append([_b(_("✖️ Cancel registration"), EvCancelCB(registration_id=registration_id).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def waitlisted(registration_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_b(_("✖️ Leave the waitlist"), EvCancelCB(registration_id=registration_id).pack())]])


def confirm_place(registration_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [_b(_("✅ Confirm your place"), EvConfirmCB(registration_id=registration_id).pack())],
        [_b(_("✖️ I can't come"), EvCancelCB(registration_id=registration_id, sure=True).pack())],
    ])


def really_cancel(registration_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        _b(_("Yes, cancel"), EvCancelCB(registration_id=registration_id, sure=True).pack()),
        _b(_("No, keep it"), EvTicketCB(registration_id=registration_id).pack()),
    ]])


def my_tickets(items: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_b(clip(title), EvTicketCB(registration_id=i).pack())] for i, title in items])


def team_none(registration_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        _b(_("➕ Create a team"), EvTeamCB(registration_id=registration_id, action="create").pack()),
        _b(_("🔑 Join by code"), EvTeamCB(registration_id=registration_id, action="join").pack()),
    ]])


def team_member(registration_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_b(_("🚪 Leave the team"), EvTeamCB(registration_id=registration_id, action="leave").pack())]])


def quit_only() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_b(_(CANCEL), EvQuitCB().pack())]])
