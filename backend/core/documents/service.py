"""Documents: numbering per registry and year, templates, registration and rendering."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import service as audit
from backend.core.components.manifest import Viewer
from backend.core.components.registry import Registry
from backend.core.documents.models import (
    Direction,
    DocStatus,
    Document,
    DocumentLink,
    DocumentTemplate,
    RegistrySequence,
)
from backend.core.users.models import Role
from backend.core.documents.renderer import renderer
from backend.db import utcnow
from backend.errors import Invalid, NotFound
from backend.i18n import N_

# Registration journals' prefixes as they appear in the number, e.g. ИСХ-2026-000001.
JOURNAL_PREFIX = {Direction.OUTGOING: "ИСХ", Direction.INCOMING: "ВХ", Direction.INTERNAL: "ВН"}


async def next_number(session: AsyncSession, *, municipality_id: int, journal: str, year: int) -> int:
    """The next number in a registration journal for a year; gap-free within committed transactions.

    The UPDATE takes a row lock on PostgreSQL (SQLite has one writer), so concurrent
    registrations never share a number.
    """
    stmt = (
        update(RegistrySequence)
        .where(RegistrySequence.municipality_id == municipality_id, RegistrySequence.journal == journal, RegistrySequence.year == year)
        .values(last_value=RegistrySequence.last_value + 1)
        .returning(RegistrySequence.last_value)
    )
    value = (await session.execute(stmt)).scalar_one_or_none()
    if value is not None:
        return value
    try:
        async with session.begin_nested():
            session.add(RegistrySequence(municipality_id=municipality_id, journal=journal, year=year, last_value=1))
        return 1
    except IntegrityError:  # another transaction created the row first: take the next number from it
        value = (await session.execute(stmt)).scalar_one()
        return value


# --- templates ---------------------------------------------------------------------------------
# Compiled and rendered in worker processes with a deadline and a memory limit (renderer.py,
# sandbox.py): a template can neither reach Python's internals nor freeze the app. The *_async
# variants do not block the event loop; the plain ones block the caller for at most
# renderer.TIMEOUT (+ GRACE) seconds.

TEMPLATE_FIELDS = frozenset(
    {
        "salutation", "resident_name", "reg_number", "registered_date", "due_date", "today", "clerk", "department",
        "department_genitive", "department_instrumental", "administration", "signer_name", "signer_position", "town",
        "text", "answer_text",
    }
)
# What a trial render at save time fills the fields with: shaped like the real values.
SAMPLE_CONTEXT = {
    "salutation": "Уважаемая Анна Сергеевна!",
    "resident_name": "Иванова Анна Сергеевна",
    "reg_number": "GLZ-2026-000123",
    "registered_date": "02.03.2026",
    "due_date": "01.04.2026",
    "today": "10.03.2026",
    "clerk": "Петров Иван",
    "department": "Отдел благоустройства",
    "department_genitive": "отдела благоустройства",
    "department_instrumental": "отделом благоустройства",
    "administration": "Администрация муниципального образования «Город»",
    "signer_name": "Главин Иван Иванович",
    "signer_position": "Глава городского округа",
    "town": "Город",
    "text": "Во дворе дома 5 по улице Мира не вывозят мусор.",
    "answer_text": "Мусор вывезен 9 марта.",
}
MAX_TEMPLATE_CHARS = 100_000

_FAILURES = {
    "unknown_field": N_("The template uses an unknown field: {error}"),
    "error": N_("The template has an error: {error}"),
    "too_long": N_("The template produces a text longer than {limit} characters."),
    "timeout": N_("The template takes too long to render."),
    "memory": N_("The template needs too much memory to render."),
    "crashed": N_("The template could not be rendered."),
}


def _request(op: str, source: str, **fields: Any) -> dict[str, Any]:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise Invalid(N_("The template is longer than {limit} characters."), limit=MAX_TEMPLATE_CHARS)
    return {"op": op, "source": source, **fields}


def _result(answer: dict[str, Any]) -> dict[str, Any]:
    if not answer["ok"]:
        detail = answer.get("detail", "")
        raise Invalid(_FAILURES.get(answer["kind"], _FAILURES["crashed"]), error=detail, limit=detail)
    return answer


def _check_request(source: str, fields: frozenset[str], sample: dict[str, Any] | None) -> dict[str, Any]:
    if sample is None:
        sample = {f: SAMPLE_CONTEXT.get(f, f) for f in fields}
    return _request("check", source, fields=sorted(fields), sample=sample)


def render_template(source: str, context: dict[str, Any]) -> str:
    """Render a template in the sandbox; a mistake or an excess in it is a clear Invalid."""
    return _result(renderer.ask(_request("render", source, context=context)))["text"]


async def render_template_async(source: str, context: dict[str, Any]) -> str:
    """`render_template` without blocking the event loop."""
    return _result(await renderer.ask_async(_request("render", source, context=context)))["text"]


def check_template(
    source: str, fields: frozenset[str] = TEMPLATE_FIELDS, sample: dict[str, Any] | None = None
) -> None:
    """Refuse a template that does not parse, names a field the context never has, or fails
    a trial render with `sample` (by default SAMPLE_CONTEXT): refused when it is saved, not
    each time a clerk opens an answer."""
    _result(renderer.ask(_check_request(source, fields, sample)))


async def check_template_async(
    source: str, fields: frozenset[str] = TEMPLATE_FIELDS, sample: dict[str, Any] | None = None
) -> None:
    """`check_template` without blocking the event loop."""
    _result(await renderer.ask_async(_check_request(source, fields, sample)))


async def template_for(session: AsyncSession, *, municipality_id: int, key: str) -> DocumentTemplate | None:
    """The town's own template for `key`, else the shared one."""
    rows = await session.scalars(
        select(DocumentTemplate).where(
            DocumentTemplate.key == key,
            (DocumentTemplate.municipality_id == municipality_id) | DocumentTemplate.municipality_id.is_(None),
        )
    )
    found = list(rows)
    own = [t for t in found if t.municipality_id == municipality_id]
    return (own or found or [None])[0]


async def upsert_template(
    session: AsyncSession, *, municipality_id: int | None, key: str, kind: str, title: str, body: str
) -> DocumentTemplate:
    """Create or replace a template (checked in the sandbox first)."""
    await check_template_async(body)
    same_town = (
        DocumentTemplate.municipality_id.is_(None)
        if municipality_id is None
        else DocumentTemplate.municipality_id == municipality_id
    )
    tpl = await session.scalar(select(DocumentTemplate).where(same_town, DocumentTemplate.key == key))
    if tpl is None:
        tpl = DocumentTemplate(municipality_id=municipality_id, key=key, kind=kind, title=title, body=body)
        session.add(tpl)
    else:
        tpl.kind, tpl.title, tpl.body = kind, title, body
    await session.flush()
    return tpl


async def register(
    session: AsyncSession,
    *,
    municipality_id: int,
    direction: Direction,
    kind: str,
    title: str,
    body: str,
    requisites: dict[str, Any],
    author_id: int | None,
    signer_id: int | None,
    origin: tuple[str, int] | None = None,
    now: datetime | None = None,
    tz: tzinfo = UTC,
) -> Document:
    """Create a document already signed and registered: it gets its registry number now,
    in the journal of the town's year (`tz` is the town's zone)."""
    now = now or utcnow()
    local = now.astimezone(tz)
    journal = direction
    seq = await next_number(session, municipality_id=municipality_id, journal=journal, year=local.year)
    number = f"{JOURNAL_PREFIX[journal]}-{local.year}-{seq:06d}"
    doc = Document(
        municipality_id=municipality_id,
        direction=direction,
        kind=kind,
        journal=journal,
        year=local.year,
        seq=seq,
        number=number,
        title=title,
        body=body,
        requisites={**requisites, "number": number, "date": local.date().isoformat()},
        status=DocStatus.REGISTERED.value,
        author_id=author_id,
        signer_id=signer_id,
        origin_type=origin[0] if origin else None,
        origin_id=origin[1] if origin else None,
        signed_at=now,
        registered_at=now,
    )
    session.add(doc)
    await session.flush()
    await audit.record(
        session, action="document.register", object_type="document", object_id=doc.id, actor_id=author_id,
        municipality_id=municipality_id, after={"number": number, "kind": kind},
    )
    return doc


async def link(session: AsyncSession, *, from_id: int, to_id: int, relation: str) -> None:
    """Relate two documents."""
    session.add(DocumentLink(from_id=from_id, to_id=to_id, relation=relation))
    await session.flush()


async def mark_sent(session: AsyncSession, *, document_id: int, now: datetime | None = None) -> None:
    """The document reached its addressee."""
    doc = await session.get(Document, document_id)
    if doc is None:
        raise NotFound(N_("Document not found."))
    doc.status = DocStatus.SENT.value
    doc.sent_at = now or utcnow()


async def for_origin(session: AsyncSession, *, origin_type: str, origin_id: int) -> list[Document]:
    """Documents created from one object (an appeal's answers), oldest first."""
    return list(
        await session.scalars(
            select(Document).where(Document.origin_type == origin_type, Document.origin_id == origin_id).order_by(Document.id)
        )
    )


# Who works with a town's documents that came from no citizen's case (orders, notes, ...).
OFFICIALS = frozenset({Role.CLERK, Role.DEPARTMENT_HEAD, Role.HEAD, Role.ADMIN})


async def may_see(session: AsyncSession, viewer: Viewer, document_id: int, registry: Registry) -> bool:
    """Whether the viewer may see a document (and its files): its author and signer do; one
    made from an object (an appeal's answer) is visible to whoever may see that object, as
    the object's component says; any other to the town's officials."""
    doc = await session.get(Document, document_id)
    if doc is None or doc.municipality_id != viewer.municipality_id:
        return False
    if viewer.user_id in (doc.author_id, doc.signer_id):
        return True
    if doc.origin_type is not None and doc.origin_id is not None:
        check = registry.document_access(doc.origin_type)
        return check is not None and await check(session, viewer, doc.origin_id)
    return bool(viewer.roles & OFFICIALS)
