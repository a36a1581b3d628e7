"""The toy's routes, under /api/v1/municipalities/{municipality_id}: the app includes them
with the gate that answers 404 where the town has the toy off."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from backend.deps import CurrentUser, RuntimeDep, SessionDep, TownAccess, can
from backend.openapi import errors
from tests.services.toy.backend import service
from tests.services.toy.backend.schemas import NoteIn, NoteOut

router = APIRouter(prefix="/api/v1/municipalities/{municipality_id}/toy", tags=["toy"], responses=errors(401, 403, 404, 409, 422))
WriterDep = Annotated[TownAccess, Depends(can(service.SLUG, "write"))]


@router.get("/notes", response_model=list[NoteOut])
async def my_notes(access: WriterDep, user: CurrentUser, session: SessionDep) -> list[NoteOut]:
    """The calling person's notes in this town."""
    notes = await service.notes_of(session, municipality_id=access.town.id, user_id=user.id)
    return [NoteOut(id=n.id, text=n.text, created_at=n.created_at) for n in notes]


@router.post("/notes", response_model=NoteOut, status_code=201)
async def add_note(body: NoteIn, access: WriterDep, user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> NoteOut:
    """Keep a note."""
    settings = runtime.registry.get(service.SLUG).settings_for(access.town)
    note = await service.add_note(session, town=access.town, settings=settings, user_id=user.id, text=body.text)
    return NoteOut(id=note.id, text=note.text, created_at=note.created_at)
