"""Towns, as the miniapps see them."""

from __future__ import annotations

from fastapi import APIRouter

from backend.core.municipalities import service
from backend.core.municipalities.schemas import DepartmentRef, TownOut
from backend.deps import CurrentUser, MemberDep, SessionDep
from backend.openapi import errors

router = APIRouter(prefix="/api/v1", tags=["municipalities"], responses=errors(401))


@router.get("/municipalities", response_model=list[TownOut])
async def list_towns(session: SessionDep, _user: CurrentUser) -> list[TownOut]:
    """Towns a person can join."""
    return [TownOut.model_validate(t) for t in await service.list_active(session)]


@router.get("/municipalities/{municipality_id}/departments", response_model=list[DepartmentRef], responses=errors(404, 422))
async def list_departments(access: MemberDep, session: SessionDep) -> list[DepartmentRef]:
    """The town's departments (not the archived ones), for filters and pickers."""
    return [DepartmentRef.model_validate(d) for d in await service.departments(session, municipality_id=access.town.id)]
