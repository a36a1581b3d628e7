"""The hub: which services a person may open in a town."""

from __future__ import annotations

from fastapi import APIRouter

from backend.core.components.schemas import ComponentOut
from backend.deps import MemberDep, RuntimeDep
from backend.openapi import errors
from backend.i18n import gettext as _

router = APIRouter(prefix="/api/v1", tags=["hub"], responses=errors(401, 404, 422))


@router.get("/municipalities/{municipality_id}/services", response_model=list[ComponentOut])
async def town_services(access: MemberDep, runtime: RuntimeDep) -> list[ComponentOut]:
    """Services this person's roles allow in this town, in the person's language."""
    return [
        ComponentOut(slug=m.slug, title=_(m.title), description=_(m.description), icon=m.icon, path=m.miniapp or "")
        for m in runtime.registry.available(roles=access.roles, town=access.town)
    ]
