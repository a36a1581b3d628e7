"""How the API documents itself: one error body for every error, and the media types of file
downloads, so that a client generated from `/api/openapi.json` is right.

Routers declare the errors their routes can answer with:

    router = APIRouter(prefix="/api/v1/...", tags=["..."], responses=ERRORS)

and file downloads their media types:

    @router.get("/export", response_class=Response, responses=file_response(CSV, XLSX))
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    """The body of every error the API answers with (see backend/app.py)."""

    error: str = Field(description="A stable code: unauthorized, forbidden, not_found, conflict, invalid, too_large, ...")
    message: str = Field(description="What went wrong, in the caller's language")
    fields: list[str] | None = Field(
        default=None, description="With `invalid` input: the fields at fault, e.g. `text` or `query.limit`"
    )


ERROR_DESCRIPTIONS = {
    400: "The request cannot be read",
    401: "The launch data is missing, forged or expired",
    403: "The person's roles in this town do not allow it",
    404: "Not found, or in a town the person does not belong to",
    409: "The object's state does not allow it now",
    413: "The request body is too large",
    422: "Some input is invalid",
    502: "The messenger's server could not be reached",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all with the one error body."""
    return {code: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


# The errors a town-scoped route with launch data can answer with; the default for routers.
ERRORS = errors(401, 403, 404, 409, 422)

_BINARY = {"schema": {"type": "string", "format": "binary"}}


def file_response(*media_types: str, description: str = "The file") -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a route that answers with a file of one of `media_types`
    (use with `response_class=Response`, so FastAPI does not also claim JSON)."""
    return {200: {"description": description, "content": {media_type: _BINARY for media_type in media_types}}}
