"""The toy's demo data: one note for the demo resident."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.components.manifest import SeedContext
from tests.services.toy.backend.models import ToyNote


async def seed(session: AsyncSession, ctx: SeedContext) -> None:
    session.add(ToyNote(municipality_id=ctx.town.id, user_id=ctx.people["resident"].id, text="Buy bread"))
    await session.flush()
