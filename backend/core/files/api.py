"""Files, served only to people who may see the object they belong to."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from backend.core.files import service
from backend.core.components.manifest import Viewer
from backend.deps import CurrentUser, MemberDep, RuntimeDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["files"])


@router.get("/municipalities/{municipality_id}/files/{file_id}")
async def get_file(
    file_id: Annotated[int, Path()], access: MemberDep, user: CurrentUser, session: SessionDep, settings: SettingsDep,
    runtime: RuntimeDep,
) -> FileResponse:
    """The file's bytes, inline, with its stored name."""
    viewer = Viewer(user_id=user.id, municipality_id=access.town.id, roles=access.roles)
    stored = await service.get_for(session, file_id=file_id, viewer=viewer, registry=runtime.registry)
    return FileResponse(
        service.path_of(settings.files_dir, stored),
        media_type=stored.mime,
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(stored.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=300",
        },
    )
