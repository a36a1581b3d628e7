"""/atlas: the link to the town's public Atlas of Happiness (Telegram shows its preview) and a
button that opens the atlas miniapp to share a story."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, WebAppInfo
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.downloads.service import public_base
from backend.core.municipalities import service as towns
from backend.core.users.models import User
from backend.i18n import gettext as _
from backend.settings import Settings


async def atlas_cmd(message: Message, session: AsyncSession, user: User, settings: Settings) -> None:
    """The town's Atlas: its address, and a button to share a story."""
    if user.current_municipality_id is None:
        await message.answer(_("Choose your town first: send /start."))
        return
    town = await towns.get(session, municipality_id=user.current_municipality_id)
    url = f"{public_base(settings.miniapp_base, settings.local_url)}/atlas/{town.slug}"
    rows = [[InlineKeyboardButton(text=_("🌻 Open the Atlas"), url=url)]] if url.startswith("https://") else []
    if settings.miniapp_base:
        share = f"{settings.miniapp_base}/atlas/?town={town.id}&view=share"
        rows.append([InlineKeyboardButton(text=_("✍️ Share your story"), web_app=WebAppInfo(url=share))])
    text = _("The Atlas of Happiness of {town}: the town in figures, residents' stories, places and communities.\n{url}").format(town=town.name, url=url)
    await message.answer(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows) if rows else None)


def create_router() -> Router:
    """The atlas router, built fresh for each Dispatcher."""
    r = Router(name="atlas")
    r.message.filter(F.chat.type == "private")
    r.message.register(atlas_cmd, Command("atlas"))
    return r
