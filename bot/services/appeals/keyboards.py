"""Keyboards of the appeals dialog and of appeals' notices."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from backend.i18n import gettext as _
from backend.services.appeals.rules import KIND_TITLES, Kind
from bot.callbacks import PrivacyCB
from bot.keyboards import CANCEL, SKIP, clip
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


def menu_rows() -> list[list[InlineKeyboardButton]]:
    """The appeals buttons of the main menu."""
    return [
        [InlineKeyboardButton(text=_("📝 Write to the administration"), callback_data=AppealMenuCB(action="new").pack())],
        [InlineKeyboardButton(text=_("📋 My appeals"), callback_data=AppealMenuCB(action="mine").pack())],
    ]


def rate_answer(appeal_id: int) -> InlineKeyboardMarkup:
    """1 to 5 stars under an answer."""
    row = [InlineKeyboardButton(text=f"{n} ⭐", callback_data=AppealRateCB(appeal_id=appeal_id, stars=n).pack()) for n in range(1, 6)]
    return InlineKeyboardMarkup(inline_keyboard=[row])


def reply_to_question(appeal_id: int) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text=_("✍️ Reply"), callback_data=AppealReplyCB(appeal_id=appeal_id).pack())
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


KIND_ICONS = {"proposal": "💡", "statement": "📄", "complaint": "❗", "report": "⚡"}


def _step(text: str, step: str, action: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=AppealStepCB(step=step, action=action).pack())  # type: ignore[arg-type]


def _cancel_row(step: str) -> list[InlineKeyboardButton]:
    return [_step(_(CANCEL), step, "cancel")]


def appeal_kinds() -> InlineKeyboardMarkup:
    """The three 59-FZ kinds in one row, the informal report below."""

    def button(kind: Kind) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=f"{KIND_ICONS[kind.value]} {_(KIND_TITLES[kind])}", callback_data=AppealKindCB(kind=kind.value).pack()  # type: ignore[arg-type]
        )

    return InlineKeyboardMarkup(
        inline_keyboard=[[button(Kind.PROPOSAL), button(Kind.STATEMENT), button(Kind.COMPLAINT)], [button(Kind.REPORT)], _cancel_row("kind")]
    )


def appeal_categories(categories: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for cat_id, name in categories:
        kb.row(InlineKeyboardButton(text=name, callback_data=AppealCategoryCB(id=cat_id).pack()))
    kb.row(*_cancel_row("cat"))
    return kb.as_markup()


def appeal_text(has_text: bool) -> InlineKeyboardMarkup:
    rows = [[_step(_("✅ Done"), "text", "done"), _step(_("🗑 Start over"), "text", "clear")]] if has_text else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, _cancel_row("text")])


def appeal_attachments(count: int) -> InlineKeyboardMarkup:
    if count:
        rows = [[_step(_("✅ Done"), "files", "done"), _step(_("🗑 Remove attachments"), "files", "clear")]]
    else:
        rows = [[_step(_(SKIP), "files", "skip")]]
    return InlineKeyboardMarkup(inline_keyboard=[*rows, _cancel_row("files")])


def appeal_location() -> ReplyKeyboardMarkup:
    """A reply keyboard: only its buttons can ask Telegram for the person's location."""
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_("📍 Send my location"), request_location=True)],
            [KeyboardButton(text=_(SKIP)), KeyboardButton(text=_(CANCEL))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def appeal_contact(step: str, uses: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """"Use: <value>" buttons for values from the profile, as (action, value); then Skip."""
    rows = [[_step(_("Use: {value}").format(value=clip(value)), step, action)] for action, value in uses]
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [_step(_(SKIP), step, "skip")], _cancel_row(step)])


def appeal_consent(*, can_skip: bool) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=_("✅ I agree"), callback_data=PrivacyCB(action="accept").pack())]]
    if can_skip:
        rows.append([_step(_("⏭ Go on without contact details"), "consent", "skip")])
    return InlineKeyboardMarkup(inline_keyboard=[*rows, _cancel_row("consent")])


def appeal_identity(*, phone: bool, name: bool, address: bool) -> InlineKeyboardMarkup:
    rows = []
    if phone:
        rows.append([_step(_("📱 Share phone"), "id", "phone")])
    if name:
        rows.append([_step(_("✏️ Enter full name"), "id", "name")])
    if address:
        rows.append([_step(_("✏️ Enter reply address"), "id", "address")])
    rows.append([_step(_("⚡ File as a problem report instead"), "id", "report")])
    return InlineKeyboardMarkup(inline_keyboard=[*rows, _cancel_row("id")])


def appeal_summary() -> InlineKeyboardMarkup:
    def edit(text: str, field: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=AppealEditCB(field=field).pack())  # type: ignore[arg-type]

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [edit(_("✏️ Type"), "kind"), edit(_("✏️ Category"), "category")],
            [edit(_("✏️ Text"), "text"), edit(_("✏️ Attachments"), "files")],
            [edit(_("✏️ Location"), "location"), edit(_("✏️ Name"), "name")],
            [edit(_("✏️ Reply address"), "address")],
            [_step(_("✅ Submit"), "sum", "submit")],
            _cancel_row("sum"),
        ]
    )


def appeal_resume() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[_step(_("▶️ Continue"), "resume", "continue"), _step(_("🔄 Start over"), "resume", "restart")]]
    )


def appeal_kept() -> InlineKeyboardMarkup:
    """/start in the middle of the dialog: the draft is kept; go on with it, or drop it."""
    return InlineKeyboardMarkup(
        inline_keyboard=[[_step(_("▶️ Continue"), "resume", "continue"), _step(_("🗑 Discard"), "resume", "discard")]]
    )


def offer_to_file() -> InlineKeyboardMarkup:
    """Under free text written outside a dialog: file it, as an appeal or as a report, or not."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_step(_("📄 File as an appeal"), "offer", "formal"), _step(_("⚡ File as a problem report"), "offer", "report")],
            [_step(_("✖️ No, thanks"), "offer", "dismiss")],
        ]
    )


def my_appeals(items: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for appeal_id, number in items:
        kb.button(text=number, callback_data=AppealViewCB(appeal_id=appeal_id).pack())
    kb.adjust(2)
    return kb.as_markup()


def appeal_details(appeal_id: int, *, can_reply: bool) -> InlineKeyboardMarkup | None:
    return reply_to_question(appeal_id) if can_reply else None


def rate_comment() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_step(_(SKIP), "rate", "skip")]])


def appeal_reply(has_content: bool) -> InlineKeyboardMarkup:
    rows = [[_step(_("📨 Send"), "reply", "send")]] if has_content else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, _cancel_row("reply")])
