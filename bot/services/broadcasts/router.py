"""Residents and announcements: mute a category from under a post, /mute to see and switch
every category (or all announcements) of their town. Handlers parse, call the broadcasts
service and render."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.municipalities.models import Municipality
from backend.core.users.models import User
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.services.broadcasts import queries
from backend.services.broadcasts import service as broadcasts
from backend.services.broadcasts.rules import ALL, CATEGORIES
from bot.services.broadcasts import keyboards
from bot.services.broadcasts.callbacks import MuteCB

MENU = N_("Announcements from {town}: tap a category to mute it or turn it back on.")
ALL_MUTED = N_("Announcements from {town} are off. You will still get answers about your own appeals.")
NO_TOWN = N_("Choose your town first: send /start.")
MUTED_ONE = N_("«{category}» muted. /mute to change your announcements.")
MUTED_ALL = N_("Announcements muted. /mute to turn them back on.")


def _menu_text(town: Municipality, muted: set[str]) -> str:
    return (_(ALL_MUTED) if ALL in muted else _(MENU)).format(town=town.name)


async def mute_cmd(message: Message, session: AsyncSession, user: User) -> None:
    """The person's town's categories with their switches."""
    town = await session.get(Municipality, user.current_municipality_id) if user.current_municipality_id else None
    if town is None:
        await message.answer(_(NO_TOWN))
        return
    muted = await queries.mutes(session, user_id=user.id, municipality_id=town.id)
    await message.answer(_menu_text(town, muted), reply_markup=keyboards.mute_menu(town.id, muted))


async def mute_button(query: CallbackQuery, callback_data: MuteCB, session: AsyncSession, user: User) -> None:
    """A switch: from under a post (says so in a toast), or in the menu (redrawn)."""
    town = await session.get(Municipality, callback_data.town)
    if town is None or (callback_data.cat != ALL and callback_data.cat not in CATEGORIES):
        await query.answer()
        return
    if callback_data.action == "menu":
        muted = await queries.mutes(session, user_id=user.id, municipality_id=town.id)
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(_menu_text(town, muted), reply_markup=keyboards.mute_menu(town.id, muted))
        return
    if callback_data.action == "unmute":
        muted = await broadcasts.unmute(session, user_id=user.id, municipality_id=town.id, category=callback_data.cat)
    else:
        muted = await broadcasts.mute(session, user_id=user.id, municipality_id=town.id, category=callback_data.cat)
    if callback_data.action == "post":
        text = _(MUTED_ALL) if callback_data.cat == ALL else _(MUTED_ONE).format(category=_(CATEGORIES[callback_data.cat]))
        await query.answer(text, show_alert=False)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(_menu_text(town, muted), reply_markup=keyboards.mute_menu(town.id, muted))


def create_router() -> Router:
    r = Router(name="broadcasts")
    r.message.filter(F.chat.type == "private")
    r.message.register(mute_cmd, Command("mute"))
    r.callback_query.register(mute_button, MuteCB.filter())
    return r
