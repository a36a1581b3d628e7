"""Which components a person may open in a town."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.components import registry
from backend.core.municipalities.models import Municipality
from backend.core.users import service as users


async def for_person(session: AsyncSession, *, user_id: int, town: Municipality) -> list[registry.Manifest]:
    """Components the person's roles in `town` allow and the town has switched on."""
    roles = await users.roles_in(session, user_id=user_id, municipality_id=town.id)
    return registry.available(roles=roles, town_settings=town.settings or {})
