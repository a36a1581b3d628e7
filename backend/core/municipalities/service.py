"""Towns (tenants) and their departments."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import service as audit
from backend.core.municipalities.models import Department, Municipality, Region
from backend.db import Base, utcnow
from backend.errors import Conflict, Invalid, NotFound
from backend.i18n import N_

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


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
    if not SLUG_RE.match(slug):
        raise Invalid(N_("A town slug is 2-63 lowercase Latin letters, digits or hyphens."))
    if await get_by_slug(session, slug=slug) is not None:
        raise Conflict(N_("A town with this slug already exists."))
    town = Municipality(slug=slug, name=name, region_id=region_id, timezone=timezone, settings=settings or {})
    session.add(town)
    await session.flush()
    return town


async def list_all(session: AsyncSession) -> list[Municipality]:
    """Every town, active or not, by name (the platform's view)."""
    return list(await session.scalars(select(Municipality).order_by(Municipality.name)))


async def add_department(session: AsyncSession, *, municipality_id: int, name: str) -> Department:
    """Add a department to a town."""
    dept = Department(municipality_id=municipality_id, name=name)
    session.add(dept)
    await session.flush()
    return dept


async def departments(session: AsyncSession, *, municipality_id: int, include_archived: bool = False) -> list[Department]:
    """The town's departments by name; archived ones only when asked."""
    stmt = select(Department).where(Department.municipality_id == municipality_id)
    if not include_archived:
        stmt = stmt.where(Department.archived_at.is_(None))
    return list(await session.scalars(stmt.order_by(Department.name, Department.id)))


async def get_department(session: AsyncSession, *, municipality_id: int, department_id: int) -> Department:
    """One department of the town (another town's is not found)."""
    dept = await session.get(Department, department_id)
    if dept is None or dept.municipality_id != municipality_id:
        raise NotFound(N_("Department not found."))
    return dept


async def _check_name(session: AsyncSession, *, municipality_id: int, name: str, except_id: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise Invalid(N_("A department needs a name."))
    # Compared here, not in SQL: SQLite's lower() knows only ASCII, and a town has few departments.
    others = await session.execute(
        select(Department.id, Department.name).where(Department.municipality_id == municipality_id)
    )
    if any(i != except_id and n.casefold() == name.casefold() for i, n in others.all()):
        raise Conflict(N_("The town already has a department with this name."))
    return name


async def create_department(session: AsyncSession, *, municipality_id: int, name: str, actor_id: int) -> Department:
    """A new department, named uniquely within the town."""
    name = await _check_name(session, municipality_id=municipality_id, name=name)
    dept = await add_department(session, municipality_id=municipality_id, name=name)
    await audit.record(
        session, action="department.create", object_type="department", object_id=dept.id, actor_id=actor_id,
        municipality_id=municipality_id, after={"name": name},
    )
    return dept


async def rename_department(session: AsyncSession, *, department: Department, name: str, actor_id: int) -> None:
    """Rename a department; old records show the new name too."""
    name = await _check_name(session, municipality_id=department.municipality_id, name=name, except_id=department.id)
    if name == department.name:
        return
    before = department.name
    department.name = name
    await audit.record(
        session, action="department.rename", object_type="department", object_id=department.id, actor_id=actor_id,
        municipality_id=department.municipality_id, before={"name": before}, after={"name": name},
    )


async def archive_department(session: AsyncSession, *, department: Department, archived: bool, actor_id: int) -> None:
    """Archive a department (no new categories or staff), or bring it back."""
    if archived == (department.archived_at is not None):
        return
    department.archived_at = utcnow() if archived else None
    await audit.record(
        session, action="department.archive" if archived else "department.restore", object_type="department",
        object_id=department.id, actor_id=actor_id, municipality_id=department.municipality_id, after={"name": department.name},
    )


# Invitations are not records: one to a deleted department simply loses it (SET NULL).
_NOT_USES = frozenset({"staff_invite"})


def _references() -> list[Column[Any]]:
    """Every column of every installed model that points at a department: found in the
    metadata, so a service's tables count without core knowing the service."""
    return sorted(
        (fk.parent for table in Base.metadata.tables.values() for fk in table.foreign_keys
         if fk.column.table.name == Department.__tablename__ and table.name not in _NOT_USES),
        key=lambda c: (c.table.name, c.name),
    )


async def department_uses(session: AsyncSession, *, department_ids: Iterable[int]) -> dict[int, int]:
    """How many rows (categories, staff, appeals, ...) refer to each department."""
    ids = list(department_ids)
    uses = dict.fromkeys(ids, 0)
    if not ids:
        return uses
    for column in _references():
        rows = await session.execute(select(column, func.count()).where(column.in_(ids)).group_by(column))
        for dept_id, n in rows.all():
            uses[dept_id] += n
    return uses


async def delete_department(session: AsyncSession, *, department: Department, actor_id: int) -> None:
    """Delete a department nothing refers to; one in use can only be archived."""
    if (await department_uses(session, department_ids=[department.id]))[department.id]:
        raise Conflict(N_("The department is in use (categories, staff or appeals refer to it): archive it instead."))
    await audit.record(
        session, action="department.delete", object_type="department", object_id=department.id, actor_id=actor_id,
        municipality_id=department.municipality_id, before={"name": department.name},
    )
    await session.execute(delete(Department).where(Department.id == department.id))
