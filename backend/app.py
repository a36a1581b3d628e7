"""The HTTP application: API, health, metrics and miniapp hosting.

`create_app` knows nothing of Telegram; the composition root (`bot/main.py`) adds the
webhook route and starts the bot.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette_compress import CompressMiddleware

from backend.core.admin.api import platform_router
from backend.core.admin.api import router as admin_router
from backend.core.bots.api import router as town_bots_router
from backend.core.components.api import router as hub_router
from backend.core.downloads.api import SignedDownloads
from backend.core.downloads.api import router as downloads_router
from backend.core.files.api import router as files_router
from backend.core.municipalities.api import router as towns_router
from backend.core.privacy.api import router as privacy_router
from backend.core.users.api import router as me_router
from backend.deps import component_gate
from backend.errors import DomainError, InvalidFields
from backend.guard import BodyGuard
from backend.i18n import MINIAPPS_DIR, N_, catalog_json, catalog_version, normalize_locale, translate
from backend.openapi import errors
from backend.runtime import Runtime
from backend.settings import SUPPORTED_LOCALES
from backend.static import IMMUTABLE, StaticSite

INVALID_FIELDS = N_("Some fields are filled in incorrectly: {fields}.")
# Starlette's own errors (an unknown path, a wrong method, an unreadable body) in the API's shape.
HTTP_ERRORS = {
    400: ("bad_request", N_("The request cannot be read.")),
    404: ("no_route", N_("Not found.")),  # no such route (a missing object is a domain NotFound: "not_found")
    405: ("method_not_allowed", N_("This method is not allowed here.")),
}
MAX_ERROR_FIELDS = 20


class MetricsMiddleware:
    """Counts requests and latency per route template (pure ASGI: keeps context variables).

    FastAPI leaves its route in the scope; a plain Starlette route (the webhook) leaves only
    its endpoint, so `plain_paths` maps those endpoints to their paths."""

    def __init__(self, app: ASGIApp, runtime: Runtime, plain_paths: dict[object, str] | None = None) -> None:
        self.app = app
        self.metrics = runtime.metrics
        self.plain_paths = plain_paths or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def _send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            route = scope.get("route")
            path = (
                getattr(route, "path", None)
                or self.plain_paths.get(scope.get("endpoint"))
                or ("/app" if scope["path"].startswith("/app") else "other")
            )
            self.metrics.http_requests.labels(scope["method"], path, str(status["code"])).inc()
            self.metrics.http_latency.labels(scope["method"], path).observe(time.perf_counter() - start)


def _request_locale(request: Request) -> str:
    default = request.app.state.runtime.settings.DEFAULT_LOCALE
    return getattr(request.state, "locale", None) or normalize_locale(request.headers.get("accept-language"), default)


async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
    locale = _request_locale(request)
    body: dict[str, object] = {"error": exc.code, "message": exc.render(locale)}
    if isinstance(exc, InvalidFields):
        body["fields"] = exc.fields[:MAX_ERROR_FIELDS]
    return JSONResponse(body, status_code=exc.status)


def _field_name(loc: tuple[object, ...]) -> str:
    # A location may hold a client's own dictionary key: keep it short and encodable.
    name = ".".join(str(p) for p in loc if p != "body")[:100]
    return name.encode("utf-8", "replace").decode("utf-8")


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    locale = _request_locale(request)
    fields = list(dict.fromkeys(_field_name(e["loc"]) for e in exc.errors()))[:MAX_ERROR_FIELDS]
    message = translate(INVALID_FIELDS, locale).format(fields=", ".join(fields))
    return JSONResponse({"error": "invalid", "message": message, "fields": fields}, status_code=422)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code, message = HTTP_ERRORS.get(exc.status_code, ("error", N_("The request cannot be processed.")))
    return JSONResponse(
        {"error": code, "message": translate(message, _request_locale(request))},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def create_app(runtime: Runtime, *, routers: Iterable[APIRouter] = ()) -> FastAPI:
    """Build the HTTP app around a runtime; extra routers come from the composition root."""
    app = FastAPI(title="Glocal", version="0.1.0", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.runtime = runtime
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    # The composition root's routers (the Telegram webhook) first: the hottest route is matched first.
    core = (*routers, me_router, towns_router, privacy_router, hub_router, files_router, downloads_router, admin_router, platform_router, town_bots_router)
    for router in core:
        app.include_router(router)
    # Each installed component's town-scoped routes answer 404 in a town that has it off;
    # public routers (Open311) check that themselves, by the town in their own path.
    for component in runtime.registry:
        for router in component.routers:
            app.include_router(router, dependencies=[Depends(component_gate(component.slug))])
        for router in component.public_routers:
            app.include_router(router)
    included = [*core, *(r for c in runtime.registry for r in (*c.routers, *c.public_routers))]
    plain_paths = {
        route.endpoint: route.path
        for router in included
        for route in router.routes
        if isinstance(route, Route) and not isinstance(route, APIRoute)
    }
    # The last added runs first: compression, then metrics (which see the guard's refusals too), then the
    # guard, then signed download links turned into the GET they grant.
    app.add_middleware(SignedDownloads, settings=runtime.settings)
    app.add_middleware(BodyGuard, default_locale=runtime.settings.DEFAULT_LOCALE)
    app.add_middleware(MetricsMiddleware, runtime=runtime, plain_paths=plain_paths)
    # Outermost, so every response is compressed once (JSON, CSV, HTML errors); the miniapps'
    # files arrive already compressed and images are left as they are.
    app.add_middleware(CompressMiddleware)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks = await runtime.check()
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(runtime.metrics.render(), media_type=runtime.metrics.content_type)

    @app.get("/api/v1/i18n/{locale}", tags=["i18n"], responses=errors(422))
    async def i18n_catalog(
        locale: str,
        request: Request,
        miniapp: Annotated[str | None, Query(alias="app", pattern=r"^[a-z0-9_-]{1,40}$")] = None,
        v: Annotated[str | None, Query(max_length=40)] = None,
    ) -> Response:
        """The translation catalog for the miniapps' `_()`; `app` narrows it to the strings that
        miniapp uses, `v` (the version its page names) makes it cacheable for good."""
        if locale not in SUPPORTED_LOCALES:
            locale = runtime.settings.DEFAULT_LOCALE
        version = catalog_version()
        etag = f'"{version}-{locale}-{miniapp or ""}"'
        headers = {"ETag": etag, "Cache-Control": IMMUTABLE if v == version else "public, max-age=300"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return JSONResponse(catalog_json(locale, miniapp), headers=headers)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/app/hub/")

    site = StaticSite(MINIAPPS_DIR, meta=lambda: {"glocal-i18n": catalog_version()})

    async def app_root(request: Request) -> RedirectResponse:
        return RedirectResponse("/app/", status_code=307)

    app.router.routes.append(Route("/app", app_root, include_in_schema=False))
    app.router.routes.append(Route("/app/{path:path}", site.endpoint, methods=["GET", "HEAD"], include_in_schema=False))
    return app
