"""Keyboards. Captions go through gettext in the person's language."""

from __future__ import annotations

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    WebAppInfo,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder

from backend.core.components.registry import Manifest
from backend.core.municipalities.models import Municipality
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.services.appeals.rules import Kind
from backend.services.appeals.service import KIND_TITLES
from bot.callbacks import (
    AppealCategoryCB,
    AppealEditCB,
    AppealKindCB,
    AppealReplyCB,
    AppealStepCB,
    AppealViewCB,
    ForgetCB,
    LangCB,
    MenuCB,
    PrivacyCB,
    TownCB,
)

CANCEL = N_("✖️ Cancel")
SKIP = N_("⏭ Skip")


def main_menu(components: list[Manifest], miniapp_base: str | None) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if miniapp_base:
        for m in components:
            kb.row(InlineKeyboardButton(text=f"{m.icon} {_(m.title)}", web_app=WebAppInfo(url=f"{miniapp_base}/{m.path}")))
    kb.row(InlineKeyboardButton(text=_("📝 Write to the administration"), callback_data=MenuCB(action="appeal").pack()))
    kb.row(InlineKeyboardButton(text=_("📋 My appeals"), callback_data=MenuCB(action="appeals").pack()))
    kb.row(
        InlineKeyboardButton(text=_("📱 Share phone"), callback_data=MenuCB(action="phone").pack()),
        InlineKeyboardButton(text=_("🏙 Town"), callback_data=MenuCB(action="town").pack()),
    )
    kb.row(
        InlineKeyboardButton(text=_("🌐 Language"), callback_data=MenuCB(action="language").pack()),
        InlineKeyboardButton(text=_("🔒 Privacy"), callback_data=MenuCB(action="privacy").pack()),
    )
    return kb.as_markup()


def towns(choices: list[Municipality]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for town in choices:
        kb.row(InlineKeyboardButton(text=town.name, callback_data=TownCB(id=town.id).pack()))
    return kb.as_markup()


def languages() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="🇷🇺 Русский", callback_data=LangCB(code="ru").pack()),
                InlineKeyboardButton(text="🇬🇧 English", callback_data=LangCB(code="en").pack()),
            ]
        ]
    )


def privacy(accepted: bool) -> InlineKeyboardMarkup:
    if accepted:
        button = InlineKeyboardButton(text=_("Withdraw consent"), callback_data=PrivacyCB(action="withdraw").pack())
    else:
        button = InlineKeyboardButton(text=_("✅ I agree"), callback_data=PrivacyCB(action="accept").pack())
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def forget_confirm() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=_("Yes, delete my data"), callback_data=ForgetCB(confirm=True).pack()),
                InlineKeyboardButton(text=_("No, keep it"), callback_data=ForgetCB(confirm=False).pack()),
            ]
        ]
    )


def share_phone() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_("📱 Send my phone number"), request_contact=True)],
            [KeyboardButton(text=_(CANCEL))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


# --- appeals ---------------------------------------------------------------------------------

KIND_ICONS = {"proposal": "💡", "statement": "📄", "complaint": "❗", "report": "⚡"}


def _step(text: str, step: str, action: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=AppealStepCB(step=step, action=action).pack())  # type: ignore[arg-type]


def _cancel_row(step: str) -> list[InlineKeyboardButton]:
    return [_step(_(CANCEL), step, "cancel")]


def _clip(value: str, n: int = 40) -> str:
    value = " ".join(value.split())
    return value if len(value) <= n else value[: n - 1] + "…"


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
    rows = [[_step(_("Use: {value}").format(value=_clip(value)), step, action)] for action, value in uses]
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


def my_appeals(items: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for appeal_id, number in items:
        kb.button(text=number, callback_data=AppealViewCB(appeal_id=appeal_id).pack())
    kb.adjust(2)
    return kb.as_markup()


def appeal_details(appeal_id: int, *, can_reply: bool) -> InlineKeyboardMarkup | None:
    if not can_reply:
        return None
    button = InlineKeyboardButton(text=_("✍️ Reply"), callback_data=AppealReplyCB(appeal_id=appeal_id).pack())
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def rate_comment() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_step(_(SKIP), "rate", "skip")]])


def appeal_reply(has_content: bool) -> InlineKeyboardMarkup:
    rows = [[_step(_("📨 Send"), "reply", "send")]] if has_content else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, _cancel_row("reply")])
