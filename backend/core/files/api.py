"""Files, served only to people who may see the object they belong to."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from backend.core.files import service
from backend.core.components.manifest import Viewer
from backend.deps import CurrentUser, MemberDep, RuntimeDep, SessionDep, SettingsDep
from backend.fields import IdPath
from backend.openapi import errors, file_response

router = APIRouter(prefix="/api/v1", tags=["files"], responses=errors(401, 404, 422))


@router.get(
    "/municipalities/{municipality_id}/files/{file_id}",
    response_class=Response,
    responses=file_response(*service.ALLOWED, description="The file's bytes, of the type it was stored with"),
)
async def get_file(
    file_id: IdPath, access: MemberDep, user: CurrentUser, session: SessionDep, settings: SettingsDep, runtime: RuntimeDep,
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
