"""Towns (tenants) and their departments."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.municipalities.models import Department, Municipality, Region
from backend.errors import Conflict, Invalid, NotFound
from backend.i18n import N_

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


async def get(session: AsyncSession, *, municipality_id: int) -> Municipality:
    """A town by id."""
    town = await session.get(Municipality, municipality_id)
    if town is None or not town.is_active:
        raise NotFound(N_("Town not found."))
    return town


async def get_by_slug(session: AsyncSession, *, slug: str) -> Municipality | None:
    """A town by its slug (the deep-link payload), or None."""
    return await session.scalar(
        select(Municipality).where(Municipality.slug == slug.lower(), Municipality.is_active.is_(True))
    )


async def list_active(session: AsyncSession) -> list[Municipality]:
    """All towns open for residents, by name."""
    return list(await session.scalars(select(Municipality).where(Municipality.is_active.is_(True)).order_by(Municipality.name)))


async def ensure_region(session: AsyncSession, *, code: str, name: str) -> Region:
    """The region with this code, created when missing."""
    region = await session.scalar(select(Region).where(Region.code == code))
    if region is None:
        region = Region(code=code, name=name)
        session.add(region)
        await session.flush()
    return region


async def create(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    region_id: int | None = None,
    timezone: str = "Europe/Moscow",
    settings: dict[str, Any] | None = None,
) -> Municipality:
    """Register a new town; the slug is what deep links carry."""
    if not _SLUG_RE.match(slug):
        raise Invalid(N_("A town slug is 2-63 lowercase Latin letters, digits or hyphens."))
    if await get_by_slug(session, slug=slug) is not None:
        raise Conflict(N_("A town with this slug already exists."))
    town = Municipality(slug=slug, name=name, region_id=region_id, timezone=timezone, settings=settings or {})
    session.add(town)
    await session.flush()
    return town


async def add_department(session: AsyncSession, *, municipality_id: int, name: str) -> Department:
    """Add a department to a town."""
    dept = Department(municipality_id=municipality_id, name=name)
    session.add(dept)
    await session.flush()
    return dept
