"""File storage: a directory from settings, size and MIME limits, safe names, and access
checked by the owner of each file.

A file belongs to an object (`owner_type`, `owner_id`); the component owning objects of that
type declares who may see them in its manifest (documents are core's own), and files are
served only to people who may see the object.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.files.models import StoredFile
from backend.core.components.manifest import Viewer
from backend.core.components.registry import Registry
from backend.core.documents import service as documents
from backend.db import utcnow
from backend.errors import Invalid, NotFound
from backend.i18n import N_

MAX_BYTES = 20 * 1024 * 1024  # Telegram bots download at most 20 MB

# MIME type -> (extension, magic prefixes or None when the format has no reliable magic)
ALLOWED: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    "image/jpeg": (".jpg", (b"\xff\xd8\xff",)),
    "image/png": (".png", (b"\x89PNG\r\n\x1a\n",)),
    "image/webp": (".webp", (b"RIFF",)),
    "image/heic": (".heic", None),
    "application/pdf": (".pdf", (b"%PDF-",)),
    "audio/ogg": (".ogg", (b"OggS",)),
    "audio/mpeg": (".mp3", (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")),
    "video/mp4": (".mp4", None),
    "text/plain": (".txt", None),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx", (b"PK\x03\x04",)),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx", (b"PK\x03\x04",)),
    "application/msword": (".doc", (b"\xd0\xcf\x11\xe0",)),
}

# Characters that are never part of a file name as the person meant it: format characters
# (Unicode category Cf: bidi controls such as U+202E RIGHT-TO-LEFT OVERRIDE, which makes
# "photo\u202egpj.exe" look like "photoexe.jpg", zero-width spaces and joiners, BOM), lone
# surrogates (not encodable, so not storable), unassigned or private-use code points, and the
# line and paragraph separators U+2028/U+2029.
_INVISIBLE = frozenset({"Cf", "Cs", "Cn", "Co", "Zl", "Zp"})


def safe_filename(name: str, mime: str) -> str:
    """A name safe to store and to send in Content-Disposition: no paths, no control chars,
    no bidi overrides or other invisible characters."""
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _INVISIBLE)
    name = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name)
    name = re.sub(r"[\x00-\x1f\x7f-\x9f/\\:*?\"<>|]+", "_", name).strip(" .") or "file"
    stem, dot, ext = name.rpartition(".")
    expected = ALLOWED.get(mime, ("", None))[0]
    if not dot or f".{ext.lower()}" != expected:
        stem, ext = name, expected.lstrip(".")
    stem = stem[:120]
    return f"{stem}.{ext}" if ext else stem


def _check_content(data: bytes, mime: str) -> None:
    if not data:
        raise Invalid(N_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise Invalid(N_("The file is larger than {mb} MB."), mb=MAX_BYTES // (1024 * 1024))
    if mime not in ALLOWED:
        raise Invalid(N_("Files of this type are not accepted. Send a photo, PDF, document or voice message."))
    magic = ALLOWED[mime][1]
    if magic is not None and not data.startswith(magic):
        raise Invalid(N_("The file's content does not match its type."))


async def save(
    session: AsyncSession,
    *,
    root: Path,
    municipality_id: int,
    data: bytes,
    filename: str,
    mime: str,
    owner_type: str,
    owner_id: int | None = None,
    created_by: int | None = None,
) -> StoredFile:
    """Validate and store bytes; the row is flushed, the file written under `root`."""
    mime = mime.split(";")[0].strip().lower()
    _check_content(data, mime)
    key = f"{municipality_id}/{uuid.uuid4().hex}{ALLOWED[mime][0]}"
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    stored = StoredFile(
        municipality_id=municipality_id,
        owner_type=owner_type,
        owner_id=owner_id,
        filename=safe_filename(filename, mime),
        mime=mime,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        created_by=created_by,
    )
    session.add(stored)
    await session.flush()
    return stored


def path_of(root: Path, stored: StoredFile) -> Path:
    return root / stored.storage_key


async def attach(session: AsyncSession, *, file_ids: list[int], owner_type: str, owner_id: int) -> None:
    """Point already stored files at their owner (files are saved before the owner exists)."""
    for stored in await session.scalars(select(StoredFile).where(StoredFile.id.in_(file_ids))):
        stored.owner_type, stored.owner_id = owner_type, owner_id


async def of_owner(session: AsyncSession, *, owner_type: str, owner_id: int) -> list[StoredFile]:
    """Files of one object, oldest first."""
    return list(
        await session.scalars(
            select(StoredFile).where(StoredFile.owner_type == owner_type, StoredFile.owner_id == owner_id).order_by(StoredFile.id)
        )
    )


async def get_for(session: AsyncSession, *, file_id: int, viewer: Viewer, registry: Registry) -> StoredFile:
    """A file the person may see in this town; NotFound otherwise (never 403: no probing)."""
    stored = await session.get(StoredFile, file_id)
    if stored is None or stored.municipality_id != viewer.municipality_id or stored.owner_id is None:
        raise NotFound(N_("File not found."))
    if stored.owner_type == "document":
        allowed = await documents.may_see(session, viewer, stored.owner_id, registry)
    else:
        check = registry.file_access(stored.owner_type)
        allowed = check is not None and await check(session, viewer, stored.owner_id)
    if not allowed:
        raise NotFound(N_("File not found."))
    return stored


# Files uploaded for something never finished (a dialog cancelled, attachments removed).
ORPHAN_AFTER = timedelta(days=2)


async def delete_orphans(session: AsyncSession, *, root: Path, now: datetime | None = None) -> int:
    """Delete files that never got an owner within ORPHAN_AFTER; returns how many."""
    cutoff = (now or utcnow()) - ORPHAN_AFTER
    orphans = list(await session.scalars(select(StoredFile).where(StoredFile.owner_id.is_(None), StoredFile.created_at < cutoff)))
    for stored in orphans:
        path_of(root, stored).unlink(missing_ok=True)
    if orphans:
        await session.execute(delete(StoredFile).where(StoredFile.id.in_([s.id for s in orphans])))
    return len(orphans)
