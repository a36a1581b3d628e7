"""What nobody else handled: a clear reply in private chats, silence where Telegram's
conventions call for it (groups, channels)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.users import service as users
from backend.core.users.models import User
from backend.i18n import gettext as _

# Telegram splits pasted text at 4096 characters; anything near that outside a dialog is
# almost certainly a paste that belongs in an appeal. Where the person's town takes appeals,
# the appeals router offers to file free text (long or not) before it gets here; what reaches
# this router comes from people with no town yet, or in a town without appeals.
LONG_TEXT = 3500


async def blocked(event: ChatMemberUpdated, session: AsyncSession, user: User) -> None:
    """The person blocked the bot: remember it, say nothing (we can't)."""
    await users.set_bot_blocked(session, user=user, blocked=True)


async def unblocked(event: ChatMemberUpdated, session: AsyncSession, user: User) -> None:
    await users.set_bot_blocked(session, user=user, blocked=False)


async def added_to_group(event: ChatMemberUpdated) -> None:
    """Added to a group: say once where the bot works."""
    await event.answer(_("I work in private chats. Write to me directly to use the town's services."))


async def group_start(message: Message) -> None:
    await message.reply(_("I work in private chats. Write to me directly to use the town's services."))


async def group_ignore(message: Message) -> None:
    """Groups and channels: stay quiet, as bots in groups should."""


async def edited(message: Message) -> None:
    await message.reply(_("Edits of sent messages are not tracked. Please send a new message instead."))


async def edited_elsewhere(message: Message) -> None:
    """Edits in groups: silence."""


async def unknown_command(message: Message) -> None:
    await message.answer(_("I don't know this command. Send /help to see what I can do."))


async def long_text(message: Message) -> None:
    await message.answer(
        _("That is a long message, and I only read free text inside a dialog. Open the menu to see what your town offers: /start")
    )


async def text(message: Message) -> None:
    await message.answer(_("I understand buttons and commands. Open the menu with /start or see /help."))


async def sticker(message: Message) -> None:
    await message.answer(_("Nice sticker! I understand buttons and commands, though: /help."))


async def other(message: Message) -> None:
    await message.answer(_("I can't use this here. Files and photos are accepted inside a dialog, for example an appeal. See /help."))


async def stale_button(query: CallbackQuery) -> None:
    """A button from an old keyboard: tell the person instead of spinning forever."""
    await query.answer(_("This button is no longer active. Send /start for a fresh menu."), show_alert=True)


def create_router() -> Router:
    """The fallback router, built fresh for each Dispatcher."""
    r = Router(name="fallback")
    r.my_chat_member.register(blocked, F.chat.type == "private", ChatMemberUpdatedFilter(member_status_changed=KICKED))
    r.my_chat_member.register(unblocked, F.chat.type == "private", ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    r.my_chat_member.register(added_to_group, F.chat.type.in_({"group", "supergroup"}), ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    r.message.register(group_start, F.chat.type.in_({"group", "supergroup"}), F.text.regexp(r"^/start(@\w+)?(\s|$)"))
    r.message.register(group_ignore, F.chat.type != "private")
    r.edited_message.register(edited, F.chat.type == "private")
    r.edited_message.register(edited_elsewhere)
    r.message.register(unknown_command, F.text.startswith("/"))
    r.message.register(long_text, F.text.len() > LONG_TEXT)
    r.message.register(text, F.text)
    r.message.register(sticker, F.sticker)
    r.message.register(other)
    r.callback_query.register(stale_button)
    return r
