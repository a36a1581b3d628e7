"""/toy and the menu's button list a person's notes; the "kept" notice gets a button.
Handlers parse, call the service, render."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.notifications.notices import Notice
from backend.core.users.models import User
from backend.i18n import gettext as _
from backend.settings import Settings
from bot.component import Rendered, Renderer
from tests.services.toy.backend import notices, service


class ToyCB(CallbackData, prefix="toy"):
    action: str


def menu_rows() -> list[list[InlineKeyboardButton]]:
    """The toy's row of the main menu."""
    return [[InlineKeyboardButton(text=_("🧸 My notes"), callback_data=ToyCB(action="list").pack())]]


async def _list(message: Message, session: AsyncSession, user: User) -> None:
    if user.current_municipality_id is None:
        await message.answer(_("Choose your town first: /start"))
        return
    notes = await service.notes_of(session, municipality_id=user.current_municipality_id, user_id=user.id)
    if not notes:
        await message.answer(_("You have no notes yet."))
        return
    await message.answer(_("Your notes:") + "\n" + "\n".join(f"• {n.text}" for n in notes))


async def toy_cmd(message: Message, session: AsyncSession, user: User) -> None:
    """/toy: the person's notes in their town."""
    await _list(message, session, user)


async def toy_button(query: CallbackQuery, session: AsyncSession, user: User) -> None:
    """The menu's button: the same list."""
    await query.answer()
    assert isinstance(query.message, Message)
    await _list(query.message, session, user)


def kept(notice: Notice, settings: Settings) -> Rendered:
    assert isinstance(notice, notices.NoteKept)
    markup = InlineKeyboardMarkup(inline_keyboard=menu_rows())
    return Rendered(notice.render(), markup=markup)


RENDERERS: dict[str, Renderer] = {notices.NoteKept.kind: kept}


def create_router() -> Router:
    r = Router(name="toy")
    r.message.register(toy_cmd, Command("toy"))
    r.callback_query.register(toy_button, ToyCB.filter(F.action == "list"))
    return r
