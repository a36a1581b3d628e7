"""The Atlas over HTTP: the public page per town (HTML, CSV, share image, approved photos; no
login), the curation API for organizers and the residents' stories. Routes parse, call
`queries`/`service`/`page`, and answer."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, HTMLResponse

from backend.core.components.permissions import effective_roles
from backend.core.downloads.service import public_base
from backend.core.files import service as files
from backend.core.municipalities.models import Municipality
from backend.core.municipalities.service import SLUG_RE
from backend.db import utcnow
from backend.deps import CurrentUser, RuntimeDep, SessionDep, SettingsDep, TownAccess, can
from backend.errors import NotFound
from backend.fields import IdPath
from backend.i18n import N_, normalize_locale, translate
from backend.openapi import ERRORS, errors
from backend.core.documents import pdf
from backend.services.atlas import page as pages
from backend.services.atlas import permissions, queries, service
from backend.services.atlas.schemas import (
    CurationOut,
    FigureIn,
    FigureOut,
    MineOut,
    ModerateIn,
    PlaceIn,
    PlaceOut,
    StoryIn,
    StoryOut,
)
from backend.services.atlas.settings import AtlasSettings
from backend.settings import SUPPORTED_LOCALES, Settings

router = APIRouter(prefix="/api/v1/municipalities/{municipality_id}/atlas", tags=["atlas"], responses=ERRORS)
CuratorDep = Annotated[TownAccess, Depends(can(permissions.SLUG, permissions.CURATE.name))]
ResidentDep = Annotated[TownAccess, Depends(can(permissions.SLUG, permissions.SHARE_STORY.name))]


def page_url(request: Request, settings: Settings, town: Municipality) -> str:
    """The town's public Atlas, where people's devices reach it."""
    return f"{public_base(settings.miniapp_base, str(request.base_url))}/atlas/{town.slug}"


# -- curation (organizers) -----------------------------------------------------------------


@router.get("", response_model=CurationOut)
async def curation(access: CuratorDep, user: CurrentUser, session: SessionDep, request: Request, settings: SettingsDep) -> CurationOut:
    """Everything the curation miniapp shows: settings, sections, figures, places, stories."""
    return await queries.curation(session, town=access.town, page_url=page_url(request, settings, access.town), viewer_id=user.id)


@router.put("/settings", response_model=AtlasSettings)
async def save_settings(values: AtlasSettings, access: CuratorDep, user: CurrentUser, session: SessionDep, runtime: RuntimeDep) -> AtlasSettings:
    """The town's population, the line under its name and which sections are published."""
    return await service.save_settings(session, town=access.town, registry=runtime.registry, values=values, actor_id=user.id)


@router.post("/figures", response_model=FigureOut, status_code=201)
async def add_figure(data: FigureIn, access: CuratorDep, user: CurrentUser, session: SessionDep) -> FigureOut:
    """A figure for one factor of happiness, with its source and date."""
    figure = await service.add_figure(session, municipality_id=access.town.id, data=data, actor_id=user.id)
    return FigureOut.model_validate(figure, from_attributes=True)


@router.put("/figures/{figure_id}", response_model=FigureOut)
async def update_figure(figure_id: IdPath, data: FigureIn, access: CuratorDep, user: CurrentUser, session: SessionDep) -> FigureOut:
    """Replace a figure."""
    figure = await service.update_figure(session, municipality_id=access.town.id, figure_id=figure_id, data=data, actor_id=user.id)
    return FigureOut.model_validate(figure, from_attributes=True)


@router.delete("/figures/{figure_id}", status_code=204)
async def delete_figure(figure_id: IdPath, access: CuratorDep, user: CurrentUser, session: SessionDep) -> Response:
    """Remove a figure."""
    await service.delete_figure(session, municipality_id=access.town.id, figure_id=figure_id, actor_id=user.id)
    return Response(status_code=204)


@router.post("/places", response_model=PlaceOut, status_code=201)
async def add_place(data: PlaceIn, access: CuratorDep, user: CurrentUser, session: SessionDep) -> PlaceOut:
    """A place or a community, with a point on the map when it has one."""
    place = await service.add_place(session, municipality_id=access.town.id, data=data, actor_id=user.id)
    return PlaceOut.model_validate(place, from_attributes=True)


@router.put("/places/{place_id}", response_model=PlaceOut)
async def update_place(place_id: IdPath, data: PlaceIn, access: CuratorDep, user: CurrentUser, session: SessionDep) -> PlaceOut:
    """Replace a place's or community's details."""
    place = await service.update_place(session, municipality_id=access.town.id, place_id=place_id, data=data, actor_id=user.id)
    return PlaceOut.model_validate(place, from_attributes=True)


@router.delete("/places/{place_id}", status_code=204)
async def delete_place(place_id: IdPath, access: CuratorDep, user: CurrentUser, session: SessionDep) -> Response:
    """Remove a place or community."""
    await service.delete_place(session, municipality_id=access.town.id, place_id=place_id, actor_id=user.id)
    return Response(status_code=204)


@router.post("/stories/{story_id}/moderation", response_model=StoryOut)
async def moderate(
    story_id: IdPath, decision: ModerateIn, access: CuratorDep, user: CurrentUser, session: SessionDep, request: Request, settings: SettingsDep,
) -> StoryOut:
    """Approve a story (it and its photos become public) or decline it; the author is told."""
    await service.moderate(session, municipality_id=access.town.id, story_id=story_id, decision=decision, actor_id=user.id,
                           page_url=page_url(request, settings, access.town))
    return await queries.story(session, municipality_id=access.town.id, story_id=story_id, viewer_id=user.id)


# -- residents' stories ----------------------------------------------------------------------


@router.get("/mine", response_model=MineOut)
async def mine(access: ResidentDep, user: CurrentUser, session: SessionDep, request: Request, settings: SettingsDep) -> MineOut:
    """The person's own stories in the town and the public page's address."""
    may_curate = bool(access.roles & effective_roles(access.town, permissions.SLUG, permissions.CURATE))
    return await queries.mine(session, town=access.town, user_id=user.id, page_url=page_url(request, settings, access.town), may_curate=may_curate)


@router.post("/stories", response_model=StoryOut, status_code=201)
async def submit_story(data: StoryIn, access: ResidentDep, user: CurrentUser, session: SessionDep) -> StoryOut:
    """A story about life in the town; organizers review it before it is public."""
    story = await service.submit_story(session, municipality_id=access.town.id, author_id=user.id, data=data)
    return await queries.story(session, municipality_id=access.town.id, story_id=story.id, viewer_id=user.id)


_PHOTO_BODY = {
    "required": True,
    "content": {media: {"schema": {"type": "string", "format": "binary", "maxLength": service.MAX_PHOTO_BYTES}} for media in service.PHOTO_TYPES},
}


@router.post("/stories/{story_id}/photos", response_model=StoryOut, status_code=201, openapi_extra={"requestBody": _PHOTO_BODY},
             responses=errors(413))
async def add_photo(
    story_id: IdPath, request: Request, access: ResidentDep, user: CurrentUser, session: SessionDep, settings: SettingsDep,
) -> StoryOut:
    """A photo for one's own story while it waits for moderation: the image's bytes as the
    body (JPEG, PNG or WebP, at most 1 MB), its type as Content-Type."""
    data = await request.body()
    await service.add_photo(session, root=settings.files_dir, municipality_id=access.town.id, story_id=story_id, author_id=user.id,
                            data=data, mime=request.headers.get("content-type", ""))
    return await queries.story(session, municipality_id=access.town.id, story_id=story_id, viewer_id=user.id)


@router.delete("/stories/{story_id}", status_code=204)
async def withdraw_story(story_id: IdPath, access: ResidentDep, user: CurrentUser, session: SessionDep) -> Response:
    """Take one's story back, published or not: it is deleted with its photos."""
    await service.withdraw_story(session, municipality_id=access.town.id, story_id=story_id, author_id=user.id)
    return Response(status_code=204)


# -- the public page ---------------------------------------------------------------------------
# Not in the OpenAPI: HTML, CSV and images for people and link previews, not an API.

public_router = APIRouter(prefix="/atlas/{slug}", include_in_schema=False)
CACHE = "public, max-age=300, stale-while-revalidate=600"
# No script runs on the page at all; images only from here, styles only inline.
CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
NOT_FOUND_HTML = """<!doctype html><html lang="{lang}"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><body style="font:16px system-ui,sans-serif;margin:40px 16px"><h1>{title}</h1><p>{text}</p></body></html>"""


def _locale(request: Request, settings: Settings) -> str:
    asked = request.query_params.get("lang")
    if asked in SUPPORTED_LOCALES:
        return asked  # type: ignore[return-value]
    return normalize_locale(request.headers.get("accept-language"), settings.DEFAULT_LOCALE)


async def _town(slug: str, session: SessionDep, runtime: RuntimeDep) -> Municipality:
    if len(slug) > 64 or not SLUG_RE.match(slug.lower()):
        raise NotFound(N_("Town not found."))
    return await queries.public_town(session, slug=slug, registry=runtime.registry)


PublicTown = Annotated[Municipality, Depends(_town)]


def _cached(request: Request, body: bytes, media_type: str, *, headers: dict[str, str] | None = None) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    common = {"ETag": etag, "Cache-Control": CACHE, "Vary": "Accept-Language", "X-Content-Type-Options": "nosniff", **(headers or {})}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=common)
    return Response(body, media_type=media_type, headers=common)


@public_router.api_route("", methods=["GET", "HEAD"])
async def atlas_page(slug: str, request: Request, session: SessionDep, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    """The town's Atlas of Happiness: one HTML page, charts and map as inline SVG."""
    locale = _locale(request, settings)
    try:
        town = await _town(slug, session, runtime)
    except NotFound:
        return not_found_page(locale)  # a person's browser: a page, not JSON
    data = await queries.page(session, town=town, registry=runtime.registry, now=utcnow())
    html = pages.render_html(data, locale=locale, base_url=str(request.base_url), page_url=page_url(request, settings, town))
    return _cached(request, html.encode(), "text/html; charset=utf-8",
                   headers={"Content-Security-Policy": CSP, "Referrer-Policy": "strict-origin-when-cross-origin"})


@public_router.get("/data.csv")
async def atlas_csv(town: PublicTown, request: Request, session: SessionDep, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    """The page's figures as open data."""
    data = await queries.page(session, town=town, registry=runtime.registry, now=utcnow())
    if not data.shows("data"):
        raise NotFound(N_("The town does not publish its figures as open data."))
    body = pages.render_csv(data, locale=_locale(request, settings))
    filename = f"atlas-{town.slug}.csv"
    return _cached(request, body, "text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@public_router.get("/og.png")
async def atlas_share_image(town: PublicTown, request: Request, session: SessionDep, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    """The picture chats show under a shared link (Open Graph, 1200x630)."""
    data = await queries.page(session, town=town, registry=runtime.registry, now=utcnow())
    body = pages.render_og_png(data, locale=_locale(request, settings), font=pdf.find_font(settings.PDF_FONT))
    return _cached(request, body, "image/png")


@public_router.get("/photos/{file_id}")
async def atlas_photo(town: PublicTown, file_id: IdPath, session: SessionDep, settings: SettingsDep) -> FileResponse:
    """A photo of an approved story; any other file is not found."""
    stored = await queries.public_photo(session, town=town, file_id=file_id)
    path = files.path_of(settings.files_dir, stored)
    if not path.is_file():  # the bytes are gone (a restore without the files): not a 500
        raise NotFound(N_("File not found."))
    return FileResponse(path, media_type=stored.mime,
                        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


def not_found_page(locale: str) -> HTMLResponse:
    """The 404 a person sees for an unknown or atlas-off town."""
    return HTMLResponse(
        NOT_FOUND_HTML.format(lang=locale, title=translate(N_("Not found"), locale),
                              text=translate(N_("There is no Atlas of Happiness at this address."), locale)),
        status_code=404, headers={"Cache-Control": "public, max-age=60"},
    )
