"""Signed download links over HTTP: `link` answers a route's POST <path>/download-link, and
GET /api/v1/dl/<token> serves the GET it grants, as the person it names.

Telegram's WebApp.downloadFile fetches the URL itself, without our Authorization header,
and only over HTTPS: in production the links must point at an https:// PUBLIC_URL or
MINIAPP_URL (an http:// one is for development and tests).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.core.downloads import service
from backend.core.downloads.schemas import DownloadLinkOut
from backend.errors import DomainError, NotFound
from backend.fields import NO_NUL
from backend.i18n import N_
from backend.openapi import errors, file_response
from backend.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["downloads"], responses=errors(401, 403, 404, 409, 422))

# What a granted GET may answer with: the person's data (JSON), exports, stored files.
_FILES = file_response(
    "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/pdf", "image/jpeg",
    "image/png", "application/octet-stream", description="The file the link grants, as the GET it names answers",
)
_FILES[200]["content"]["application/json"] = {"schema": {"type": "object"}}


def link(request: Request, settings: Settings, *, user_id: int, filename: str) -> DownloadLinkOut:
    """A signed link to the GET beside this POST <path>/download-link (same path and query),
    downloading as `user_id`."""
    path = _route_path(request.scope).removesuffix(service.SUFFIX)
    token = service.sign(service.link_key(settings.signing_token), user_id=user_id, path=path, query=request.url.query)
    base = service.public_base(settings.miniapp_base, str(request.base_url))
    return DownloadLinkOut(url=f"{base}{service.PREFIX}{token}", filename=filename)


@router.get(
    "/dl/{token}",
    response_class=Response,
    responses=_FILES,
)
async def download(token: Annotated[str, Path(max_length=service.MAX_TOKEN, pattern=NO_NUL)], request: Request) -> Response:
    """Download through a signed link (no Authorization): expired and forged links are 401."""
    # A valid link never gets here: SignedDownloads serves it as the GET it grants.
    service.verify(service.link_key(request.app.state.runtime.settings.signing_token), token)
    raise NotFound(N_("Not found."))


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


class SignedDownloads:
    """Pure ASGI: a GET of a valid link becomes the GET it grants, without an Authorization
    header and with the grant in the scope, where `get_current_user` finds the person. Any
    other link goes on to `download`, which says what is wrong with it."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path = _route_path(scope)
            if path.startswith(service.PREFIX):
                try:
                    grant = service.verify(service.link_key(self.settings.signing_token), path[len(service.PREFIX):])
                except DomainError:
                    pass
                else:
                    scope = _granted_scope(scope, grant)
        await self.app(scope, receive, send)


def _granted_scope(scope: Scope, grant: service.Grant) -> Scope:
    root = scope.get("root_path", "")
    headers = [(k, v) for k, v in Headers(scope=scope).raw if k.lower() not in (b"authorization", b"cookie")]
    return {
        **scope,
        "path": root + grant.path,
        "raw_path": (root + grant.path).encode(),
        "query_string": grant.query.encode(),
        "headers": headers,
        service.SCOPE_KEY: grant,
    }
