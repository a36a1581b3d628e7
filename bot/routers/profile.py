"""Language, personal-data consent, phone, data export and erasure."""

from __future__ import annotations

import json

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.privacy import service as privacy
from backend.core.users import service as users
from backend.core.users.models import User
from backend.i18n import gettext as _
from backend.i18n import set_locale
from backend.runtime import Runtime
from bot import keyboards, steps
from bot.callbacks import ForgetCB, LangCB, MenuCB, PrivacyCB
from bot.filters import I18nText
from bot.routers import from_menu


async def language(message: Message) -> None:
    """Offer the languages."""
    await message.answer(_("Choose the interface language:"), reply_markup=keyboards.languages())



async def set_language(query: CallbackQuery, callback_data: LangCB, session: AsyncSession, user: User) -> None:
    """Save the chosen language and answer in it."""
    await users.set_locale(session, user=user, locale=callback_data.code)
    set_locale(callback_data.code)
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_text(_("Language: English") if callback_data.code == "en" else _("Language: Russian"))


async def _show_policy(message: Message, session: AsyncSession, user: User) -> None:
    accepted = await privacy.active_consent(session, user_id=user.id) is not None
    status = _("You have given consent.") if accepted else _("You have not given consent yet.")
    await message.answer(privacy.policy_text() + "\n\n" + status, reply_markup=keyboards.privacy(accepted))


async def privacy_cmd(message: Message, session: AsyncSession, user: User) -> None:
    """Show the policy and the consent state."""
    await _show_policy(message, session, user)



async def accept(query: CallbackQuery, session: AsyncSession, user: User) -> None:
    """Record consent to the text the person was shown."""
    await steps.accept_consent(query, session, user)


async def withdraw(query: CallbackQuery, session: AsyncSession, user: User) -> None:
    """Withdraw consent."""
    await privacy.withdraw_consent(session, user_id=user.id)
    await query.answer(_("Consent withdrawn."))
    assert isinstance(query.message, Message)
    await query.message.edit_reply_markup(reply_markup=keyboards.privacy(False))


async def phone_cmd(message: Message, session: AsyncSession, user: User) -> None:
    """Ask for the phone through Telegram's contact button (consent first)."""
    await privacy.ensure_consent(session, user_id=user.id)
    await steps.ask_phone(message)



async def contact(message: Message, session: AsyncSession, user: User) -> None:
    """Store the phone when the contact is the sender's own (Telegram vouches for it)."""
    await steps.take_contact(message, session, user)


async def cancel(message: Message) -> None:
    await message.answer(_("Cancelled."), reply_markup=ReplyKeyboardRemove())


async def mydata(message: Message, session: AsyncSession, user: User, runtime: Runtime) -> None:
    """Send a JSON file with everything stored about the person."""
    data = await privacy.export_user_data(session, user_id=user.id, registry=runtime.registry)
    payload = json.dumps(data, ensure_ascii=False, indent=2).encode()
    await message.answer_document(
        BufferedInputFile(payload, filename="glocal-my-data.json"),
        caption=_("Everything we store about you."),
    )


async def forget(message: Message) -> None:
    """Ask to confirm erasure."""
    await message.answer(
        _("Delete your personal data? Appeals and documents the law requires us to keep will stay, without your name."),
        reply_markup=keyboards.forget_confirm(),
    )


async def forget_confirm(query: CallbackQuery, callback_data: ForgetCB, session: AsyncSession, user: User, runtime: Runtime) -> None:
    """Erase, or keep, as the person chose."""
    assert isinstance(query.message, Message)
    await query.answer()
    if not callback_data.confirm:
        await query.message.edit_text(_("Nothing was deleted."))
        return
    await privacy.forget_user(session, user_id=user.id, registry=runtime.registry)
    await query.message.edit_text(_("Your personal data has been deleted. Send /start if you want to come back."))


def create_router() -> Router:
    """The profile router, built fresh for each Dispatcher."""
    r = Router(name="profile")
    r.message.filter(F.chat.type == "private")
    r.callback_query.filter(F.message.chat.type == "private")
    r.message.register(language, Command("language"))
    r.callback_query.register(from_menu(language), MenuCB.filter(F.action == "language"))
    r.callback_query.register(set_language, LangCB.filter())
    r.message.register(privacy_cmd, Command("privacy"))
    r.callback_query.register(from_menu(privacy_cmd), MenuCB.filter(F.action == "privacy"))
    r.callback_query.register(accept, PrivacyCB.filter(F.action == "accept"))
    r.callback_query.register(withdraw, PrivacyCB.filter(F.action == "withdraw"))
    r.message.register(phone_cmd, Command("phone"))
    r.callback_query.register(from_menu(phone_cmd), MenuCB.filter(F.action == "phone"))
    r.message.register(contact, F.contact)
    r.message.register(cancel, I18nText(keyboards.CANCEL))
    r.message.register(mydata, Command("mydata"))
    r.message.register(forget, Command("forget"))
    r.callback_query.register(forget_confirm, ForgetCB.filter())
    return r
