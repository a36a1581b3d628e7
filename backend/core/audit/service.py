"""Writing the append-only audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit.models import AuditLog


async def record(
    session: AsyncSession,
    *,
    action: str,
    object_type: str,
    object_id: object | None = None,
    actor_id: int | None = None,
    municipality_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one entry; callers pass no personal data in before/after, only what changed."""
    entry = AuditLog(
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        actor_id=actor_id,
        municipality_id=municipality_id,
        before=before,
        after=after,
    )
    session.add(entry)
    await session.flush()
    return entry


async def history(session: AsyncSession, *, object_type: str, object_id: object) -> list[AuditLog]:
    """Entries about one object, oldest first."""
    rows = await session.scalars(
        select(AuditLog)
        .where(AuditLog.object_type == object_type, AuditLog.object_id == str(object_id))
        .order_by(AuditLog.id)
    )
    return list(rows)


async def by_actor(session: AsyncSession, *, actor_id: int) -> list[AuditLog]:
    """Entries a person caused, oldest first (part of their data export)."""
    rows = await session.scalars(select(AuditLog).where(AuditLog.actor_id == actor_id).order_by(AuditLog.id))
    return list(rows)
