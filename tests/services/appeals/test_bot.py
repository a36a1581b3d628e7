"""The resident's appeals in the bot, end to end: real Update JSON through the real
Dispatcher, asserting on the exact Bot API calls and on what lands in the database.

Texts are asserted in English (the test people have language_code "en"; msgids are English)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, GetFile, SendMessage
from aiogram.types import ReplyKeyboardMarkup, ReplyKeyboardRemove
from sqlalchemy import select

from backend.core.documents import pdf
from backend.core.files.models import StoredFile
from backend.core.municipalities import service as towns
from backend.core.users.models import Role, User
from backend.services.appeals import service as appeals
from backend.services.appeals.models import Appeal, AppealComment
from backend.services.appeals.rules import Kind
from backend.services.appeals.schemas import AppealDraft
from bot.callbacks import PrivacyCB
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
from bot.services.appeals.dialog import AppealForm
from tests import updates as U
from tests.conftest import BotHarness
from tests.factories import deliver_outbox, make_town, make_user, seed
from tests.services.appeals.factories import appeals_settings

POLICY_START = "Consent to the processing of personal data"
CONSENT_ASK = "Your name and contact details are personal data: to take them, we need your consent."
TEXT_PROMPT = (
    "Describe the problem or your question in your own words, up to {limit} characters. "
    "You can send several messages; press “Done” when you have finished."
)
ATTACH_PROMPT = (
    "You can attach up to 10 photos, documents or voice messages: send them one by one, then press “Done”. "
    "If there are none, press “Skip”."
)
LOCATION_PROMPT = "Where is it? Send a location pin with the button below (or 📎 → Location), or type the address."
NAME_PROMPT = "Your full name: surname, first name and patronymic, if you have one. The law requires it for an answer."
ADDRESS_PROMPT = "Where should the answer be sent? Send an e-mail, or a postal address with the postal code."


# --- helpers --------------------------------------------------------------------------------------


def step(step_: str, action: str) -> str:
    return AppealStepCB(step=step_, action=action).pack()  # type: ignore[arg-type]


def buttons(call: Any) -> list[list[tuple[str, str | None]]]:
    """The inline keyboard of a call as rows of (caption, callback data)."""
    return [[(b.text, b.callback_data) for b in row] for row in call.reply_markup.inline_keyboard]


def types(calls: list[Any]) -> list[type]:
    return [type(c) for c in calls]


def closed(calls: list[Any]) -> bool:
    """A button press that was answered and took its keyboard off the message."""
    return (
        isinstance(calls[0], AnswerCallbackQuery)
        and isinstance(calls[1], EditMessageReplyMarkup)
        and calls[1].reply_markup is None
    )


class Resident:
    """One person chatting with the bot through a harness (which may be swapped)."""

    def __init__(self, harness: BotHarness, telegram_id: int, first_name: str = "Ivan") -> None:
        self.h = harness
        self.tg = U.tg_user(telegram_id, first_name, language_code="en")
        self.id = telegram_id

    async def send(self, text: str) -> list[Any]:
        return await self.h.feed(U.message(self.tg, text))

    async def press(self, data: str) -> list[Any]:
        return await self.h.feed(U.callback(self.tg, data))

    async def feed(self, builder: Any, *args: Any, **kw: Any) -> list[Any]:
        return await self.h.feed(builder(self.tg, *args, **kw))

    async def state(self) -> tuple[str | None, dict[str, Any]]:
        ctx = self.h.dp.fsm.get_context(self.h.bot, chat_id=self.id, user_id=self.id)
        return await ctx.get_state(), await ctx.get_data()


async def make_kolomna(runtime: Any, *, tz: str = "Europe/Moscow", **settings: Any) -> tuple[Any, Any, Any]:
    async def make(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Kolomna", timezone=tz, settings=appeals_settings(reg_prefix="KLM", **settings))
        dept = await towns.add_department(s, municipality_id=town.id, name="Roads department")
        roads = await appeals.create_category(s, municipality_id=town.id, code="roads", name="Roads", department_id=dept.id, sort=10)
        light = await appeals.create_category(s, municipality_id=town.id, code="light", name="Street lights", department_id=dept.id, sort=20)
        return town, roads, light

    return await seed(runtime, make)


async def db_user(runtime: Any, telegram_id: int) -> User:
    async with runtime.sessionmaker() as s:
        return await s.scalar(select(User).where(User.telegram_id == telegram_id))


async def only_appeal(runtime: Any) -> Appeal:
    async with runtime.sessionmaker() as s:
        rows = list(await s.scalars(select(Appeal)))
    assert len(rows) == 1
    return rows[0]


async def files_of(runtime: Any, **where: Any) -> list[StoredFile]:
    async with runtime.sessionmaker() as s:
        stmt = select(StoredFile).order_by(StoredFile.id)
        for k, v in where.items():
            stmt = stmt.where(getattr(StoredFile, k) == v)
        return list(await s.scalars(stmt))


async def joined_and_consented(r: Resident) -> None:
    await r.send("/start kolomna")
    calls = await r.press(PrivacyCB(action="accept").pack())
    assert calls[0].text == "Thank you, consent recorded."


async def deliver(h: BotHarness) -> list[Any]:
    """Send the outbox through the bot's notifier, as the scheduler does."""
    h.session.calls.clear()
    rt = h.runtime
    await deliver_outbox(rt)
    return h.session.pop()


# The first half of a formal appeal, up to the location step; the second half after it.


async def first_half(r: Resident, roads_id: int) -> None:
    await r.send("/start kolomna")
    await r.send("/appeal")
    await r.press(AppealKindCB(kind="statement").pack())
    await r.press(AppealCategoryCB(id=roads_id).pack())
    await r.send("The road on Mira street has a deep pothole.")
    await r.send("Cars get damaged every day.")
    await r.press(step("text", "done"))
    calls = await r.feed(U.photo, "photo-pothole")
    assert types(calls) == [GetFile, SendMessage]
    await r.press(step("files", "done"))


async def second_half(r: Resident) -> list[Any]:
    await r.feed(U.location, 55.10312, 38.76543)
    await r.press(PrivacyCB(action="accept").pack())
    await r.send("Ivanov Ivan Ivanovich")
    await r.send("ivanov@example.ru")
    await r.press(step("id", "phone"))
    await r.feed(U.contact, "+79990001122")
    return await r.press(step("sum", "submit"))


# --- the whole formal appeal ---------------------------------------------------------------------


async def test_formal_appeal_end_to_end(harness, runtime):
    town, roads, light = await make_kolomna(runtime, tz="Asia/Yekaterinburg")
    r = Resident(harness, 801)
    calls = await r.send("/start kolomna")
    menu = buttons(calls[1])
    assert menu[0] == [("👤 Profile", None)]  # the miniapp
    assert menu[1] == [("📝 Write to the administration", AppealMenuCB(action="new").pack())]
    assert menu[2] == [("📋 My appeals", AppealMenuCB(action="mine").pack())]

    # 1. Kind, from the menu button.
    calls = await r.press(AppealMenuCB(action="new").pack())
    assert types(calls) == [AnswerCallbackQuery, SendMessage]
    assert calls[1].chat_id == 801
    assert calls[1].text == (
        "What would you like to send?\n\n"
        "• Proposal, statement or complaint: a formal appeal under Federal Law 59-FZ. It gets a "
        "registration number and must be answered within 30 days; you will need to identify yourself.\n"
        "• Problem report: quicker and informal (a pothole, a broken street light, rubbish), "
        "no identification needed."
    )
    assert buttons(calls[1]) == [
        [
            ("💡 Proposal", AppealKindCB(kind="proposal").pack()),
            ("📄 Statement", AppealKindCB(kind="statement").pack()),
            ("❗ Complaint", AppealKindCB(kind="complaint").pack()),
        ],
        [("⚡ Problem report", AppealKindCB(kind="report").pack())],
        [("✖️ Cancel", step("kind", "cancel"))],
    ]

    # 2. Category.
    calls = await r.press(AppealKindCB(kind="statement").pack())
    assert closed(calls) and types(calls) == [AnswerCallbackQuery, EditMessageReplyMarkup, SendMessage]
    assert calls[2].text == "What is it about? Choose a category."
    assert buttons(calls[2]) == [
        [("Roads", AppealCategoryCB(id=roads.id).pack())],
        [("Street lights", AppealCategoryCB(id=light.id).pack())],
        [("✖️ Cancel", step("cat", "cancel"))],
    ]

    # 3. Text, in two messages.
    calls = await r.press(AppealCategoryCB(id=roads.id).pack())
    assert closed(calls) and calls[2].text == TEXT_PROMPT.format(limit=10000)
    first, second = "The road on Mira street has a deep pothole.", "Cars get damaged every day."
    calls = await r.send(first)
    assert types(calls) == [SendMessage]
    assert calls[0].text == f"Got it: {len(first)} of 10000 characters. Send more, or press “Done”."
    assert buttons(calls[0]) == [
        [("✅ Done", step("text", "done")), ("🗑 Start over", step("text", "clear"))],
        [("✖️ Cancel", step("text", "cancel"))],
    ]
    calls = await r.send(second)
    joined = f"{first}\n\n{second}"
    assert calls[0].text == f"Got it: {len(joined)} of 10000 characters. Send more, or press “Done”."

    # 4. A photo, stored at once.
    calls = await r.press(step("text", "done"))
    assert closed(calls) and calls[2].text == ATTACH_PROMPT
    assert buttons(calls[2]) == [[("⏭ Skip", step("files", "skip"))], [("✖️ Cancel", step("files", "cancel"))]]
    calls = await r.feed(U.photo, "photo-pothole")
    assert types(calls) == [GetFile, SendMessage]
    assert calls[0].file_id == "photo-pothole"  # the largest size, not the thumbnail
    assert calls[1].text == "Attachment saved (1 of 10).\nSend another or press “Done”."
    assert harness.session.downloads == ["photo-pothole"]
    user = await db_user(runtime, 801)
    [stored] = await files_of(runtime)
    assert (stored.owner_type, stored.owner_id, stored.mime, stored.created_by) == ("appeal", None, "image/jpeg", user.id)
    assert stored.filename == "photo_photo-pothole-u.jpg" and stored.municipality_id == town.id
    assert (await r.state())[1]["files"] == [stored.id]

    # 5. Location: a pin, through the reply keyboard; the keyboard is removed after.
    calls = await r.press(step("files", "done"))
    assert closed(calls) and calls[2].text == LOCATION_PROMPT + "\n\nIf the place does not matter, press “Skip”."
    location_kb = calls[2].reply_markup
    assert isinstance(location_kb, ReplyKeyboardMarkup)
    assert location_kb.keyboard[0][0].request_location is True
    assert [b.text for b in location_kb.keyboard[1]] == ["⏭ Skip", "✖️ Cancel"]
    calls = await r.feed(U.location, 55.10312, 38.76543)
    assert types(calls) == [SendMessage, SendMessage]
    assert calls[0].text == "Location saved." and isinstance(calls[0].reply_markup, ReplyKeyboardRemove)

    # 6. Consent before any personal data; the dialog goes on after it.
    assert calls[1].text.startswith(POLICY_START) and calls[1].text.endswith("\n\n" + CONSENT_ASK)
    assert buttons(calls[1]) == [[("✅ I agree", PrivacyCB(action="accept").pack())], [("✖️ Cancel", step("consent", "cancel"))]]
    calls = await r.press(PrivacyCB(action="accept").pack())
    assert types(calls) == [AnswerCallbackQuery, EditMessageReplyMarkup, SendMessage]
    assert calls[0].text == "Thank you, consent recorded."
    assert calls[2].text == NAME_PROMPT
    assert buttons(calls[2]) == [[("⏭ Skip", step("name", "skip"))], [("✖️ Cancel", step("name", "cancel"))]]

    # 7. Name and reply address; a bad address is refused and nothing is lost.
    calls = await r.send("Ivanov   Ivan Ivanovich")
    assert calls[0].text == ADDRESS_PROMPT
    calls = await r.send("call me maybe")
    assert calls[0].text == (
        "This is neither an e-mail nor a postal address. Send an e-mail such as name@example.ru, "
        "or a postal address with the postal code, street and house."
    )
    state, data = await r.state()
    assert state == AppealForm.reply_address.state and data["full_name"] == "Ivanov Ivan Ivanovich"

    # 8. Identification: the phone is missing; Gosuslugi is offered as not configured.
    calls = await r.send("ivanov@example.ru")
    assert calls[0].text == (
        "A formal appeal needs a phone number confirmed through Telegram's button.\n\n"
        "Ways to confirm who you are:\n"
        "• Phone number confirmed by Telegram\n"
        "• Gosuslugi (ESIA): not configured yet\n\n"
        "Or file it as a problem report: no identification is needed, but it is not a formal appeal under 59-FZ."
    )
    assert buttons(calls[0]) == [
        [("📱 Share phone", step("id", "phone"))],
        [("⚡ File as a problem report instead", step("id", "report"))],
        [("✖️ Cancel", step("id", "cancel"))],
    ]
    calls = await r.press(step("id", "phone"))
    assert types(calls) == [AnswerCallbackQuery, SendMessage]
    assert calls[1].text == "Press the button below to share the phone number of this Telegram account."
    assert calls[1].reply_markup.keyboard[0][0].request_contact is True

    # 9. The contact goes through the profile's flow, then straight to the summary.
    calls = await r.feed(U.contact, "+79990001122")
    assert types(calls) == [SendMessage, SendMessage]
    assert calls[0].text == "Phone number saved: +79990001122"
    summary = (
        "Please check everything before sending:\n\n"
        "Type: Statement\n"
        "Category: {category}\n"
        f"Text: {first} {second}\n"
        "Attachments: 1\n"
        "Location: 📍 55.10312, 38.76543\n"
        "Name: Ivanov Ivan Ivanovich\n"
        "Reply address: ivanov@example.ru"
    )
    assert calls[1].text == summary.format(category="Roads")
    assert buttons(calls[1]) == [
        [("✏️ Type", AppealEditCB(field="kind").pack()), ("✏️ Category", AppealEditCB(field="category").pack())],
        [("✏️ Text", AppealEditCB(field="text").pack()), ("✏️ Attachments", AppealEditCB(field="files").pack())],
        [("✏️ Location", AppealEditCB(field="location").pack()), ("✏️ Name", AppealEditCB(field="name").pack())],
        [("✏️ Reply address", AppealEditCB(field="address").pack())],
        [("✅ Submit", step("sum", "submit"))],
        [("✖️ Cancel", step("sum", "cancel"))],
    ]

    # 10. Change one part: the category step, then back to the summary.
    calls = await r.press(AppealEditCB(field="category").pack())
    assert closed(calls) and calls[2].text == "What is it about? Choose a category."
    calls = await r.press(AppealCategoryCB(id=light.id).pack())
    assert closed(calls) and types(calls) == [AnswerCallbackQuery, EditMessageReplyMarkup, SendMessage]
    assert calls[2].text == summary.format(category="Street lights")

    # 11. Submit: the receipt matches the registered row.
    calls = await r.press(step("sum", "submit"))
    assert closed(calls) and types(calls) == [AnswerCallbackQuery, EditMessageReplyMarkup, SendMessage]
    appeal = await only_appeal(runtime)
    tz = ZoneInfo("Asia/Yekaterinburg")
    registered = appeal.registered_at.astimezone(tz)
    due = appeal.due_at.astimezone(tz)
    assert due.date() == registered.date() + timedelta(days=30)
    assert calls[2].chat_id == 801
    assert calls[2].text == (
        "Your appeal has been registered.\n\n"
        f"Registration number: {appeal.reg_number}\n"
        f"Registered: {registered:%d.%m.%Y %H:%M}\n"
        f"Answer due by: {due:%d.%m.%Y}\n\n"
        "The answer will come to this chat. Your appeals: /myappeals"
    )
    assert appeal.reg_number.startswith(f"KLM-{registered.year}-")
    assert (appeal.kind, appeal.status, appeal.category_id, appeal.author_id) == ("statement", "registered", light.id, user.id)
    assert appeal.text == joined
    assert (appeal.full_name, appeal.reply_address, appeal.reply_address_type) == ("Ivanov Ivan Ivanovich", "ivanov@example.ru", "email")
    assert (appeal.lat, appeal.lon, appeal.address, appeal.phone) == (55.10312, 38.76543, None, "+79990001122")
    assert appeal.answer_required is True and appeal.source == "bot"
    [stored] = await files_of(runtime)
    assert (stored.owner_type, stored.owner_id) == ("appeal", appeal.id)
    assert await r.state() == (None, {})

    # The summary's buttons are gone with the state: an old one is stale now.
    calls = await r.press(step("sum", "submit"))
    assert calls[0].show_alert is True and calls[0].text.startswith("This button is no longer active.")
    assert len(await files_of(runtime)) == 1


async def test_problem_report_needs_no_identification(harness, runtime):
    town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 802)
    await r.send("/start kolomna")
    await r.send("/appeal")
    await r.press(AppealKindCB(kind="report").pack())
    await r.press(AppealCategoryCB(id=roads.id).pack())
    await r.send("Street light is broken near house 5.")
    await r.press(step("text", "done"))
    calls = await r.press(step("files", "skip"))
    assert calls[2].text == LOCATION_PROMPT + "\n\nA location helps the service find the place quickly."

    # A typed address; no consent yet: a report may go on without contact details.
    calls = await r.send("Mira street 5")
    assert types(calls) == [SendMessage, SendMessage]
    assert calls[0].text == "Address saved." and isinstance(calls[0].reply_markup, ReplyKeyboardRemove)
    assert calls[1].text.startswith(POLICY_START)
    assert buttons(calls[1]) == [
        [("✅ I agree", PrivacyCB(action="accept").pack())],
        [("⏭ Go on without contact details", step("consent", "skip"))],
        [("✖️ Cancel", step("consent", "cancel"))],
    ]
    calls = await r.press(step("consent", "skip"))
    assert closed(calls)
    assert calls[2].text == (
        "Please check everything before sending:\n\n"
        "Type: Problem report\n"
        "Category: Roads\n"
        "Text: Street light is broken near house 5.\n"
        "Attachments: 0\n"
        "Location: Mira street 5\n"
        "Name: —\n"
        "Reply address: —"
    )
    calls = await r.press(step("sum", "submit"))
    appeal = await only_appeal(runtime)
    registered = appeal.registered_at.astimezone(ZoneInfo("Europe/Moscow"))
    assert calls[2].text == (
        "Your problem report has been registered.\n\n"
        f"Registration number: {appeal.reg_number}\n"
        f"Registered: {registered:%d.%m.%Y %H:%M}\n"
        f"Answer due by: {appeal.due_at.astimezone(ZoneInfo('Europe/Moscow')):%d.%m.%Y}\n\n"
        "The answer will come to this chat. Your appeals: /myappeals"
    )
    assert (appeal.kind, appeal.address, appeal.full_name, appeal.reply_address, appeal.phone) == ("report", "Mira street 5", None, None, None)
    assert appeal.due_at.astimezone(ZoneInfo("Europe/Moscow")).date() == registered.date() + timedelta(days=10)
    assert (await db_user(runtime, 802)).phone is None


async def test_missing_identification_offers_filing_as_report(harness, runtime):
    town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 803)
    await joined_and_consented(r)
    await r.send("/appeal")
    await r.press(AppealKindCB(kind="complaint").pack())
    await r.press(AppealCategoryCB(id=roads.id).pack())
    await r.send("Nobody repairs the stairs.")
    await r.press(step("text", "done"))
    await r.press(step("files", "skip"))
    calls = await r.send("⏭ Skip")  # the reply keyboard's Skip
    assert calls[0].text == "No location, then." and isinstance(calls[0].reply_markup, ReplyKeyboardRemove)
    assert calls[1].text == NAME_PROMPT  # consent was given before: no policy
    calls = await r.press(step("name", "skip"))
    assert closed(calls) and calls[2].text == ADDRESS_PROMPT
    calls = await r.press(step("addr", "skip"))
    assert calls[2].text.startswith(
        "A formal appeal needs a phone number confirmed through Telegram's button, your full name, "
        "an e-mail or postal address for the answer.\n"
    )
    assert buttons(calls[2]) == [
        [("📱 Share phone", step("id", "phone"))],
        [("✏️ Enter full name", step("id", "name"))],
        [("✏️ Enter reply address", step("id", "address"))],
        [("⚡ File as a problem report instead", step("id", "report"))],
        [("✖️ Cancel", step("id", "cancel"))],
    ]
    # Typing at this step only gets a hint.
    calls = await r.send("what now?")
    assert calls[0].text == "Please choose one of the buttons above."

    calls = await r.press(step("id", "report"))
    assert closed(calls) and calls[2].text.startswith("Please check everything before sending:\n\nType: Problem report\n")
    await r.press(step("sum", "submit"))
    appeal = await only_appeal(runtime)
    assert (appeal.kind, appeal.status, appeal.text) == ("report", "registered", "Nobody repairs the stairs.")


async def test_identity_fix_from_the_offer_and_profile_values(harness, runtime):
    """'Enter full name' jumps to the name step; the profile's value is offered; submit checks again."""
    town, roads, _light = await make_kolomna(runtime)

    async def prefill(s):  # noqa: ANN001, ANN202
        user = await make_user(s, telegram_id=804, first_name="Olga", town=town)
        user.full_name, user.email, user.phone, user.identity_level = "Petrova Olga", "olga@example.ru", "+79990001100", "phone"

    await seed(runtime, prefill)
    r = Resident(harness, 804, "Olga")
    await joined_and_consented(r)
    await r.send("/appeal")
    await r.press(AppealKindCB(kind="proposal").pack())
    await r.press(AppealCategoryCB(id=roads.id).pack())
    await r.send("Plant trees along Mira street.")
    await r.press(step("text", "done"))
    await r.press(step("files", "skip"))
    calls = await r.send("⏭ Skip")
    assert buttons(calls[1])[0] == [("Use: Petrova Olga", step("name", "use_name"))]
    calls = await r.press(step("name", "skip"))
    assert buttons(calls[2])[0] == [("Use: olga@example.ru", step("addr", "use_email"))]
    calls = await r.press(step("addr", "use_email"))
    assert calls[2].text.startswith("A formal appeal needs your full name.\n")
    assert [row[0][1] for row in buttons(calls[2])] == [step("id", "name"), step("id", "report"), step("id", "cancel")]

    calls = await r.press(step("id", "name"))
    assert closed(calls) and calls[2].text == NAME_PROMPT
    calls = await r.press(step("name", "use_name"))
    assert calls[2].text.startswith("Please check everything before sending:\n\nType: Proposal\n")
    assert "Name: Petrova Olga\nReply address: olga@example.ru" in calls[2].text
    calls = await r.press(step("sum", "submit"))
    assert calls[2].text.startswith("Your appeal has been registered.")
    appeal = await only_appeal(runtime)
    assert (appeal.kind, appeal.full_name, appeal.reply_address, appeal.phone) == ("proposal", "Petrova Olga", "olga@example.ru", "+79990001100")


async def test_unanswerable_appeal_receipt_gives_the_reason(harness, runtime):
    """A town that does not demand contacts up front: the appeal is registered, but art. 11 applies."""
    town, roads, _light = await make_kolomna(runtime, require_contacts=False)
    r = Resident(harness, 805)
    await joined_and_consented(r)
    await r.feed(U.contact, "+79990001105")
    await r.send("/appeal")
    await r.press(AppealKindCB(kind="statement").pack())
    await r.press(AppealCategoryCB(id=roads.id).pack())
    await r.send("The bus stop roof leaks.")
    await r.press(step("text", "done"))
    await r.press(step("files", "skip"))
    await r.send("⏭ Skip")
    await r.press(step("name", "skip"))
    calls = await r.press(step("addr", "skip"))
    assert calls[2].text.startswith("Please check everything before sending:")  # identification is met
    calls = await r.press(step("sum", "submit"))
    appeal = await only_appeal(runtime)
    assert appeal.status == "no_answer_required" and appeal.answer_required is False
    registered = appeal.registered_at.astimezone(ZoneInfo("Europe/Moscow"))
    assert calls[2].text == (
        "Your appeal has been registered.\n\n"
        f"Registration number: {appeal.reg_number}\n"
        f"Registered: {registered:%d.%m.%Y %H:%M}\n\n"
        "Under article 11 of Federal Law 59-FZ this appeal will not be answered: The appeal does not give the citizen's name.\n"
        "To receive an answer, send a new appeal with your full name and a reply address.\n\n"
        "Your appeals: /myappeals"  # and no promise of an answer in this chat
    )


# --- text limit, attachments' limits, unexpected input, cancel ----------------------------------


async def test_text_over_the_town_limit_keeps_what_was_sent(harness, runtime):
    town, roads, _light = await make_kolomna(runtime, max_chars=40)
    r = Resident(harness, 806)
    await r.send("/start kolomna")
    await r.send("/appeal")
    await r.press(AppealKindCB(kind="report").pack())
    calls = await r.press(AppealCategoryCB(id=roads.id).pack())
    assert calls[2].text == TEXT_PROMPT.format(limit=40)

    calls = await r.send("x" * 45)
    assert calls[0].text == "The text is 5 characters over the limit of 40. Please shorten it and send it again."
    assert buttons(calls[0]) == [[("✖️ Cancel", step("text", "cancel"))]]
    calls = await r.send("a" * 30)
    assert calls[0].text == "Got it: 30 of 40 characters. Send more, or press “Done”."
    calls = await r.send("b" * 20)  # 30 + 2 (blank line) + 20 = 52
    assert calls[0].text == (
        "This message does not fit: with it the text would be 12 characters over the limit of 40. "
        "What you sent before is kept (30 characters). Send a shorter message, or go on with the buttons below."
    )
    assert buttons(calls[0])[0] == [("✅ Done", step("text", "done")), ("🗑 Start over", step("text", "clear"))]
    calls = await r.send("c" * 8)  # exactly 40
    assert calls[0].text == "Got it: 40 of 40 characters. Send more, or press “Done”."
    assert (await r.state())[1]["parts"] == ["a" * 30, "c" * 8]

    # A caption that would break the limit is not added; the photo is kept all the same.
    await r.press(step("text", "done"))
    calls = await r.feed(U.photo, "photo-captioned", caption="and more words")
    assert calls[1].text == (
        "Attachment saved (1 of 10).\n"
        "Its caption did not fit into the limit of 40 characters and was not added to the text.\n"
        "Send another or press “Done”."
    )
    state, data = await r.state()
    assert data["parts"] == ["a" * 30, "c" * 8] and len(data["files"]) == 1

    # Back at the text step from the summary, "Start over" clears and "Done" with nothing is refused.
    await r.press(step("files", "done"))
    await r.send("⏭ Skip")
    await r.press(step("consent", "skip"))
    calls = await r.press(AppealEditCB(field="text").pack())
    assert calls[2].text == (
        "Your text has 40 characters now. Send more to add to it, or press “Start over” to write it anew. "
        "Press “Done” when you have finished."
    )
    calls = await r.press(step("text", "clear"))
    assert calls[2].text == "The text has been cleared. Send it again."
    calls = await r.press(step("text", "done"))
    assert types(calls) == [AnswerCallbackQuery]
    assert calls[0].text == "Please write the text first." and calls[0].show_alert is True


async def test_attachment_limits_and_types(harness, runtime):
    town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 807)
    await r.send("/start kolomna")
    await r.send("/appeal")
    await r.press(AppealKindCB(kind="report").pack())
    await r.press(AppealCategoryCB(id=roads.id).pack())
    await r.send("Rubbish everywhere.")
    await r.press(step("text", "done"))

    # Too big: refused before downloading.
    calls = await r.feed(U.document, "doc-pdf-big", file_size=25 * 1024 * 1024)
    assert types(calls) == [SendMessage]
    assert calls[0].text == "The file is larger than 20 MB.\n\nSend another file, or go on with the buttons below."
    # A type the town does not take.
    calls = await r.feed(U.document, "doc-exe", file_name="setup.exe", mime_type="application/x-msdownload")
    assert types(calls) == [GetFile, SendMessage]
    assert calls[1].text.startswith("Files of this type are not accepted.")
    # Content that is not what it claims.
    harness.session.files["doc-fake-pdf"] = b"MZ\x90\x00 not a pdf"
    calls = await r.feed(U.document, "doc-fake-pdf")
    assert calls[1].text.startswith("The file's content does not match its type.")
    assert await files_of(runtime) == []

    # A PDF, a voice message, then photos up to ten; the eleventh is refused.
    calls = await r.feed(U.document, "doc-pdf-1")
    assert calls[1].text == "Attachment saved (1 of 10).\nSend another or press “Done”."
    calls = await r.feed(U.voice, "voice-1")
    assert calls[1].text == "Attachment saved (2 of 10).\nSend another or press “Done”."
    calls = await r.feed(U.photo, "photo-3", caption="Look at the corner.")
    assert calls[1].text == "Attachment saved (3 of 10).\nIts caption was added to the text.\nSend another or press “Done”."
    assert (await r.state())[1]["parts"] == ["Rubbish everywhere.", "Look at the corner."]
    for n in range(4, 11):
        calls = await r.feed(U.photo, f"photo-{n}")
        assert calls[1].text == f"Attachment saved ({n} of 10).\nSend another or press “Done”."
    calls = await r.feed(U.photo, "photo-11")
    assert types(calls) == [SendMessage]
    assert calls[0].text == "You have already attached 10 files, the most allowed. Press “Done” to go on."
    stored = await files_of(runtime)
    assert [f.mime for f in stored[:2]] == ["application/pdf", "audio/ogg"] and len(stored) == 10
    assert (await r.state())[1]["files"] == [f.id for f in stored]


async def test_unexpected_input_gets_a_hint_and_loses_nothing(harness, runtime):
    town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 808)
    await r.send("/start kolomna")
    await r.send("/appeal")
    calls = await r.send("a complaint about roads")
    assert calls[0].text == "Please choose one of the buttons above."
    assert (await r.state())[0] == AppealForm.kind.state
    await r.press(AppealKindCB(kind="report").pack())
    await r.press(AppealCategoryCB(id=roads.id).pack())
    await r.send("Pothole on Lenina street.")

    for calls in (await r.feed(U.sticker), await r.feed(U.photo, "photo-early"), await r.feed(U.location, 55.0, 38.0)):
        assert types(calls) == [SendMessage]
        assert calls[0].text == "Please send the text of your appeal as an ordinary message. Photos and files come at the next step."
    assert harness.session.downloads == []
    # Other commands still work mid-dialog, and the dialog stays where it was.
    calls = await r.send("/help")
    assert calls[0].text.startswith("What I can do:")
    state, data = await r.state()
    assert state == AppealForm.text.state and data["parts"] == ["Pothole on Lenina street."]

    # A button of an earlier step does nothing but explain.
    calls = await r.press(AppealKindCB(kind="statement").pack())
    assert types(calls) == [AnswerCallbackQuery] and calls[0].show_alert is True
    assert calls[0].text == (
        "This button belongs to another step. "
        "Please send the text of your appeal as an ordinary message. Photos and files come at the next step."
    )
    await r.press(step("text", "done"))
    calls = await r.send("more text")
    assert calls[0].text == "Send a photo, a document or a voice message, or press “Done”."
    calls = await r.press(step("text", "clear"))  # the text step's "Start over", pressed late
    assert calls[0].text.startswith("This button belongs to another step.")
    await r.press(step("files", "skip"))
    calls = await r.feed(U.sticker)
    assert calls[0].text == "Send a location pin or type the address, or press “Skip”."
    assert (await r.state())[1]["parts"] == ["Pothole on Lenina street."]


async def test_cancel_by_command_button_and_reply_keyboard(harness, runtime):
    town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 809)
    await r.send("/start kolomna")
    calls = await r.send("/cancel")
    assert calls[0].text == "There is nothing to cancel."

    await r.send("/appeal")
    await r.press(AppealKindCB(kind="report").pack())
    calls = await r.send("/cancel")
    assert calls[0].text == "The appeal has been cancelled; nothing was sent."
    assert isinstance(calls[0].reply_markup, ReplyKeyboardRemove)
    assert await r.state() == (None, {})

    await r.send("/appeal")
    calls = await r.press(step("kind", "cancel"))
    assert closed(calls) and calls[2].text == "The appeal has been cancelled; nothing was sent."

    await r.send("/appeal")
    await r.press(AppealKindCB(kind="report").pack())
    await r.press(AppealCategoryCB(id=roads.id).pack())
    await r.send("Broken bench.")
    await r.press(step("text", "done"))
    await r.press(step("files", "skip"))
    calls = await r.send("✖️ Cancel")  # the location step's reply keyboard
    assert calls[0].text == "The appeal has been cancelled; nothing was sent."
    assert await r.state() == (None, {})
    async with runtime.sessionmaker() as s:
        assert list(await s.scalars(select(Appeal))) == []


async def test_appeal_again_mid_dialog_offers_to_continue(harness, runtime):
    town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 810)
    await r.send("/start kolomna")
    await r.send("/appeal")
    await r.press(AppealKindCB(kind="report").pack())
    await r.press(AppealCategoryCB(id=roads.id).pack())
    await r.send("Half-written text.")
    calls = await r.send("/appeal")
    assert calls[0].text == "You have an unfinished appeal. Continue it or start over?"
    calls = await r.press(step("resume", "continue"))
    assert calls[2].text.startswith("Your text has 18 characters now.")
    calls = await r.send("/appeal")
    calls = await r.press(step("resume", "restart"))
    assert calls[2].text.startswith("What would you like to send?")
    assert (await r.state())[1] == {"town_id": town.id, "parts": [], "files": []}


async def test_no_town_and_no_categories(harness, runtime):
    r = Resident(harness, 811)
    calls = await r.send("/appeal")
    assert calls[0].text == "Please choose your town first: /start"
    await seed(runtime, lambda s: make_town(s, slug="empty", name="Emptyville"))
    await r.send("/start empty")
    calls = await r.send("/appeal")
    assert calls[0].text == "Emptyville does not take appeals through the bot yet."
    assert await r.state() == (None, {})


# --- my appeals, rating, replying --------------------------------------------------------------


async def _file_for(runtime: Any, telegram_id: int, town: Any, category: Any, *, kind: Kind = Kind.STATEMENT, now: datetime | None = None, text: str = "Fix the road.") -> Appeal:
    async def make(s):  # noqa: ANN001, ANN202
        user = await s.scalar(select(User).where(User.telegram_id == telegram_id))
        user.phone, user.identity_level = "+79990001199", "phone"
        draft = AppealDraft(kind=kind, category_id=category.id, text=text, full_name="Sidorov Petr", reply_address="petr@example.ru")
        return await appeals.submit(s, town=town, draft=draft, author=user, now=now)

    return await seed(runtime, make)


async def _clerk(runtime: Any, town: Any) -> User:
    async def make(s):  # noqa: ANN001, ANN202
        clerk = await make_user(s, first_name="Clerk", town=town, roles=(Role.CLERK,))
        clerk.full_name = "Klerkova Anna"
        return clerk

    return await seed(runtime, make)


async def test_my_appeals_list_and_details(harness, runtime):
    town, roads, light = await make_kolomna(runtime)
    r = Resident(harness, 812)
    await r.send("/start kolomna")
    calls = await r.send("/myappeals")
    assert calls[0].text == "You have not sent any appeals yet. To write one: /appeal"

    old = await _file_for(runtime, 812, town, roads, now=datetime.now(UTC) - timedelta(days=40), text="Old pothole.")
    new = await _file_for(runtime, 812, town, light, kind=Kind.REPORT, text="Dark street.")
    msk = ZoneInfo("Europe/Moscow")
    calls = await r.press(AppealMenuCB(action="mine").pack())
    assert types(calls) == [AnswerCallbackQuery, SendMessage]
    assert calls[1].text == (
        "Your appeals:\n\n"
        f"{new.reg_number} — Problem report, registered\n"
        f"answer due by {new.due_at.astimezone(msk):%d.%m.%Y}\n\n"
        f"{old.reg_number} — Statement, registered\n"
        f"answer due by {old.due_at.astimezone(msk):%d.%m.%Y} ⚠️ overdue"
    )
    assert buttons(calls[1]) == [
        [(new.reg_number, AppealViewCB(appeal_id=new.id).pack()), (old.reg_number, AppealViewCB(appeal_id=old.id).pack())]
    ]
    calls = await r.press(AppealViewCB(appeal_id=old.id).pack())
    assert types(calls) == [AnswerCallbackQuery, SendMessage]
    assert calls[1].text == (
        f"Statement {old.reg_number}\n"
        "Category: Roads\n"
        "Status: registered\n"
        f"Registered: {old.registered_at.astimezone(msk):%d.%m.%Y %H:%M}\n"
        f"Answer due by: {old.due_at.astimezone(msk):%d.%m.%Y} ⚠️ overdue\n\n"
        "Old pothole."
    )
    assert calls[1].reply_markup is None

    # Someone else's appeal does not exist for this person.
    other = Resident(harness, 813)
    await other.send("/start kolomna")
    calls = await other.press(AppealViewCB(appeal_id=old.id).pack())
    assert types(calls) == [AnswerCallbackQuery] and calls[0].text == "Appeal not found." and calls[0].show_alert is True


async def test_rating_an_answer_with_a_comment(harness, runtime):
    town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 814)
    await r.send("/start kolomna")
    appeal = await _file_for(runtime, 814, town, roads)
    clerk = await _clerk(runtime, town)

    async def answer(s):  # noqa: ANN001, ANN202
        a = await s.get(Appeal, appeal.id)
        actor = await s.get(User, clerk.id)
        return await appeals.answer(
            s, appeal=a, actor=actor, body="The road was repaired on Monday.", files_root=runtime.settings.files_dir,
            font=pdf.find_font(runtime.settings.PDF_FONT),
        )

    result = await seed(runtime, answer)
    calls = await deliver(harness)
    prompt = [c for c in calls if isinstance(c, SendMessage) and c.reply_markup is not None][-1]
    stars = buttons(prompt)[0]
    assert [t for t, _ in stars] == ["1 ⭐", "2 ⭐", "3 ⭐", "4 ⭐", "5 ⭐"]

    calls = await r.press(stars[3][1])
    assert closed(calls) and types(calls) == [AnswerCallbackQuery, EditMessageReplyMarkup, SendMessage]
    assert calls[2].text == (
        f"Thank you for rating the answer to appeal {appeal.reg_number}: ⭐⭐⭐⭐. "
        "If you like, write what you think of it, or press “Skip”."
    )
    assert buttons(calls[2]) == [[("⏭ Skip", step("rate", "skip"))]]
    async with runtime.sessionmaker() as s:
        row = await s.get(Appeal, appeal.id)
        assert (row.rating, row.status, row.rating_comment) == (4, "closed", None)

    calls = await r.feed(U.sticker)
    assert calls[0].text == "Send your comment as text, or press “Skip”."
    calls = await r.send("Quick, but the asphalt is uneven.")
    assert calls[0].text == "Thank you! Your comment has been passed on to the administration."
    async with runtime.sessionmaker() as s:
        row = await s.get(Appeal, appeal.id)
        assert (row.rating, row.rating_comment) == (4, "Quick, but the asphalt is uneven.")
    assert await r.state() == (None, {})

    # Rating again (changing one's mind) and skipping the comment.
    calls = await r.press(stars[4][1])
    calls = await r.press(step("rate", "skip"))
    assert closed(calls) and calls[2].text == "Thank you for your feedback!"
    async with runtime.sessionmaker() as s:
        assert (await s.get(Appeal, appeal.id)).rating == 5

    # The details now name the answer's outgoing number.
    calls = await r.press(AppealViewCB(appeal_id=appeal.id).pack())
    assert f"Status: closed\n" in calls[1].text
    assert f"Answer: outgoing No. {result.document.number}\n" in calls[1].text
    assert "Your rating: ⭐⭐⭐⭐⭐\n" in calls[1].text


async def test_rating_mid_draft_resumes_the_draft(harness, runtime):
    town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 815)
    await r.send("/start kolomna")
    appeal = await _file_for(runtime, 815, town, roads)
    clerk = await _clerk(runtime, town)

    async def answer(s):  # noqa: ANN001, ANN202
        await appeals.answer(
            s, appeal=await s.get(Appeal, appeal.id), actor=await s.get(User, clerk.id), body="Done, thank you for the report.",
            files_root=runtime.settings.files_dir, font=pdf.find_font(runtime.settings.PDF_FONT),
        )

    await seed(runtime, answer)
    await r.send("/appeal")
    await r.press(AppealKindCB(kind="report").pack())
    await r.press(AppealCategoryCB(id=roads.id).pack())
    await r.send("A new draft in progress.")
    await r.press(AppealRateCB(appeal_id=appeal.id, stars=5).pack())
    calls = await r.send("Great work.")
    assert [c.text for c in calls][:2] == [
        "Thank you! Your comment has been passed on to the administration.",
        "Your unfinished appeal is still here; let us go on.",
    ]
    assert calls[2].text.startswith("Your text has 24 characters now.")
    state, data = await r.state()
    assert state == AppealForm.text.state and data["parts"] == ["A new draft in progress."] and "rate_appeal" not in data

    # Rating again, then /appeal instead of a comment: the draft is offered and picked up.
    await r.press(AppealRateCB(appeal_id=appeal.id, stars=4).pack())
    calls = await r.send("/appeal")
    assert calls[0].text == "You have an unfinished appeal. Continue it or start over?"
    calls = await r.press(step("resume", "continue"))
    assert calls[2].text.startswith("Your text has 24 characters now.")
    state, data = await r.state()
    assert state == AppealForm.text.state and "rate_appeal" not in data and "resume" not in data


async def test_reply_to_a_request_for_information(harness, runtime):
    town, roads, _light = await make_kolomna(runtime)
    r = Resident(harness, 816)
    await r.send("/start kolomna")
    appeal = await _file_for(runtime, 816, town, roads)
    clerk = await _clerk(runtime, town)

    # Not asked yet: the button says so.
    calls = await r.press(AppealReplyCB(appeal_id=appeal.id).pack())
    assert types(calls) == [AnswerCallbackQuery] and calls[0].show_alert is True
    assert calls[0].text == "The administration is not waiting for more information on this appeal."

    async def ask(s):  # noqa: ANN001, ANN202
        await appeals.request_info(s, appeal=await s.get(Appeal, appeal.id), actor=await s.get(User, clerk.id), question="Which entrance?")

    await seed(runtime, ask)
    calls = await deliver(harness)
    [request] = [c for c in calls if isinstance(c, SendMessage)]
    assert request.chat_id == 816 and "Which entrance?" in request.text
    [[(caption, data)]] = buttons(request)
    assert data == AppealReplyCB(appeal_id=appeal.id).pack()

    calls = await r.press(data)
    assert types(calls) == [AnswerCallbackQuery, SendMessage]
    assert calls[1].text == (
        f"Your reply on appeal {appeal.reg_number}: send text, photos, documents or voice messages, then press “Send”."
    )
    assert buttons(calls[1]) == [[("✖️ Cancel", step("reply", "cancel"))]]
    calls = await r.press(step("reply", "send"))
    assert types(calls) == [AnswerCallbackQuery] and calls[0].text == "Write something or attach a file first."
    calls = await r.send("Entrance 3,")
    assert calls[0].text == "Added to your reply.\nSend more, or press “Send”."
    assert buttons(calls[0]) == [[("📨 Send", step("reply", "send"))], [("✖️ Cancel", step("reply", "cancel"))]]
    await r.send("the one facing the yard.")
    calls = await r.feed(U.document, "doc-pdf-plan", file_name="plan.pdf")
    assert types(calls) == [GetFile, SendMessage]
    assert calls[1].text == "File added to your reply (1 of 10).\nSend more, or press “Send”."
    calls = await r.feed(U.sticker)
    assert calls[0].text == "Send text, a photo, a document or a voice message for your reply, then press “Send”."

    calls = await r.press(step("reply", "send"))
    assert closed(calls) and calls[2].text == f"Your reply on appeal {appeal.reg_number} has been sent to the administration."
    async with runtime.sessionmaker() as s:
        row = await s.get(Appeal, appeal.id)
        comments = list(await s.scalars(select(AppealComment).where(AppealComment.appeal_id == appeal.id).order_by(AppealComment.id)))
    assert row.status == "in_progress"
    assert [(c.kind, c.body) for c in comments] == [
        ("info_request", "Which entrance?"),
        ("resident_reply", "Entrance 3,\n\nthe one facing the yard."),
    ]
    [plan] = await files_of(runtime)
    assert (plan.owner_type, plan.owner_id, plan.filename, plan.mime) == ("appeal", appeal.id, "plan.pdf", "application/pdf")
    assert await r.state() == (None, {})


# --- the dialog lives in the database -------------------------------------------------------------


async def _assert_finished(runtime: Any, calls: list[Any]) -> None:
    appeal = await only_appeal(runtime)
    assert calls[2].text.startswith("Your appeal has been registered.") and appeal.reg_number in calls[2].text
    assert appeal.text == "The road on Mira street has a deep pothole.\n\nCars get damaged every day."
    assert (appeal.kind, appeal.lat, appeal.lon) == ("statement", 55.10312, 38.76543)
    assert (appeal.full_name, appeal.reply_address, appeal.phone) == ("Ivanov Ivan Ivanovich", "ivanov@example.ru", "+79990001122")
    [photo] = await files_of(runtime)
    assert (photo.owner_type, photo.owner_id) == ("appeal", appeal.id)


async def test_dialog_survives_a_restart(runtime):
    """A new Dispatcher (another process, or the same one restarted) finishes the first's
    dialog: the draft is in the database, on the embedded default as at scale."""
    town, roads, _light = await make_kolomna(runtime)
    first = BotHarness(runtime)
    await first_half(Resident(first, 818), roads.id)
    await first.close()
    del first  # nothing of the first dispatcher, its routers or its storage survives

    second = BotHarness(runtime)
    r = Resident(second, 818)
    state, data = await r.state()
    assert state == AppealForm.location.state and len(data["files"]) == 1
    calls = await second_half(r)
    await _assert_finished(runtime, calls)
    await second.close()


def test_callback_data_fits_telegrams_64_bytes():
    from typing import get_args

    longest = max(
        len(cb.pack().encode())
        for cb in [
            *(AppealStepCB(step=st, action=a) for st in get_args(AppealStepCB.model_fields["step"].annotation)
              for a in get_args(AppealStepCB.model_fields["action"].annotation)),
            *(AppealEditCB(field=f) for f in get_args(AppealEditCB.model_fields["field"].annotation)),
            AppealCategoryCB(id=2**63 - 1), AppealViewCB(appeal_id=2**63 - 1), AppealKindCB(kind="complaint"),
            AppealRateCB(appeal_id=2**63 - 1, stars=5), AppealReplyCB(appeal_id=2**63 - 1), AppealMenuCB(action="mine"),
        ]
    )
    assert longest <= 64
