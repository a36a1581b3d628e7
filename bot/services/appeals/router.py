"""The resident's side of appeals: filing one step by step, "My appeals", rating an answer
and replying to a request for information. Handlers parse, call the appeals service and
render; states, limits and texts of the dialog are in `dialog.py`.

The router sits before `start` and `profile`: in the dialog's steps it takes the contact
(identification) and the consent button itself, through the shared steps (bot/steps.py), and
then goes on with the dialog; /start mid-dialog it answers first (the draft is kept) and lets
pass. Outside the dialog it takes free text to offer filing it, where the town has appeals on.
Other commands, contacts and other routers' buttons pass through it untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.documents import service as documents
from backend.core.files import service as files
from backend.core.files.models import StoredFile
from backend.core.identity.service import IdentityCheck
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Municipality
from backend.core.privacy import service as privacy
from backend.core.users import service as users
from backend.core.users.models import IdentityLevel, User
from backend.db import utcnow
from backend.errors import DomainError, Forbidden, Invalid
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.services.appeals import permissions, queries, rules
from backend.services.appeals import service as appeals
from backend.services.appeals.rules import Kind, Status
from backend.services.appeals.schemas import AppealDraft
from backend.services.appeals.settings import text_limit
from backend.runtime import Runtime
from backend.settings import Settings
from bot import keyboards as core_keyboards
from bot import steps
from bot.callbacks import PrivacyCB
from bot.filters import I18nText
from bot.routers import from_menu
from bot.services.appeals import dialog, keyboards
from bot.services.appeals.callbacks import (
    AppealCategoryCB,
    AppealEditCB,
    AppealKindCB,
    AppealMenuCB,
    AppealRateCB,
    AppealReplyCB,
    AppealStepCB,
    AppealViewCB,
)
from bot.services.appeals.dialog import AppealForm, RateForm, ReplyForm

MINE = (AppealForm, RateForm, ReplyForm)


# --- helpers ----------------------------------------------------------------------------------


async def _close(query: CallbackQuery) -> Message:
    """Answer the button and take the keyboard off its message, so it is not pressed twice.
    Called after the service calls: a domain error must still be able to answer the query."""
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.edit_reply_markup(reply_markup=None)
    return query.message


async def _town(session: AsyncSession, state: FSMContext) -> Municipality:
    """The town the draft is filed in (fixed at the start, whatever the person does meanwhile)."""
    return await towns.get(session, municipality_id=(await state.get_data())["town_id"])


async def _store(message: Message, bot: Bot, session: AsyncSession, *, town: Municipality, user: User, settings: Settings) -> StoredFile:
    """Download a photo, document or voice message through the Bot API and store it."""
    if message.photo:
        media = message.photo[-1]  # the largest size
        filename, mime = f"photo_{media.file_unique_id}.jpg", "image/jpeg"
    elif message.document:
        media = message.document
        filename, mime = media.file_name or "document", media.mime_type or "application/octet-stream"
    else:
        assert message.voice is not None
        media = message.voice
        filename, mime = f"voice_{media.file_unique_id}.ogg", media.mime_type or "audio/ogg"
    # Bots cannot download more than 20 MB at all, so say so before trying.
    if media.file_size and media.file_size > files.MAX_BYTES:
        raise Invalid(N_("The file is larger than {mb} MB."), mb=files.MAX_BYTES // (1024 * 1024))
    buffer = await bot.download(media.file_id)
    assert buffer is not None
    return await appeals.save_attachment(
        session, town=town, user=user, data=buffer.getvalue(), filename=filename, mime=mime, files_root=settings.files_dir
    )


def _take_caption(message: Message, parts: list[str], limit: int) -> tuple[list[str], str]:
    """A file's caption is part of what the person wrote: add it to the text if it fits."""
    caption = (message.caption or "").strip()
    if not caption:
        return parts, ""
    if dialog.over_by(parts, caption, limit) > 0:
        return parts, "\n" + _("Its caption did not fit into the limit of {limit} characters and was not added to the text.").format(limit=limit)
    return [*parts, caption], "\n" + _("Its caption was added to the text.")


def _over_limit_text(over: int, limit: int, kept: int) -> str:
    if kept:
        return _(
            "This message does not fit: with it the text would be {over} characters over the limit of {limit}. "
            "What you sent before is kept ({length} characters). Send a shorter message, or go on with the buttons below."
        ).format(over=over, limit=limit, length=kept)
    return _("The text is {over} characters over the limit of {limit}. Please shorten it and send it again.").format(over=over, limit=limit)


# --- the steps: each asks its question and sets its state ---------------------------------------


async def _begin(
    message: Message, state: FSMContext, session: AsyncSession, user: User, *, parts: list[str] | None = None, kind: Kind | None = None
) -> None:
    """A new draft: its kind first, or (kind given) its category; `parts` pre-fill its text."""
    if await state.get_state() in AppealForm.__all_states_names__ or (await state.get_data()).get(dialog.RESUME):
        await message.answer(_("You have an unfinished appeal. Continue it or start over?"), reply_markup=keyboards.appeal_resume())
        return
    town = await users.current_town(session, user=user)
    if town is None:
        await message.answer(_("Please choose your town first: /start"))
        return
    if not await queries.categories(session, municipality_id=town.id):
        await message.answer(_("{town} does not take appeals through the bot yet.").format(town=town.name))
        return
    parts = parts or []
    limit = text_limit(town)
    if len(dialog.joined(parts)) > limit:
        await message.answer(_over_limit_text(len(dialog.joined(parts)) - limit, limit, 0))
        parts = []
    await state.set_data({"town_id": town.id, "parts": parts, "files": [], **({"kind": kind.value} if kind else {})})
    if kind is None:
        await state.set_state(AppealForm.kind)
        await message.answer(dialog.kind_prompt(town), reply_markup=keyboards.appeal_kinds())
    else:
        await _ask_category(message, state, session, user)


async def _ask_kind(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    await state.set_state(AppealForm.kind)
    await message.answer(dialog.kind_prompt(await _town(session, state)), reply_markup=keyboards.appeal_kinds())


async def _ask_category(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    data = await state.get_data()
    cats = await queries.categories(session, municipality_id=data["town_id"])
    await state.set_state(AppealForm.category)
    await message.answer(_("What is it about? Choose a category."), reply_markup=keyboards.appeal_categories([(c.id, c.name) for c in cats]))


async def _ask_text(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    limit = text_limit(await _town(session, state))
    parts = (await state.get_data()).get("parts", [])
    await state.set_state(AppealForm.text)
    if parts:
        text = _(
            "Your text has {length} characters now. Send more to add to it, or press “Start over” to write it anew. "
            "Press “Done” when you have finished."
        ).format(length=len(dialog.joined(parts)))
    else:
        text = _(
            "Describe the problem or your question in your own words, up to {limit} characters. "
            "You can send several messages; press “Done” when you have finished."
        ).format(limit=limit)
    await message.answer(text, reply_markup=keyboards.appeal_text(bool(parts)))


async def _ask_attachments(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    count = len((await state.get_data()).get("files", []))
    await state.set_state(AppealForm.attachments)
    if count:
        text = _("Attachments so far: {count} of {max}. Send more, remove them all, or press “Done”.").format(count=count, max=dialog.MAX_ATTACHMENTS)
    else:
        text = _(
            "You can attach up to {max} photos, documents or voice messages: send them one by one, then press “Done”. "
            "If there are none, press “Skip”."
        ).format(max=dialog.MAX_ATTACHMENTS)
    await message.answer(text, reply_markup=keyboards.appeal_attachments(count))


async def _ask_location(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    await state.set_state(AppealForm.location)
    text = _("Where is it? Send a location pin with the button below (or 📎 → Location), or type the address.")
    if dialog.is_formal(await state.get_data()):
        text += "\n\n" + _("If the place does not matter, press “Skip”.")
    else:
        text += "\n\n" + _("A location helps the service find the place quickly.")
    await message.answer(text, reply_markup=keyboards.appeal_location())


async def _ask_contacts(message: Message, state: FSMContext, session: AsyncSession, user: User, *, then: str = "name") -> None:
    """Consent first (152-FZ): nothing personal is asked before the policy is accepted."""
    try:
        await privacy.ensure_consent(session, user_id=user.id)
    except Forbidden:
        await state.set_state(AppealForm.consent)
        await state.update_data(after_consent=then)
        formal = dialog.is_formal(await state.get_data())
        await message.answer(
            privacy.policy_text() + "\n\n" + _("Your name and contact details are personal data: to take them, we need your consent."),
            reply_markup=keyboards.appeal_consent(can_skip=not formal),
        )
        return
    await (_ask_reply_address if then == "address" else _ask_name)(message, state, session, user)


async def _ask_name(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    await state.set_state(AppealForm.full_name)
    if dialog.is_formal(await state.get_data()):
        text = _("Your full name: surname, first name and patronymic, if you have one. The law requires it for an answer.")
    else:
        text = _("Your name, if you want the service to know who sent the report. You may skip this.")
    uses = [("use_name", user.full_name)] if user.full_name else []
    await message.answer(text, reply_markup=keyboards.appeal_contact("name", uses))


async def _ask_reply_address(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    await state.set_state(AppealForm.reply_address)
    if dialog.is_formal(await state.get_data()):
        text = _("Where should the answer be sent? Send an e-mail, or a postal address with the postal code.")
    else:
        text = _("An e-mail or a postal address for the answer, if you want one. You may skip this.")
    uses = [
        (action, value)
        for action, value in (("use_email", user.email), ("use_postal", user.postal_address))
        if value and rules.classify_reply_address(value)
    ]
    await message.answer(text, reply_markup=keyboards.appeal_contact("addr", uses))


async def _identity_or_summary(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    """A formal appeal goes to the summary only once the town's identification is met."""
    data = await state.get_data()
    if dialog.is_formal(data):
        check = await appeals.identity_check(user, await _town(session, state), full_name=data.get("full_name"), reply_address=data.get("reply_address"))
        if not check.ok:
            await _show_identity(message, state, user, check)
            return
    await _show_summary(message, state, session, user)


async def _show_identity(message: Message, state: FSMContext, user: User, check: IdentityCheck) -> None:
    data = await state.get_data()
    phone_usable = any(key == "telegram_phone" and configured for key, _title, configured in check.providers)
    await state.set_state(AppealForm.identity)
    await message.answer(
        dialog.identity_text(check),
        reply_markup=keyboards.appeal_identity(
            phone=phone_usable and IdentityLevel(user.identity_level).rank < IdentityLevel.PHONE.rank,
            name=not data.get("full_name"),
            address=not data.get("reply_address"),
        ),
    )


async def _show_summary(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    data = await state.get_data()
    category = await queries.category(session, municipality_id=data["town_id"], category_id=data["category_id"])
    await state.set_state(AppealForm.summary)
    await state.update_data(editing=False)
    await message.answer(dialog.summary_text(data, category.name), reply_markup=keyboards.appeal_summary())


async def _next(message: Message, state: FSMContext, session: AsyncSession, user: User, step: Callable[..., Awaitable[None]]) -> None:
    """Go on to `step`, or back to the summary when the person came from there to change one part."""
    if (await state.get_data()).get("editing"):
        await _show_summary(message, state, session, user)
    else:
        await step(message, state, session, user)


async def _reask_consent(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    await _ask_contacts(message, state, session, user, then=(await state.get_data()).get("after_consent", "name"))


async def _after_address(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    await _next(message, state, session, user, _identity_or_summary)


# Where each state picks up again (after /appeal → Continue, or after rating mid-draft).
REPROMPT: dict[str | None, Callable[..., Awaitable[None]]] = {
    AppealForm.kind.state: _ask_kind,
    AppealForm.category.state: _ask_category,
    AppealForm.text.state: _ask_text,
    AppealForm.attachments.state: _ask_attachments,
    AppealForm.location.state: _ask_location,
    AppealForm.consent.state: _reask_consent,
    AppealForm.full_name.state: _ask_name,
    AppealForm.reply_address.state: _ask_reply_address,
    AppealForm.identity.state: _identity_or_summary,
    AppealForm.summary.state: _show_summary,
}


# --- starting ------------------------------------------------------------------------------------


async def appeal_cmd(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    """Start writing to the administration."""
    await _begin(message, state, session, user)


async def appeals_here(event: Message | CallbackQuery, session: AsyncSession, runtime: Runtime, user: User | None = None) -> bool | dict:
    """Filter: the person is in a town that has appeals on (the town goes to the handler);
    elsewhere the update passes on, to /start or the fallback, instead of the service gate's
    "not available"."""
    town = await users.current_town(session, user=user) if user is not None else None
    if town is None or not runtime.registry.is_on(permissions.SLUG, town):
        return False
    return {"town": town}


async def start_mid_dialog(message: Message, state: FSMContext) -> None:
    """/start while an appeal is being written: say that the draft is kept and offer to go
    on or drop it; then /start does what it always does (the deep link included)."""
    await message.answer(_("You have an unfinished appeal; it is kept. Continue it, or discard it?"), reply_markup=keyboards.appeal_kept())
    raise SkipHandler


async def offer_to_file(message: Message, state: FSMContext, town: Municipality) -> None:
    """Free text outside any dialog (a complaint written straight into the chat, a long
    paste): offer to file it as an appeal or a report, the text pre-filled."""
    assert message.text is not None
    parts = [*(await state.get_data()).get(dialog.OFFER, []), message.text.strip()]
    await state.update_data({dialog.OFFER: parts})
    await message.answer(dialog.offer_text(town, parts), reply_markup=keyboards.offer_to_file())


async def offer_choice(query: CallbackQuery, callback_data: AppealStepCB, state: FSMContext, session: AsyncSession, user: User) -> None:
    """The answer to the offer: start the dialog with the text as its first part, or not."""
    parts = (await state.get_data()).get(dialog.OFFER)
    if not parts:
        await query.answer(_("This button is no longer active. Send /start for a fresh menu."), show_alert=True)
        return
    message = await _close(query)
    await state.set_data({})
    if callback_data.action == "dismiss":
        await message.answer(_("All right, nothing was sent. The menu: /start, all commands: /help"))
        return
    await _begin(message, state, session, user, parts=parts, kind=Kind.REPORT if callback_data.action == "report" else None)



async def resume(query: CallbackQuery, callback_data: AppealStepCB, state: FSMContext, session: AsyncSession, user: User) -> None:
    """Continue the unfinished draft where it stopped, or throw it away and start again."""
    message = await _close(query)
    if callback_data.action == "discard":
        await state.clear()
        await message.answer(_("The unfinished appeal has been discarded."), reply_markup=ReplyKeyboardRemove())
        return
    if callback_data.action == "restart":
        await state.clear()
        await _begin(message, state, session, user)
        return
    if await state.get_state() not in AppealForm.__all_states_names__ and not await _restore_draft(state):
        await _begin(message, state, session, user)  # a stale button: no draft any more
        return
    await REPROMPT[await state.get_state()](message, state, session, user)


# --- kind, category, text ------------------------------------------------------------------------


async def choose_kind(query: CallbackQuery, callback_data: AppealKindCB, state: FSMContext, session: AsyncSession, user: User) -> None:
    message = await _close(query)
    await state.update_data(kind=callback_data.kind)
    await _next(message, state, session, user, _ask_category)


async def choose_category(query: CallbackQuery, callback_data: AppealCategoryCB, state: FSMContext, session: AsyncSession, user: User) -> None:
    data = await state.get_data()
    await queries.category(session, municipality_id=data["town_id"], category_id=callback_data.id)
    message = await _close(query)
    await state.update_data(category_id=callback_data.id)
    await _next(message, state, session, user, _ask_text)


async def text_part(message: Message, state: FSMContext, session: AsyncSession) -> None:
    """One more message of the text; refused whole (keeping the rest) if it breaks the limit."""
    assert message.text is not None
    new = message.text.strip()
    parts: list[str] = (await state.get_data()).get("parts", [])
    if not new:
        await message.answer(dialog.hint(AppealForm.text.state))
        return
    limit = text_limit(await _town(session, state))
    over = dialog.over_by(parts, new, limit)
    if over > 0:
        await message.answer(_over_limit_text(over, limit, len(dialog.joined(parts))), reply_markup=keyboards.appeal_text(bool(parts)))
        return
    parts = [*parts, new]
    text = _("Got it: {length} of {limit} characters. Send more, or press “Done”.").format(length=len(dialog.joined(parts)), limit=limit)
    if rules.is_unreadable(dialog.joined(parts)):
        text += "\n\n" + dialog.unreadable_warning(await state.get_data())
    await message.answer(text, reply_markup=keyboards.appeal_text(True))
    await state.update_data(parts=parts)


async def text_done(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User) -> None:
    if not (await state.get_data()).get("parts"):
        await query.answer(_("Please write the text first."), show_alert=True)
        return
    message = await _close(query)
    await _next(message, state, session, user, _ask_attachments)


async def text_clear(query: CallbackQuery, state: FSMContext) -> None:
    message = await _close(query)
    await state.update_data(parts=[])
    await message.answer(_("The text has been cleared. Send it again."), reply_markup=keyboards.appeal_text(False))


# --- attachments ---------------------------------------------------------------------------------


async def attachment(message: Message, state: FSMContext, session: AsyncSession, user: User, bot: Bot, settings: Settings) -> None:
    """Store the file at once; the draft keeps only its id."""
    data = await state.get_data()
    stored_ids: list[int] = data.get("files", [])
    if len(stored_ids) >= dialog.MAX_ATTACHMENTS:
        await message.answer(
            _("You have already attached {max} files, the most allowed. Press “Done” to go on.").format(max=dialog.MAX_ATTACHMENTS),
            reply_markup=keyboards.appeal_attachments(len(stored_ids)),
        )
        return
    town = await _town(session, state)
    try:
        stored = await _store(message, bot, session, town=town, user=user, settings=settings)
    except DomainError as exc:
        await message.answer(
            exc.render() + "\n\n" + _("Send another file, or go on with the buttons below."),
            reply_markup=keyboards.appeal_attachments(len(stored_ids)),
        )
        return
    stored_ids = [*stored_ids, stored.id]
    parts, note = _take_caption(message, data.get("parts", []), text_limit(town))
    saved = _("Attachment saved ({count} of {max}).").format(count=len(stored_ids), max=dialog.MAX_ATTACHMENTS)
    await message.answer(
        saved + note + "\n" + _("Send another or press “Done”."), reply_markup=keyboards.appeal_attachments(len(stored_ids))
    )
    await state.update_data(files=stored_ids, parts=parts)


async def attachments_done(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User) -> None:
    message = await _close(query)
    await _next(message, state, session, user, _ask_location)


async def attachments_clear(query: CallbackQuery, state: FSMContext) -> None:
    message = await _close(query)
    await state.update_data(files=[])
    await message.answer(_("The attachments have been removed. Send new ones, or press “Skip”."), reply_markup=keyboards.appeal_attachments(0))


# --- location ------------------------------------------------------------------------------------


async def location_pin(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    assert message.location is not None
    address = None
    if message.venue:
        address = ", ".join(p for p in (message.venue.title, message.venue.address) if p)[: dialog.ADDRESS_MAX] or None
    await state.update_data(lat=message.location.latitude, lon=message.location.longitude, address=address)
    await message.answer(_("Location saved."), reply_markup=ReplyKeyboardRemove())
    await _next(message, state, session, user, _ask_contacts)


async def location_skip(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    await state.update_data(lat=None, lon=None, address=None)
    await message.answer(_("No location, then."), reply_markup=ReplyKeyboardRemove())
    await _next(message, state, session, user, _ask_contacts)


async def location_address(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    assert message.text is not None
    address = " ".join(message.text.split())
    if len(address) > dialog.ADDRESS_MAX:
        await message.answer(_("The address is too long: at most {max} characters. Please shorten it.").format(max=dialog.ADDRESS_MAX))
        return
    await state.update_data(address=address, lat=None, lon=None)
    await message.answer(_("Address saved."), reply_markup=ReplyKeyboardRemove())
    await _next(message, state, session, user, _ask_contacts)


# --- consent, name, reply address ----------------------------------------------------------------


async def consent_accept(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User) -> None:
    """The policy's own accept button, pressed inside the dialog: record it, then go on."""
    await steps.accept_consent(query, session, user)
    assert isinstance(query.message, Message)
    then = (await state.get_data()).get("after_consent")
    await (_ask_reply_address if then == "address" else _ask_name)(query.message, state, session, user)


async def consent_skip(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User) -> None:
    if dialog.is_formal(await state.get_data()):
        await query.answer(dialog.hint(AppealForm.consent.state), show_alert=True)
        return
    message = await _close(query)
    await _next(message, state, session, user, _show_summary)


async def name_text(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    assert message.text is not None
    name = " ".join(message.text.split())
    if len(name) > dialog.NAME_MAX or not any(c.isalpha() for c in name):
        await message.answer(_("Please send your full name as text, at most {max} characters.").format(max=dialog.NAME_MAX))
        return
    await state.update_data(full_name=name)
    await _next(message, state, session, user, _ask_reply_address)


async def name_button(query: CallbackQuery, callback_data: AppealStepCB, state: FSMContext, session: AsyncSession, user: User) -> None:
    message = await _close(query)
    await state.update_data(full_name=user.full_name if callback_data.action == "use_name" else None)
    await _next(message, state, session, user, _ask_reply_address)


async def address_text(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    assert message.text is not None
    value = " ".join(message.text.split())
    if len(value) > dialog.REPLY_ADDRESS_MAX or rules.classify_reply_address(value) is None:
        await message.answer(
            _("This is neither an e-mail nor a postal address. Send an e-mail such as name@example.ru, "
              "or a postal address with the postal code, street and house.")
        )
        return
    await state.update_data(reply_address=value)
    await _after_address(message, state, session, user)


async def address_button(query: CallbackQuery, callback_data: AppealStepCB, state: FSMContext, session: AsyncSession, user: User) -> None:
    message = await _close(query)
    value = {"use_email": user.email, "use_postal": user.postal_address}.get(callback_data.action)
    await state.update_data(reply_address=value)
    await _after_address(message, state, session, user)


# --- identification ------------------------------------------------------------------------------


async def identity_phone(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User) -> None:
    """Telegram's contact button (a reply keyboard), as /phone offers it."""
    await query.answer()
    assert isinstance(query.message, Message)
    try:
        await privacy.ensure_consent(session, user_id=user.id)
    except Forbidden:
        await _ask_contacts(query.message, state, session, user)
        return
    await steps.ask_phone(query.message)


async def identity_contact(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    """The shared contact is stored as /phone would; then the check runs again."""
    if await steps.take_contact(message, session, user):
        await _identity_or_summary(message, state, session, user)


async def identity_fix(query: CallbackQuery, callback_data: AppealStepCB, state: FSMContext, session: AsyncSession, user: User) -> None:
    """Enter the missing name or address; submitting checks identification again."""
    message = await _close(query)
    await state.update_data(editing=True)
    await _ask_contacts(message, state, session, user, then="address" if callback_data.action == "address" else "name")


async def identity_as_report(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User) -> None:
    message = await _close(query)
    await state.update_data(kind=Kind.REPORT.value)
    await _show_summary(message, state, session, user)


# --- summary and submit --------------------------------------------------------------------------


EDIT_STEPS: dict[str, Callable[..., Awaitable[None]]] = {
    "kind": _ask_kind,
    "category": _ask_category,
    "text": _ask_text,
    "files": _ask_attachments,
    "location": _ask_location,
}


async def edit(query: CallbackQuery, callback_data: AppealEditCB, state: FSMContext, session: AsyncSession, user: User) -> None:
    """Jump back to one step; finishing it returns to the summary."""
    message = await _close(query)
    await state.update_data(editing=True)
    if callback_data.field in ("name", "address"):
        await _ask_contacts(message, state, session, user, then=callback_data.field)
        return
    await EDIT_STEPS[callback_data.field](message, state, session, user)


async def submit(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User) -> None:
    """Register the appeal and send the receipt."""
    data = await state.get_data()
    town = await _town(session, state)
    assert isinstance(query.message, Message)
    if dialog.is_formal(data):
        check = await appeals.identity_check(user, town, full_name=data.get("full_name"), reply_address=data.get("reply_address"))
        if not check.ok:
            await _close(query)
            await _show_identity(query.message, state, user, check)
            return
    draft = AppealDraft(
        kind=Kind(data["kind"]),
        category_id=data["category_id"],
        text=dialog.joined(data["parts"]),
        full_name=data.get("full_name"),
        reply_address=data.get("reply_address"),
        address=data.get("address"),
        lat=data.get("lat"),
        lon=data.get("lon"),
        file_ids=data.get("files", []),
    )
    appeal = await appeals.submit(session, town=town, draft=draft, author=user)
    await _close(query)
    await state.clear()
    await query.message.answer(dialog.receipt_text(appeal, town))


# --- cancel and unexpected input -----------------------------------------------------------------


async def _cancel(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    current = await state.get_state()
    if current is None:
        await message.answer(_("There is nothing to cancel."), reply_markup=ReplyKeyboardRemove())
    elif current in AppealForm.__all_states_names__:
        await state.clear()
        await message.answer(_("The appeal has been cancelled; nothing was sent."), reply_markup=ReplyKeyboardRemove())
    else:
        await message.answer(_("Cancelled."), reply_markup=ReplyKeyboardRemove())
        await _leave_side_flow(message, state, session, user)


async def cancel_cmd(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    """/cancel, or the Cancel button of a reply keyboard, at any step."""
    await _cancel(message, state, session, user)


async def cancel_button(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User) -> None:
    message = await _close(query)
    await _cancel(message, state, session, user)


async def unexpected(message: Message, state: FSMContext) -> None:
    """Input the step cannot use: say what it expects; what was collected stays."""
    await message.answer(dialog.hint(await state.get_state()))


async def stale_step_button(query: CallbackQuery, state: FSMContext) -> None:
    """A button of another step of the dialog (an older message)."""
    await query.answer(_("This button belongs to another step.") + " " + dialog.hint(await state.get_state()), show_alert=True)


# --- side flows: rating an answer, replying to a request ------------------------------------------


async def _enter_side_flow(state: FSMContext, target: State, **values: object) -> None:
    """Enter a short side flow; an unfinished appeal draft is kept and resumed afterwards."""
    current = await state.get_state()
    data = await state.get_data()
    if current in AppealForm.__all_states_names__:
        data[dialog.RESUME] = current
    elif current not in RateForm.__all_states_names__ + ReplyForm.__all_states_names__:
        data = {}  # nothing of ours to keep
    data = {k: v for k, v in data.items() if k not in dialog.RATE_KEYS + dialog.REPLY_KEYS}
    await state.set_data({**data, **values})
    await state.set_state(target)


async def _restore_draft(state: FSMContext) -> str | None:
    """End a side flow: back to the suspended draft's step (returned), or a clean state."""
    data = await state.get_data()
    resume_at = data.get(dialog.RESUME)
    if not resume_at:
        await state.clear()
        return None
    await state.set_data({k: v for k, v in data.items() if k not in (*dialog.RATE_KEYS, *dialog.REPLY_KEYS, dialog.RESUME)})
    await state.set_state(resume_at)
    return resume_at


async def _leave_side_flow(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    resume_at = await _restore_draft(state)
    if resume_at:
        await message.answer(_("Your unfinished appeal is still here; let us go on."))
        await REPROMPT[resume_at](message, state, session, user)


async def rate(query: CallbackQuery, callback_data: AppealRateCB, state: FSMContext, session: AsyncSession, user: User) -> None:
    """A star button under the answer: save the rating, then offer a comment."""
    appeal = await appeals.rate(session, appeal_id=callback_data.appeal_id, user=user, rating=callback_data.stars)
    message = await _close(query)
    await _enter_side_flow(state, RateForm.comment, rate_appeal=appeal.id, rate_stars=callback_data.stars)
    await message.answer(
        _("Thank you for rating the answer to appeal {number}: {stars}. If you like, write what you think of it, or press “Skip”.").format(
            number=appeal.reg_number, stars="⭐" * callback_data.stars
        ),
        reply_markup=keyboards.rate_comment(),
    )


async def rate_comment(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    assert message.text is not None
    data = await state.get_data()
    await appeals.rate(session, appeal_id=data["rate_appeal"], user=user, rating=data["rate_stars"], comment=message.text)
    await message.answer(_("Thank you! Your comment has been passed on to the administration."))
    await _leave_side_flow(message, state, session, user)


async def rate_skip(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User) -> None:
    message = await _close(query)
    await message.answer(_("Thank you for your feedback!"))
    await _leave_side_flow(message, state, session, user)


async def reply_start(query: CallbackQuery, callback_data: AppealReplyCB, state: FSMContext, session: AsyncSession, user: User) -> None:
    """"Reply" under a request for information: collect the answer until "Send"."""
    appeal = await queries.get_own(session, user_id=user.id, appeal_id=callback_data.appeal_id)
    if appeal.status != Status.INFO_REQUESTED.value:
        await query.answer(_("The administration is not waiting for more information on this appeal."), show_alert=True)
        return
    await query.answer()
    assert isinstance(query.message, Message)
    await _enter_side_flow(state, ReplyForm.collect, reply_appeal=appeal.id, reply_parts=[], reply_files=[])
    await query.message.answer(
        _("Your reply on appeal {number}: send text, photos, documents or voice messages, then press “Send”.").format(number=appeal.reg_number),
        reply_markup=keyboards.appeal_reply(False),
    )


async def _reply_town(session: AsyncSession, state: FSMContext, user: User) -> Municipality:
    appeal = await queries.get_own(session, user_id=user.id, appeal_id=(await state.get_data())["reply_appeal"])
    return await towns.get(session, municipality_id=appeal.municipality_id)


async def reply_text(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    assert message.text is not None
    data = await state.get_data()
    parts: list[str] = data.get("reply_parts", [])
    new = message.text.strip()
    limit = text_limit(await _reply_town(session, state, user))
    over = dialog.over_by(parts, new, limit)
    has_content = bool(parts or data.get("reply_files"))
    if not new or over > 0:
        text = _over_limit_text(over, limit, len(dialog.joined(parts))) if new else dialog.hint(ReplyForm.collect.state)
        await message.answer(text, reply_markup=keyboards.appeal_reply(has_content))
        return
    await message.answer(_("Added to your reply.") + "\n" + _("Send more, or press “Send”."), reply_markup=keyboards.appeal_reply(True))
    await state.update_data(reply_parts=[*parts, new])


async def reply_file(message: Message, state: FSMContext, session: AsyncSession, user: User, bot: Bot, settings: Settings) -> None:
    data = await state.get_data()
    stored_ids: list[int] = data.get("reply_files", [])
    has_content = bool(stored_ids or data.get("reply_parts"))
    if len(stored_ids) >= dialog.MAX_ATTACHMENTS:
        await message.answer(
            _("You have already attached {max} files, the most allowed. Press “Send” to go on.").format(max=dialog.MAX_ATTACHMENTS),
            reply_markup=keyboards.appeal_reply(True),
        )
        return
    town = await _reply_town(session, state, user)
    try:
        stored = await _store(message, bot, session, town=town, user=user, settings=settings)
    except DomainError as exc:
        await message.answer(exc.render(), reply_markup=keyboards.appeal_reply(has_content))
        return
    stored_ids = [*stored_ids, stored.id]
    parts, note = _take_caption(message, data.get("reply_parts", []), text_limit(town))
    added = _("File added to your reply ({count} of {max}).").format(count=len(stored_ids), max=dialog.MAX_ATTACHMENTS)
    await message.answer(added + note + "\n" + _("Send more, or press “Send”."), reply_markup=keyboards.appeal_reply(True))
    await state.update_data(reply_files=stored_ids, reply_parts=parts)


async def reply_send(query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User) -> None:
    data = await state.get_data()
    parts, stored_ids = data.get("reply_parts", []), data.get("reply_files", [])
    if not parts and not stored_ids:
        await query.answer(_("Write something or attach a file first."), show_alert=True)
        return
    await appeals.add_resident_reply(session, appeal_id=data["reply_appeal"], user=user, text=dialog.joined(parts), file_ids=stored_ids)
    appeal = await queries.get_own(session, user_id=user.id, appeal_id=data["reply_appeal"])
    message = await _close(query)
    await message.answer(_("Your reply on appeal {number} has been sent to the administration.").format(number=appeal.reg_number))
    await _leave_side_flow(message, state, session, user)


# --- my appeals ----------------------------------------------------------------------------------


async def _my_appeals(message: Message, session: AsyncSession, user: User) -> None:
    items = await queries.of_author(session, user_id=user.id)
    if not items:
        await message.answer(_("You have not sent any appeals yet. To write one: /appeal"))
        return
    town_of: dict[int, Municipality] = {}
    for a in items:
        if a.municipality_id not in town_of:
            town_of[a.municipality_id] = await towns.get(session, municipality_id=a.municipality_id)
    now = utcnow()
    lines = [_("Your appeals:"), *(dialog.list_line(a, town_of[a.municipality_id], now) for a in items)]
    await message.answer("\n\n".join(lines), reply_markup=keyboards.my_appeals([(a.id, a.reg_number) for a in items]))


async def my_appeals_cmd(message: Message, session: AsyncSession, user: User) -> None:
    """The person's appeals, newest first."""
    await _my_appeals(message, session, user)



async def appeal_details(query: CallbackQuery, callback_data: AppealViewCB, session: AsyncSession, user: User) -> None:
    """One appeal: status, dates, the answer's outgoing number."""
    appeal = await queries.get_own(session, user_id=user.id, appeal_id=callback_data.appeal_id)
    town = await towns.get(session, municipality_id=appeal.municipality_id)
    names = {c.id: c.name for c in await queries.categories(session, municipality_id=town.id, active_only=False)}
    answer_number = next(
        (d.number for d in await documents.for_origin(session, origin_type="appeal", origin_id=appeal.id) if d.id == appeal.answer_document_id),
        None,
    )
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.answer(
        dialog.details_text(appeal, town, category=names.get(appeal.category_id or 0, "—"), answer_number=answer_number, now=utcnow()),
        reply_markup=keyboards.appeal_details(appeal.id, can_reply=appeal.status == Status.INFO_REQUESTED.value),
    )


# --- the router ----------------------------------------------------------------------------------


def _step(step: str, *actions: str):  # noqa: ANN202 - a filter
    return AppealStepCB.filter((F.step == step) & F.action.in_(set(actions)))


MEDIA = F.photo | F.document | F.voice
FREE_TEXT = F.text & ~F.text.startswith("/")


def create_router() -> Router:
    """The appeals router, built fresh for each Dispatcher."""
    r = Router(name="appeals")
    r.message.filter(F.chat.type == "private")
    r.callback_query.filter(F.message.chat.type == "private")

    # Anywhere: start, lists, the buttons the notifier sends, cancel.
    r.message.register(appeal_cmd, Command("appeal"))
    r.callback_query.register(from_menu(appeal_cmd), AppealMenuCB.filter(F.action == "new"))
    r.message.register(my_appeals_cmd, Command("myappeals"))
    r.callback_query.register(from_menu(my_appeals_cmd), AppealMenuCB.filter(F.action == "mine"))
    r.callback_query.register(appeal_details, AppealViewCB.filter())
    r.callback_query.register(rate, AppealRateCB.filter())
    r.callback_query.register(reply_start, AppealReplyCB.filter())
    r.message.register(cancel_cmd, Command("cancel"), StateFilter(None, *MINE))
    r.message.register(cancel_cmd, I18nText(core_keyboards.CANCEL), StateFilter(*MINE))
    r.callback_query.register(cancel_button, AppealStepCB.filter(F.action == "cancel"))
    r.callback_query.register(resume, _step("resume", "continue", "restart", "discard"), StateFilter(*MINE))
    # The router sits before /start: mid-dialog, /start first says the draft is kept.
    r.message.register(start_mid_dialog, CommandStart(), StateFilter(AppealForm), appeals_here)
    # Free text with no dialog going: offered for filing (short small talk goes on to the fallback).
    r.message.register(offer_to_file, StateFilter(None), FREE_TEXT, F.text.func(dialog.worth_offering), appeals_here)
    r.callback_query.register(offer_choice, _step("offer", "formal", "report", "dismiss"), StateFilter(None))

    # The dialog, step by step.
    r.callback_query.register(choose_kind, AppealKindCB.filter(), AppealForm.kind)
    r.callback_query.register(choose_category, AppealCategoryCB.filter(), AppealForm.category)
    r.message.register(text_part, AppealForm.text, FREE_TEXT)
    r.callback_query.register(text_done, _step("text", "done"), AppealForm.text)
    r.callback_query.register(text_clear, _step("text", "clear"), AppealForm.text)
    r.message.register(attachment, AppealForm.attachments, MEDIA)
    r.callback_query.register(attachments_done, _step("files", "done", "skip"), AppealForm.attachments)
    r.callback_query.register(attachments_clear, _step("files", "clear"), AppealForm.attachments)
    r.message.register(location_pin, AppealForm.location, F.location)
    r.message.register(location_skip, AppealForm.location, I18nText(core_keyboards.SKIP))
    r.message.register(location_address, AppealForm.location, FREE_TEXT)
    r.callback_query.register(consent_accept, PrivacyCB.filter(F.action == "accept"), AppealForm.consent)
    r.callback_query.register(consent_skip, _step("consent", "skip"), AppealForm.consent)
    r.message.register(name_text, AppealForm.full_name, FREE_TEXT)
    r.callback_query.register(name_button, _step("name", "use_name", "skip"), AppealForm.full_name)
    r.message.register(address_text, AppealForm.reply_address, FREE_TEXT)
    r.callback_query.register(address_button, _step("addr", "use_email", "use_postal", "skip"), AppealForm.reply_address)
    r.callback_query.register(identity_phone, _step("id", "phone"), AppealForm.identity)
    r.message.register(identity_contact, AppealForm.identity, F.contact)
    r.callback_query.register(identity_fix, _step("id", "name", "address"), AppealForm.identity)
    r.callback_query.register(identity_as_report, _step("id", "report"), AppealForm.identity)
    r.callback_query.register(edit, AppealEditCB.filter(), AppealForm.summary)
    r.callback_query.register(submit, _step("sum", "submit"), AppealForm.summary)

    # Side flows.
    r.message.register(rate_comment, RateForm.comment, FREE_TEXT)
    r.callback_query.register(rate_skip, _step("rate", "skip"), RateForm.comment)
    r.message.register(reply_text, ReplyForm.collect, FREE_TEXT)
    r.message.register(reply_file, ReplyForm.collect, MEDIA)
    r.callback_query.register(reply_send, _step("reply", "send"), ReplyForm.collect)

    # Whatever a step cannot use gets that step's hint. Commands and contacts pass on to the
    # routers below (/help, /privacy, the contact flow), and so do other routers' buttons.
    r.message.register(unexpected, StateFilter(*MINE), ~F.text.startswith("/"), ~F.contact)
    r.callback_query.register(stale_step_button, StateFilter(*MINE), F.data.regexp(r"^(akind|acat|astep|aedit):"))
    return r
