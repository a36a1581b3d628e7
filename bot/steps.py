"""Steps several dialogs share: accepting the personal-data policy where it is shown, and
taking the phone number from Telegram's contact button. The profile's commands use them,
and so does any service's dialog that needs them (appeals' identification), so no router
imports another."""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.privacy import service as privacy
from backend.core.users import service as users
from backend.core.users.models import User
from backend.i18n import gettext as _
from bot import keyboards


async def accept_consent(query: CallbackQuery, session: AsyncSession, user: User) -> None:
    """Record consent to the policy text the person was shown, and mark the button done."""
    await privacy.give_consent(session, user_id=user.id, channel="bot")
    await query.answer(_("Thank you, consent recorded."))
    assert isinstance(query.message, Message)
    await query.message.edit_reply_markup(reply_markup=keyboards.privacy(True))


async def ask_phone(message: Message) -> None:
    """Offer Telegram's contact button (call after consent)."""
    await message.answer(
        _("Press the button below to share the phone number of this Telegram account."), reply_markup=keyboards.share_phone()
    )


async def take_contact(message: Message, session: AsyncSession, user: User) -> bool:
    """Store the phone when the shared contact is the sender's own (Telegram vouches for it);
    True when it was stored, else the person is asked for their own number."""
    assert message.contact is not None and message.from_user is not None
    if message.contact.user_id != message.from_user.id:
        await message.answer(_("Please share your own number with the button below."), reply_markup=keyboards.share_phone())
        return False
    await privacy.ensure_consent(session, user_id=user.id)
    await users.set_verified_phone(session, user=user, phone=message.contact.phone_number)
    await message.answer(_("Phone number saved: {phone}").format(phone=user.phone), reply_markup=ReplyKeyboardRemove())
    return True
