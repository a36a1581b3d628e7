"""Appeals under 59-FZ and problem reports: filing, the clerk's actions, answers as registered
documents, ratings, erasure. Every function here writes; reading is in `queries.py`, the
legal rules are pure functions in `rules.py`, deadline reminders in `jobs.py`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import service as audit
from backend.core.calendar import rules as calendar
from backend.core.documents import pdf
from backend.core.documents import service as documents
from backend.core.documents.models import Direction, Document
from backend.core.files import service as files
from backend.core.files.models import StoredFile
from backend.core.identity import service as identity
from backend.core.municipalities.models import Department, Municipality
from backend.core.notifications import service as outbox
from backend.core.notifications.notices import Notice
from backend.core.search import service as search
from backend.core.users.models import IdentityLevel, Membership, Role, User
from backend.db import utcnow
from backend.errors import Conflict, Forbidden, Invalid, InvalidFields, NotFound
from backend.i18n import N_
from backend.services.appeals import drafts, letter, notices, permissions, rules
from backend.services.appeals.models import Appeal, AppealCategory, AppealComment, AppealLink, AppealReminder
from backend.services.appeals.queries import category, get_own
from backend.services.appeals.rules import STATUS_TITLES, Kind, NoAnswerReason, Status
from backend.services.appeals.schemas import MAX_ATTACHMENTS, AppealDraft, CategoryPatch
from backend.services.appeals.settings import of as settings_of
from backend.services.appeals.settings import policy_for, reg_prefix, text_limit


NO_ANSWER_KEYS = {
    "missing_name": NoAnswerReason.MISSING_NAME,
    "missing_reply_address": NoAnswerReason.MISSING_REPLY_ADDRESS,
    "obscene": NoAnswerReason.OBSCENE,
    "unreadable": NoAnswerReason.UNREADABLE,
    "no_essence": NoAnswerReason.NO_ESSENCE,
    "correspondence_stopped": NoAnswerReason.CORRESPONDENCE_STOPPED,
}


SEARCH_OWNER = "appeal"


async def _index(session: AsyncSession, appeal: Appeal, *, with_author: bool = True) -> None:
    """What the queue's search finds an appeal by: its number, the author's name, the address,
    the text and the resident's replies (without the name and replies once the author is erased)."""
    texts = [appeal.reg_number, appeal.full_name, appeal.address, appeal.text]
    if with_author:
        texts += await session.scalars(
            select(AppealComment.body)
            .where(AppealComment.appeal_id == appeal.id, AppealComment.kind == "resident_reply")
            .order_by(AppealComment.id)
        )
    await search.index(
        session, owner_type=SEARCH_OWNER, owner_id=appeal.id, municipality_id=appeal.municipality_id, texts=texts
    )


async def create_category(
    session: AsyncSession, *, municipality_id: int, code: str, name: str, department_id: int | None = None,
    description: str = "", sort: int = 100, actor_id: int | None = None,
) -> AppealCategory:
    """Add a category routed to a department (audited when an actor adds it)."""
    if not re.fullmatch(r"[a-z0-9_-]{1,32}", code):
        raise InvalidFields(N_("A category code is 1-32 lowercase Latin letters, digits, - or _."), fields=["code"])
    clash = await session.scalar(
        select(AppealCategory.id).where(AppealCategory.municipality_id == municipality_id, AppealCategory.code == code)
    )
    if clash is not None:
        raise Conflict(N_("The town already has a category with this code."))
    if department_id is not None:
        await _open_department(session, municipality_id=municipality_id, department_id=department_id)
    cat = AppealCategory(
        municipality_id=municipality_id, code=code, name=name, department_id=department_id, description=description, sort=sort
    )
    session.add(cat)
    await session.flush()
    if actor_id is not None:
        await audit.record(
            session, action="appeal_category.create", object_type="appeal_category", object_id=cat.id, actor_id=actor_id,
            municipality_id=municipality_id, after={"code": code, "name": name, "department_id": department_id},
        )
    return cat


async def _open_department(session: AsyncSession, *, municipality_id: int, department_id: int) -> None:
    dept = await session.get(Department, department_id)
    if dept is None or dept.municipality_id != municipality_id or dept.archived_at is not None:
        raise InvalidFields(N_("Choose a department of this town that is not archived."), fields=["department_id"])


async def update_category(session: AsyncSession, *, category: AppealCategory, changes: CategoryPatch, actor_id: int) -> None:
    """Rename, describe, reroute, reorder, archive or restore a category; appeals filed under
    it keep it (an archived one only takes no new appeals)."""
    given = changes.model_dump(exclude_unset=True)
    if "department_id" in given and given["department_id"] not in (None, category.department_id):
        await _open_department(session, municipality_id=category.municipality_id, department_id=given["department_id"])
    if given.get("name") is not None:
        given["name"] = " ".join(given["name"].split()) or category.name
    columns = {"name": "name", "description": "description", "department_id": "department_id", "sort": "sort", "active": "is_active"}
    before, after = {}, {}
    for key, value in given.items():
        if value is None and key != "department_id":
            continue
        column = columns[key]
        if getattr(category, column) != value:
            before[key], after[key] = getattr(category, column), value
            setattr(category, column, value)
    if after:
        await audit.record(
            session, action="appeal_category.update", object_type="appeal_category", object_id=category.id, actor_id=actor_id,
            municipality_id=category.municipality_id, before=before, after=after,
        )


async def identity_check(user: User, town: Municipality, *, full_name: str | None, reply_address: str | None) -> identity.IdentityCheck:
    """Whether this person may file a formal appeal in this town now."""
    s = settings_of(town)
    return identity.check_for_appeal(
        user, required=IdentityLevel(s.identity), require_contacts=s.require_contacts, full_name=full_name, reply_address=reply_address
    )


async def submit(
    session: AsyncSession,
    *,
    town: Municipality,
    draft: AppealDraft,
    author: User | None,
    source: str = "bot",
    now: datetime | None = None,
) -> Appeal:
    """Register an appeal or report: number, deadline, routing, 59-FZ art. 11 assessment and
    the link to repeated appeals of the same author."""
    now = now or utcnow()
    kind = Kind(draft.kind)
    cat = await category(session, municipality_id=town.id, category_id=draft.category_id)
    text = draft.text.strip()
    if len(text) > text_limit(town):
        raise Invalid(N_("The text is longer than {limit} characters. Please shorten it."), limit=text_limit(town))
    if kind.is_formal:
        if author is None:
            raise Forbidden(N_("A formal appeal needs an identified author."))
        check = await identity_check(author, town, full_name=draft.full_name, reply_address=draft.reply_address)
        if not check.ok:
            raise Forbidden(N_("A formal appeal needs: {missing}. You can file a problem report instead."), missing=", ".join(check.missing))

    policy = policy_for(town, kind=kind)
    # Numbered in the town's year: an appeal at 00:30 on 1 January in Moscow is the new year's.
    year = calendar.local_date(now, policy.calendar).year
    seq = await documents.next_number(session, municipality_id=town.id, journal="appeals", year=year)
    reg_number = rules.format_reg_number(reg_prefix(town), year, seq)
    appeal = Appeal(
        municipality_id=town.id,
        kind=kind.value,
        status=Status.REGISTERED.value,
        category_id=cat.id,
        department_id=cat.department_id,
        author_id=author.id if author else None,
        source=source,
        full_name=(draft.full_name or "").strip() or None,
        reply_address=(draft.reply_address or "").strip() or None,
        reply_address_type=rules.classify_reply_address(draft.reply_address or ""),
        phone=draft.phone or (author.phone if author else None),
        text=text,
        address=draft.address,
        lat=draft.lat,
        lon=draft.lon,
        reg_number=reg_number,
        received_at=now,
        registered_at=now,
        due_at=rules.answer_due(now, policy),
    )
    if kind.is_formal:
        verdict = rules.assess_admissibility(
            full_name=appeal.full_name, reply_address=appeal.reply_address, text=text, mentions_crime=draft.mentions_crime
        )
        if not verdict.answer_required:
            appeal.status = Status.NO_ANSWER_REQUIRED.value
            appeal.answer_required = False
            appeal.no_answer_reason = verdict.reason
            appeal.route_to_competent_body = verdict.route_to_competent_body
    session.add(appeal)
    await session.flush()
    await _index(session, appeal)
    if draft.file_ids:
        await _attach_files(session, appeal=appeal, file_ids=draft.file_ids, user_id=author.id if author else None)
    if kind.is_formal and author is not None:
        await _link_repeats(session, appeal=appeal)
    if author is not None:
        _remember_contacts(author, appeal)
    await audit.record(
        session, action="appeal.register", object_type="appeal", object_id=appeal.id, actor_id=appeal.author_id,
        municipality_id=town.id, after={"reg_number": reg_number, "kind": kind.value, "status": appeal.status, "source": source},
    )
    return appeal


def _remember_contacts(author: User, appeal: Appeal) -> None:
    """Keep the name and reply address in the profile, so the next appeal is pre-filled."""
    if appeal.full_name:
        author.full_name = appeal.full_name
    if appeal.reply_address_type == "email":
        author.email = appeal.reply_address
    elif appeal.reply_address_type == "postal":
        author.postal_address = appeal.reply_address


async def _attach_files(session: AsyncSession, *, appeal: Appeal, file_ids: list[int], user_id: int | None) -> None:
    if len(file_ids) > MAX_ATTACHMENTS:
        raise Invalid(N_("At most {max} attachments."), max=MAX_ATTACHMENTS)
    owned = list(
        await session.scalars(
            select(StoredFile).where(
                StoredFile.id.in_(file_ids),
                StoredFile.municipality_id == appeal.municipality_id,
                StoredFile.owner_id.is_(None),
                StoredFile.created_by.is_(user_id) if user_id is None else StoredFile.created_by == user_id,
            )
        )
    )
    if len(owned) != len(set(file_ids)):
        raise NotFound(N_("File not found."))
    for f in owned:
        f.owner_type, f.owner_id = "appeal", appeal.id


async def _link_repeats(session: AsyncSession, *, appeal: Appeal) -> None:
    previous = list(
        await session.scalars(
            select(Appeal)
            .where(
                Appeal.author_id == appeal.author_id,
                Appeal.municipality_id == appeal.municipality_id,
                Appeal.id != appeal.id,
                Appeal.kind != Kind.REPORT.value,
            )
            .order_by(Appeal.id.desc())
            .limit(50)
        )
    )
    if not previous:
        return
    verdict = rules.is_repeated(
        appeal.text,
        [rules.PreviousAppeal(id=p.id, text=p.text, answered_on_merits=p.status in (Status.ANSWERED.value, Status.CLOSED.value) and p.answer_document_id is not None) for p in previous],
    )
    for related in verdict.linked_ids:
        session.add(AppealLink(appeal_id=appeal.id, related_id=related, relation="repeat"))
    appeal.flagged_for_head = verdict.flag_for_head
    await session.flush()


async def save_attachment(
    session: AsyncSession, *, town: Municipality, user: User | None, data: bytes, filename: str, mime: str, files_root: Path
) -> StoredFile:
    """Store an attachment before the appeal exists (the dialog collects them one by one)."""
    return await files.save(
        session, root=files_root, municipality_id=town.id, data=data, filename=filename, mime=mime,
        owner_type="appeal", owner_id=None, created_by=user.id if user else None,
    )


async def _notify_people(session: AsyncSession, appeal: Appeal, notice: Notice, *, file_id: int | None = None) -> None:
    """Tell the author, and the authors of reports merged into this one."""
    people = {appeal.author_id} if appeal.author_id else set()
    people |= set(await session.scalars(select(Appeal.author_id).where(Appeal.merged_into_id == appeal.id, Appeal.author_id.is_not(None))))
    for user_id in sorted(people):
        await outbox.enqueue(session, user_id=user_id, notice=notice, municipality_id=appeal.municipality_id, file_id=file_id)


async def _move(session: AsyncSession, appeal: Appeal, target: Status, *, actor_id: int | None, notify: bool = True, **details: Any) -> None:
    current = Status(appeal.status)
    if current == target:
        return
    if not rules.can_transition(current, target):
        raise Conflict(
            N_("An appeal that is «{current_msgid}» cannot become «{target_msgid}»."),
            current_msgid=STATUS_TITLES[current], target_msgid=STATUS_TITLES[target],
        )
    appeal.status = target.value
    await audit.record(
        session, action="appeal.status", object_type="appeal", object_id=appeal.id, actor_id=actor_id,
        municipality_id=appeal.municipality_id, before={"status": current.value}, after={"status": target.value, **details},
    )
    if notify:
        await _notify_people(
            session, appeal, notices.StatusChanged(appeal_id=appeal.id, number=appeal.reg_number, status_msgid=STATUS_TITLES[target])
        )


async def assign(session: AsyncSession, *, appeal: Appeal, actor: User, assignee_id: int | None = None) -> None:
    """Take the appeal (no assignee given) or hand it to a colleague of the town."""
    target = assignee_id or actor.id
    town = await session.get(Municipality, appeal.municipality_id)
    assert town is not None
    roles = set(await session.scalars(select(Membership.role).where(Membership.user_id == target, Membership.municipality_id == town.id)))
    if not roles & {r.value for r in permissions.roles(town, permissions.HANDLE)}:
        raise Invalid(N_("This person does not handle appeals in this town."))
    before = appeal.assignee_id
    appeal.assignee_id = target
    await audit.record(
        session, action="appeal.assign", object_type="appeal", object_id=appeal.id, actor_id=actor.id,
        municipality_id=appeal.municipality_id, before={"assignee_id": before}, after={"assignee_id": target},
    )
    if appeal.status == Status.REGISTERED.value:
        await _move(session, appeal, Status.IN_PROGRESS, actor_id=actor.id)


async def set_status(session: AsyncSession, *, appeal: Appeal, actor: User, status: Status) -> None:
    """Move to another status the rules allow."""
    await _move(session, appeal, status, actor_id=actor.id)


async def add_note(session: AsyncSession, *, appeal: Appeal, actor: User, text: str) -> AppealComment:
    """An internal comment, never shown to the resident."""
    note = AppealComment(appeal_id=appeal.id, author_id=actor.id, kind="note", body=text.strip())
    session.add(note)
    await session.flush()
    return note


async def request_info(session: AsyncSession, *, appeal: Appeal, actor: User, question: str) -> AppealComment:
    """Ask the resident for more; their reply in chat is attached to the appeal."""
    if appeal.author_id is None:
        raise Conflict(N_("This appeal has no author in the chat to ask."))
    comment = AppealComment(appeal_id=appeal.id, author_id=actor.id, kind="info_request", body=question.strip())
    session.add(comment)
    await session.flush()
    await _move(session, appeal, Status.INFO_REQUESTED, actor_id=actor.id, notify=False)
    await outbox.enqueue(
        session, user_id=appeal.author_id, municipality_id=appeal.municipality_id,
        notice=notices.InfoRequested(appeal_id=appeal.id, number=appeal.reg_number, question=comment.body),
    )
    return comment


async def add_resident_reply(
    session: AsyncSession, *, appeal_id: int, user: User, text: str, file_ids: list[int] | None = None
) -> AppealComment:
    """The resident's answer to a request for information."""
    appeal = await get_own(session, user_id=user.id, appeal_id=appeal_id)
    if appeal.status != Status.INFO_REQUESTED.value:
        raise Conflict(N_("The administration is not waiting for more information on this appeal."))
    comment = AppealComment(appeal_id=appeal.id, author_id=user.id, kind="resident_reply", body=text.strip() or "—")
    session.add(comment)
    await session.flush()
    if file_ids:
        await _attach_files(session, appeal=appeal, file_ids=file_ids, user_id=user.id)
    await _index(session, appeal)
    await _move(session, appeal, Status.IN_PROGRESS, actor_id=user.id, notify=False)
    return comment


async def redirect(session: AsyncSession, *, appeal: Appeal, actor: User, to: str, now: datetime | None = None) -> None:
    """Forward to the competent body within 7 days of registration, telling the resident."""
    now = now or utcnow()
    town = await session.get(Municipality, appeal.municipality_id)
    assert town is not None
    if not rules.can_redirect(appeal.registered_at, now, policy_for(town, kind=Kind(appeal.kind))):
        raise Conflict(N_("More than 7 days have passed since registration: the appeal can no longer be redirected."))
    appeal.redirected_to, appeal.redirected_at = to.strip(), now
    await _move(session, appeal, Status.REDIRECTED, actor_id=actor.id, notify=False, to=appeal.redirected_to)
    await _notify_people(session, appeal, notices.Redirected(appeal_id=appeal.id, number=appeal.reg_number, to=appeal.redirected_to))


async def extend(session: AsyncSession, *, appeal: Appeal, actor: User, days: int, reason: str) -> None:
    """Extend the answer deadline once, by up to 30 days, telling the resident (art. 12 p. 2)."""
    if not rules.is_open(Status(appeal.status)):
        raise Conflict(N_("Only an appeal still being handled can have its deadline extended."))
    town = await session.get(Municipality, appeal.municipality_id)
    assert town is not None
    before = appeal.due_at
    appeal.due_at = rules.extend(appeal.due_at, days, policy_for(town, kind=Kind(appeal.kind)), already_extended=appeal.extended_at is not None)
    appeal.extended_at, appeal.extension_reason = utcnow(), reason.strip()
    # The reminder schedule starts over from the new deadline.
    await session.execute(delete(AppealReminder).where(AppealReminder.appeal_id == appeal.id))
    await audit.record(
        session, action="appeal.extend", object_type="appeal", object_id=appeal.id, actor_id=actor.id,
        municipality_id=appeal.municipality_id, before={"due_at": before.isoformat()}, after={"due_at": appeal.due_at.isoformat(), "days": days},
    )
    local_due = appeal.due_at.astimezone(policy_for(town).tz).date()
    await _notify_people(
        session, appeal,
        notices.Extended(appeal_id=appeal.id, number=appeal.reg_number, date=local_due.strftime("%d.%m.%Y"), reason=appeal.extension_reason),
    )


async def mark_no_answer(session: AsyncSession, *, appeal: Appeal, actor: User, reason: str) -> None:
    """Leave the appeal without an answer on one of the grounds of art. 11, telling the resident."""
    msgid = NO_ANSWER_KEYS.get(reason)
    if msgid is None:
        raise Invalid(N_("Unknown reason."))
    town = await session.get(Municipality, appeal.municipality_id)
    assert town is not None
    stoppers = {r.value for r in permissions.roles(town, permissions.STOP_CORRESPONDENCE)}
    if reason == "correspondence_stopped" and not set(await _roles(session, actor.id, appeal.municipality_id)) & stoppers:
        raise Forbidden(N_("Only the head of the municipality may stop the correspondence."))
    appeal.answer_required = False
    appeal.no_answer_reason = msgid
    appeal.flagged_obscene = appeal.flagged_obscene or reason == "obscene"
    await _move(session, appeal, Status.NO_ANSWER_REQUIRED, actor_id=actor.id, notify=False, reason=reason)
    if reason == "obscene":  # art. 11 p. 3: the citizen is told that abuse of the right is inadmissible
        notice: Notice = notices.AbuseInadmissible(appeal_id=appeal.id, number=appeal.reg_number)
    else:
        notice = notices.LeftWithoutAnswer(appeal_id=appeal.id, number=appeal.reg_number, reason_msgid=msgid)
    await _notify_people(session, appeal, notice)


async def forward_crime_report(session: AsyncSession, *, appeal: Appeal, actor: User, to: str, now: datetime | None = None) -> None:
    """Forward an appeal left without an answer for want of a name or a reply address to the
    body competent for the crime it reports (art. 11 p. 1); where it went is recorded and
    audited. The law gives no notice to the citizen here: there is no address to send it to."""
    if appeal.redirected_at is not None and appeal.status == Status.NO_ANSWER_REQUIRED.value:
        raise Conflict(N_("This appeal has already been forwarded to {to}."), to=appeal.redirected_to or "—")
    if not rules.can_forward_as_crime_report(
        kind=Kind(appeal.kind), status=Status(appeal.status), no_answer_reason=appeal.no_answer_reason, forwarded=False
    ):
        raise Conflict(N_(
            "Only a formal appeal left without an answer because it gives no name or no reply address can be "
            "forwarded as a report of a crime (59-FZ art. 11 p. 1)."
        ))
    body = " ".join(to.split())
    if len(body) < 2:
        raise Invalid(N_("Name the body the appeal is forwarded to."))
    appeal.route_to_competent_body = True
    appeal.redirected_to, appeal.redirected_at = body, now or utcnow()
    await audit.record(
        session, action="appeal.crime_report_forwarded", object_type="appeal", object_id=appeal.id, actor_id=actor.id,
        municipality_id=appeal.municipality_id, after={"to": appeal.redirected_to},
    )


async def _roles(session: AsyncSession, user_id: int, municipality_id: int) -> list[str]:
    return list(await session.scalars(select(Membership.role).where(Membership.user_id == user_id, Membership.municipality_id == municipality_id)))


async def merge(session: AsyncSession, *, appeal: Appeal, into: Appeal, actor: User) -> None:
    """Merge a duplicate report into another: everyone who reported gets the one answer."""
    if Kind(appeal.kind) is not Kind.REPORT or Kind(into.kind) is not Kind.REPORT:
        raise Conflict(N_("Only problem reports can be merged."))
    if appeal.id == into.id or into.merged_into_id is not None or into.municipality_id != appeal.municipality_id:
        raise Conflict(N_("These reports cannot be merged."))
    if not rules.is_open(Status(into.status)):
        raise Conflict(N_("Merge into a report that is still being handled."))
    appeal.merged_into_id = into.id
    for child in await session.scalars(select(Appeal).where(Appeal.merged_into_id == appeal.id)):
        child.merged_into_id = into.id
    await audit.record(
        session, action="appeal.merge", object_type="appeal", object_id=appeal.id, actor_id=actor.id,
        municipality_id=appeal.municipality_id, after={"into": into.id},
    )
    if appeal.author_id:
        await outbox.enqueue(
            session, user_id=appeal.author_id, municipality_id=appeal.municipality_id,
            notice=notices.Merged(appeal_id=appeal.id, number=appeal.reg_number, other=into.reg_number),
        )


async def _signer(session: AsyncSession, *, town: Municipality, clerk: User, department: Department | None) -> letter.Signer:
    known = {r.value for r in Role}
    roles = {Role(r) for r in await _roles(session, clerk.id, town.id) if r in known}
    return letter.signer_for(town, clerk=clerk, roles=roles, department=department)


async def set_answer_template(session: AsyncSession, *, category: AppealCategory, actor: User, body: str | None) -> None:
    """Set (or, with None, clear) a category's answer template, checked in the sandbox first."""
    if body is not None:
        await documents.check_template_async(body)
    category.answer_template = body
    await audit.record(
        session, action="appeal_category.template", object_type="appeal_category", object_id=category.id,
        actor_id=actor.id, municipality_id=category.municipality_id, after={"set": body is not None},
    )


async def answer_template(session: AsyncSession, *, category: AppealCategory) -> str:
    """The template the category's answers start from."""
    if category.answer_template:
        return category.answer_template
    tpl = await documents.template_for(session, municipality_id=category.municipality_id, key="appeal_answer")
    return tpl.body if tpl else letter.DEFAULT_ANSWER_TEMPLATE


async def draft_answer(session: AsyncSession, *, appeal: Appeal, actor: User) -> str:
    """The answer's starting text from the category's template (else the town's, else the
    shared default), rendered in the sandbox; the substance is a placeholder to replace."""
    town = await session.get(Municipality, appeal.municipality_id)
    assert town is not None
    cat = await session.get(AppealCategory, appeal.category_id) if appeal.category_id else None
    if cat is not None:
        source = await answer_template(session, category=cat)
    else:
        tpl = await documents.template_for(session, municipality_id=town.id, key="appeal_answer")
        source = tpl.body if tpl else letter.DEFAULT_ANSWER_TEMPLATE
    department = await session.get(Department, appeal.department_id) if appeal.department_id else None
    context = letter.template_context(
        appeal=appeal, town=town, department=department, clerk=actor,
        signer=await _signer(session, town=town, clerk=actor, department=department),
        answer_text=letter.ANSWER_TEXT_PLACEHOLDER, today=utcnow(),
    )
    return letter.normalized_body(await documents.render_template_async(source, context))


@dataclass(frozen=True)
class AnswerResult:
    document: Document
    file: StoredFile


async def answer(
    session: AsyncSession, *, appeal: Appeal, actor: User, body: str, files_root: Path, font: Path | None, now: datetime | None = None
) -> AnswerResult:
    """Answer: an outgoing Document with its own number, signed as the town set, rendered to
    a PDF letter and sent to the chat of everyone who reported; the rating request follows."""
    now = now or utcnow()
    if appeal.merged_into_id is not None:
        raise Conflict(N_("This report was merged into another; answer that one."))
    if not rules.can_transition(Status(appeal.status), Status.ANSWERED):
        raise Conflict(
            N_("An appeal that is «{current_msgid}» cannot become «{target_msgid}»."),
            current_msgid=STATUS_TITLES[Status(appeal.status)], target_msgid=STATUS_TITLES[Status.ANSWERED],
        )
    text = letter.normalized_body(body)
    if letter.ANSWER_TEXT_PLACEHOLDER in text:
        raise Invalid(N_("Write the answer on the merits in place of “{placeholder}”."), placeholder=letter.ANSWER_TEXT_PLACEHOLDER)
    if not text:
        raise Invalid(N_("The answer is empty."))
    town = await session.get(Municipality, appeal.municipality_id)
    assert town is not None
    department = await session.get(Department, appeal.department_id) if appeal.department_id else None
    tz = policy_for(town).tz
    signer = await _signer(session, town=town, clerk=actor, department=department)
    doc = await documents.register(
        session, municipality_id=town.id, direction=Direction.OUTGOING, kind="appeal_answer", title=letter.title(appeal, town),
        body=text,
        requisites={
            "addressee": "\n".join(letter.addressee_lines(appeal)), "author": letter.clerk_name(actor),
            "signer": signer.name, "signer_position": signer.position, "executor": letter.clerk_name(actor),
            "appeal": appeal.reg_number, "department": department.name if department else None,
        },
        author_id=actor.id, signer_id=actor.id if signer.is_clerk else None, origin=("appeal", appeal.id), now=now, tz=tz,
    )
    assert doc.number is not None
    content = letter.pdf_content(
        appeal=appeal, town=town, department=department, clerk=actor, signer=signer, number=doc.number, body=doc.body, now=now,
    )
    stored = await files.save(
        session, root=files_root, municipality_id=town.id, data=pdf.render(content, font=font),
        filename=f"{doc.number}.pdf", mime="application/pdf", owner_type="document", owner_id=doc.id, created_by=actor.id,
    )
    doc.file_id = stored.id
    appeal.answer_document_id, appeal.answered_at = doc.id, now
    await drafts.discard_draft(session, appeal_id=appeal.id)
    await _move(session, appeal, Status.ANSWERED, actor_id=actor.id, notify=False, document=doc.number)
    for child in await session.scalars(select(Appeal).where(Appeal.merged_into_id == appeal.id)):
        child.status, child.answer_document_id, child.answered_at = Status.ANSWERED.value, doc.id, now
    await _notify_people(
        session, appeal, notices.Answered(appeal_id=appeal.id, number=appeal.reg_number, doc_number=doc.number, body=doc.body),
        file_id=stored.id,
    )
    await documents.mark_sent(session, document_id=doc.id, now=now)
    return AnswerResult(document=doc, file=stored)


async def rate(session: AsyncSession, *, appeal_id: int, user: User, rating: int, comment: str | None = None) -> Appeal:
    """The resident rates the answer (1 to 5, optional comment); the appeal is then closed."""
    if not 1 <= rating <= 5:
        raise Invalid(N_("A rating is from 1 to 5."))
    appeal = await get_own(session, user_id=user.id, appeal_id=appeal_id)
    if appeal.status not in (Status.ANSWERED.value, Status.CLOSED.value):
        raise Conflict(N_("You can rate the answer once it has been given."))
    appeal.rating, appeal.rated_at = rating, utcnow()
    if comment is not None:
        appeal.rating_comment = comment.strip()[:1000] or None
    await audit.record(session, action="appeal.rate", object_type="appeal", object_id=appeal.id, actor_id=user.id,
                       municipality_id=appeal.municipality_id, after={"rating": rating})
    if appeal.status == Status.ANSWERED.value:
        await _move(session, appeal, Status.CLOSED, actor_id=user.id, notify=False)
    return appeal


async def erase_personal_data(session: AsyncSession, user_id: int) -> None:
    """Appeals are records the law keeps: they stay, without the person's name and contacts."""
    for a in await session.scalars(select(Appeal).where(Appeal.author_id == user_id)):
        a.full_name = a.reply_address = a.phone = None
        await _index(session, a, with_author=False)
