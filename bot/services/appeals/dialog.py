"""The resident's appeal dialog: its FSM states, what the draft holds, and how things are
shown. Pure helpers; the handlers are in `router.py`.

Everything the dialog collects lives in the FSM storage as plain JSON, in the database in the
same transaction as the update's other effects, so a dialog survives a restart or a crash
and may go on at another replica.
Attachments are stored by the backend the moment they arrive; the draft keeps only their ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram.fsm.state import State, StatesGroup
from annotated_types import MaxLen

from backend.core.identity.service import IdentityCheck
from backend.core.municipalities.models import Municipality
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.services.appeals import rules
from backend.services.appeals.queries import excerpt
from backend.services.appeals.settings import policy_for
from backend.services.appeals.models import Appeal
from backend.services.appeals.rules import Kind, Status
from backend.services.appeals.schemas import AppealDraft


class AppealForm(StatesGroup):
    kind = State()
    category = State()
    text = State()
    attachments = State()
    location = State()
    consent = State()  # the policy is shown; accepting it goes on to the name
    full_name = State()
    reply_address = State()
    identity = State()  # a formal appeal lacks identification; phone, or file as a report
    summary = State()


class RateForm(StatesGroup):
    comment = State()


class ReplyForm(StatesGroup):
    collect = State()


def _max_len(field: str) -> int:
    return next(m.max_length for m in AppealDraft.model_fields[field].metadata if isinstance(m, MaxLen))


# Limits come from the backend's shapes, so the dialog refuses exactly what submit would.
MAX_ATTACHMENTS = _max_len("file_ids")
ADDRESS_MAX = _max_len("address")
NAME_MAX = Appeal.__table__.c.full_name.type.length
REPLY_ADDRESS_MAX = Appeal.__table__.c.reply_address.type.length

# Keys of the appeal draft in the FSM data. Side flows (rating, replying) keep their own keys
# next to these, so rating an answer mid-draft loses nothing.
DRAFT_KEYS = ("town_id", "kind", "category_id", "parts", "files", "address", "lat", "lon", "full_name", "reply_address", "editing")
RATE_KEYS = ("rate_appeal", "rate_stars")
REPLY_KEYS = ("reply_appeal", "reply_parts", "reply_files")
RESUME = "resume"  # the draft's step to return to after a side flow
# Free text written outside any dialog, kept (with no state) until the person says whether to
# file it: the parts become the draft's text.
OFFER = "offer"
# Outside a dialog, a message of fewer words is small talk ("Привет", "Спасибо"), not a
# complaint to offer filing; a long paste always has more.
OFFER_MIN_WORDS = 3


def joined(parts: list[str]) -> str:
    """The messages of one text, in order, with a blank line between them."""
    return "\n\n".join(parts)


def over_by(parts: list[str], new: str, limit: int) -> int:
    """How many characters over `limit` the text would be with `new` added (<= 0: fits)."""
    return len(joined([*parts, new])) - limit


def is_formal(data: dict[str, Any]) -> bool:
    return Kind(data["kind"]).is_formal


def worth_offering(text: str) -> bool:
    """Whether free text outside a dialog reads like something to file (enough words to read)."""
    return len(rules.normalize_tokens(text)) >= OFFER_MIN_WORDS and not rules.is_unreadable(text)


def offer_text(town: Municipality, parts: list[str]) -> str:
    """The offer under free text: file it as an appeal or a report, or not."""
    if len(parts) > 1:
        return _("Added: the text has {length} characters now. File it with the buttons below, or press “No, thanks”.").format(
            length=len(joined(parts))
        )
    return _(
        "Shall I pass this on to the administration of {town}? I can file it as a formal appeal under Federal Law 59-FZ (it needs your "
        "name, a reply address and identification) or as a problem report (quicker, no identification). What you "
        "wrote becomes its text, and you can add to it."
    ).format(town=town.name)


def unreadable_warning(data: dict[str, Any]) -> str:
    """A warning for a text without readable words; the person may still go on."""
    if is_formal(data):
        return _(
            "⚠️ This text has no words that can be read. Under article 11 of Federal Law 59-FZ an appeal whose "
            "text cannot be read is not answered. Add words, press “Start over”, or go on if you are sure."
        )
    return _("⚠️ This text has no words that can be read: the service may not understand the problem. Add words or press “Start over”.")


def local(moment: datetime, town: Municipality) -> datetime:
    return moment.astimezone(policy_for(town).tz)


def fmt_time(moment: datetime, town: Municipality) -> str:
    return local(moment, town).strftime("%d.%m.%Y %H:%M")


def fmt_date(moment: datetime, town: Municipality) -> str:
    return local(moment, town).strftime("%d.%m.%Y")


def kind_prompt(town: Municipality) -> str:
    return _(
        "What would you like to send?\n\n"
        "• Proposal, statement or complaint: a formal appeal under Federal Law 59-FZ. It gets a "
        "registration number and must be answered within {days} days; you will need to identify yourself.\n"
        "• Problem report: quicker and informal (a pothole, a broken street light, rubbish), "
        "no identification needed."
    ).format(days=policy_for(town, kind=Kind.STATEMENT).answer_days)


def location_text(data: dict[str, Any]) -> str:
    parts = []
    if data.get("address"):
        parts.append(data["address"])
    if data.get("lat") is not None and data.get("lon") is not None:
        parts.append(f"📍 {data['lat']:.5f}, {data['lon']:.5f}")
    return ", ".join(parts) or "—"


def summary_text(data: dict[str, Any], category: str) -> str:
    text = joined(data.get("parts", []))
    return _(
        "Please check everything before sending:\n\n"
        "Type: {kind}\n"
        "Category: {category}\n"
        "Text: {text}\n"
        "Attachments: {files}\n"
        "Location: {location}\n"
        "Name: {name}\n"
        "Reply address: {reply_address}"
    ).format(
        kind=_(rules.KIND_TITLES[Kind(data["kind"])]),
        category=category,
        text=excerpt(text, 300) if text else "—",
        files=len(data.get("files", [])),
        location=location_text(data),
        name=data.get("full_name") or "—",
        reply_address=data.get("reply_address") or "—",
    ) + ("\n\n" + unreadable_warning(data) if text and rules.is_unreadable(text) else "")


def identity_text(check: IdentityCheck) -> str:
    """What a formal appeal still lacks, and the ways to identify this town offers."""
    lines = [_("A formal appeal needs {missing}.").format(missing=", ".join(_(m) for m in check.missing))]
    if check.providers:
        lines.append("")
        lines.append(_("Ways to confirm who you are:"))
        for _key, title, configured in check.providers:
            lines.append("• " + (_(title) if configured else _("{provider}: not configured yet").format(provider=_(title))))
    lines.append("")
    lines.append(_("Or file it as a problem report: no identification is needed, but it is not a formal appeal under 59-FZ."))
    return "\n".join(lines)


# What the person can do to be answered after all, by the automatic ground of art. 11.
_TO_BE_ANSWERED = {
    rules.NoAnswerReason.MISSING_NAME: N_("To receive an answer, send a new appeal with your full name and a reply address."),
    rules.NoAnswerReason.MISSING_REPLY_ADDRESS: N_("To receive an answer, send a new appeal with your full name and a reply address."),
    rules.NoAnswerReason.UNREADABLE: N_("To receive an answer, write the appeal again in words."),
}


def receipt_text(appeal: Appeal, town: Municipality) -> str:
    """The receipt: number and time, then one consistent promise: the answer and its date, or
    why under art. 11 there will be none (and what would change that)."""
    formal = Kind(appeal.kind).is_formal
    lines = [_("Your appeal has been registered.") if formal else _("Your problem report has been registered."), ""]
    lines.append(_("Registration number: {number}").format(number=appeal.reg_number))
    lines.append(_("Registered: {time}").format(time=fmt_time(appeal.registered_at, town)))
    if appeal.answer_required:
        lines.append(_("Answer due by: {date}").format(date=fmt_date(appeal.due_at, town)))
        lines.append("")
        lines.append(_("The answer will come to this chat. Your appeals: /myappeals"))
        return "\n".join(lines)
    reason = _(appeal.no_answer_reason) if appeal.no_answer_reason else "—"
    lines.append("")
    lines.append(_("Under article 11 of Federal Law 59-FZ this appeal will not be answered: {reason}").format(reason=reason))
    if appeal.route_to_competent_body:
        lines.append(_("The information about a crime in it will be forwarded to the competent body."))
    if appeal.no_answer_reason in _TO_BE_ANSWERED:
        lines.append(_(_TO_BE_ANSWERED[appeal.no_answer_reason]))
    lines.append("")
    lines.append(_("Your appeals: /myappeals"))
    return "\n".join(lines)


def deadline_marker(appeal: Appeal, now: datetime) -> str:
    if not rules.is_open(Status(appeal.status)):
        return ""
    state = rules.deadline_state(appeal.due_at, now)
    if state is rules.DeadlineState.OVERDUE:
        return " " + _("⚠️ overdue")
    if state is rules.DeadlineState.DUE_SOON:
        return " " + _("⏳ due soon")
    return ""


def list_line(appeal: Appeal, town: Municipality, now: datetime) -> str:
    line = _("{number} — {kind}, {status}").format(
        number=appeal.reg_number,
        kind=_(rules.KIND_TITLES[Kind(appeal.kind)]),
        status=_(rules.STATUS_TITLES[Status(appeal.status)]),
    )
    if rules.is_open(Status(appeal.status)):
        line += "\n" + _("answer due by {date}").format(date=fmt_date(appeal.due_at, town)) + deadline_marker(appeal, now)
    return line


def details_text(appeal: Appeal, town: Municipality, *, category: str, answer_number: str | None, now: datetime) -> str:
    lines = [
        _("{kind} {number}").format(kind=_(rules.KIND_TITLES[Kind(appeal.kind)]), number=appeal.reg_number),
        _("Category: {category}").format(category=category),
        _("Status: {status}").format(status=_(rules.STATUS_TITLES[Status(appeal.status)])),
        _("Registered: {time}").format(time=fmt_time(appeal.registered_at, town)),
    ]
    if rules.is_open(Status(appeal.status)):
        lines.append(_("Answer due by: {date}").format(date=fmt_date(appeal.due_at, town)) + deadline_marker(appeal, now))
    if appeal.redirected_to:
        lines.append(_("Sent to: {body}").format(body=appeal.redirected_to))
    if appeal.answered_at:
        lines.append(_("Answered: {date}").format(date=fmt_date(appeal.answered_at, town)))
    if answer_number:
        lines.append(_("Answer: outgoing No. {number}").format(number=answer_number))
    if not appeal.answer_required and appeal.no_answer_reason:
        lines.append(_("Not answered on the merits: {reason}").format(reason=_(appeal.no_answer_reason)))
    if appeal.rating:
        lines.append(_("Your rating: {stars}").format(stars="⭐" * appeal.rating))
    lines.append("")
    lines.append(excerpt(appeal.text, 500))
    return "\n".join(lines)


def hint(state: str | None) -> str:
    """What a step expects, for input it cannot use."""
    hints = {
        AppealForm.text.state: _("Please send the text of your appeal as an ordinary message. Photos and files come at the next step."),
        AppealForm.attachments.state: _("Send a photo, a document or a voice message, or press “Done”."),
        AppealForm.location.state: _("Send a location pin or type the address, or press “Skip”."),
        AppealForm.consent.state: _("To go on, please accept the personal data policy with the button above, or cancel."),
        AppealForm.full_name.state: _("Please send your full name as text."),
        AppealForm.reply_address.state: _("Please send an e-mail or a postal address as text."),
        RateForm.comment.state: _("Send your comment as text, or press “Skip”."),
        ReplyForm.collect.state: _("Send text, a photo, a document or a voice message for your reply, then press “Send”."),
    }
    return hints.get(state or "", _("Please choose one of the buttons above."))
