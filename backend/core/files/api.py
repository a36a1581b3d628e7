"""Files, served only to people who may see the object they belong to."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.components.manifest import Viewer
from backend.core.downloads import api as downloads
from backend.core.downloads import service as links
from backend.core.downloads.schemas import DownloadLinkOut
from backend.core.files import service
from backend.core.files.models import StoredFile
from backend.core.users.models import User
from backend.deps import CurrentUser, MemberDep, RuntimeDep, SessionDep, SettingsDep, TownAccess
from backend.fields import IdPath
from backend.openapi import errors, file_response
from backend.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["files"], responses=errors(401, 404, 422))
FILE = "/municipalities/{municipality_id}/files/{file_id}"


async def _visible(session: AsyncSession, runtime: Runtime, access: TownAccess, user: User, file_id: int) -> StoredFile:
    viewer = Viewer(user_id=user.id, municipality_id=access.town.id, roles=access.roles)
    return await service.get_for(session, file_id=file_id, viewer=viewer, registry=runtime.registry)


@router.get(
    FILE,
    response_class=Response,
    responses=file_response(*service.ALLOWED, description="The file's bytes, of the type it was stored with"),
)
async def get_file(
    file_id: IdPath, request: Request, access: MemberDep, user: CurrentUser, session: SessionDep, settings: SettingsDep,
    runtime: RuntimeDep,
) -> FileResponse:
    """The file's bytes, inline (as an attachment through a signed link), with its stored name."""
    stored = await _visible(session, runtime, access, user, file_id)
    disposition = "attachment" if links.granted(request.scope) else "inline"
    return FileResponse(
        service.path_of(settings.files_dir, stored),
        media_type=stored.mime,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=300",
        },
    )


@router.post(FILE + links.SUFFIX, response_model=DownloadLinkOut)
async def file_link(
    file_id: IdPath, request: Request, access: MemberDep, user: CurrentUser, session: SessionDep, settings: SettingsDep,
    runtime: RuntimeDep,
) -> DownloadLinkOut:
    """A signed link that downloads the file for a few minutes without Authorization."""
    stored = await _visible(session, runtime, access, user, file_id)
    return downloads.link(request, settings, user_id=user.id, filename=stored.filename)
