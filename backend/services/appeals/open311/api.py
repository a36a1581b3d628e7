"""Open311 GeoReport v2 (JSON) for every town at /open311/v2/{slug}/, so existing Open311
clients and city dashboards can read problem reports and file new ones into the same queue as
the bot's; and the town admin's API keys for those clients.

The spec: http://wiki.open311.org/GeoReport_v2. Reading is public and needs no key; filing
needs a key an admin of the town issued. Errors on these routes take GeoReport's shape, a list
of {code, description}, instead of the rest of the API's {error, message}.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.core.municipalities.models import Municipality
from backend.deps import CurrentUser, SessionDep, SettingsDep, TownAccess, can
from backend.errors import DomainError, Invalid
from backend.fields import NO_NUL, IdPath, Text, TextQuery
from backend.i18n import N_, normalize_locale, use_locale
from backend.i18n import gettext as _
from backend.openapi import ERRORS, errors
from backend.services.appeals import rules
from backend.services.appeals.open311 import service as open311
from backend.services.appeals.settings import of as settings_of
from backend.services.appeals.rules import Kind, Status
from backend.services.appeals.schemas import AppealDraft

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
MAX_BODY = 1 << 20  # a report's text is capped per town (10,000 characters by default) far below this

INVALID_PARAMETER = N_("The parameter {name} has an invalid value.")
REQUIRED_PARAMETER = N_("The parameter {name} is required.")


# --- GeoReport errors -------------------------------------------------------------------------


class GeoReportError(Exception):
    """Errors found while reading a GeoReport request, already in the caller's language."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__(*descriptions)
        self.status = status
        self.descriptions = descriptions


# GeoReport speaks plain HTTP codes: anything wrong with the input is a 400.
_STATUS = {401: 403, 409: 400, 422: 400}


def _errors(status: int, descriptions: list[str] | tuple[str, ...]) -> JSONResponse:
    return JSONResponse([{"code": status, "description": d} for d in descriptions], status_code=status)


class GeoReportErrorOut(BaseModel):
    """One of the errors GeoReport answers with, as a list."""

    code: int = Field(description="The HTTP status code")
    description: str = Field(description="What went wrong, in the caller's language")


def geo_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for GeoReport's errors: a list of {code, description}."""
    texts = {400: "A parameter is missing or invalid", 403: "The API key is missing or not valid for this town",
             404: "No such town, service, report or resource"}
    return {code: {"model": list[GeoReportErrorOut], "description": texts[code]} for code in codes}


class GeoReportRoute(APIRoute):
    """A route that answers in the caller's language, turns every error into GeoReport's error
    list, and lets browser dashboards read the public data (no credentials are involved)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            default = request.app.state.runtime.settings.DEFAULT_LOCALE
            with use_locale(normalize_locale(request.headers.get("accept-language"), default)):
                try:
                    response = await handler(request)
                except GeoReportError as exc:
                    response = _errors(exc.status, exc.descriptions)
                except DomainError as exc:
                    response = _errors(_STATUS.get(exc.status, exc.status), [exc.render()])
                except RequestValidationError as exc:
                    # ("query", "service_code", 0) for an item of a list: the parameter's name.
                    names = sorted({str(e["loc"][1] if len(e["loc"]) > 1 else e["loc"][0]) for e in exc.errors() if e.get("loc")}) or ["?"]
                    response = _errors(400, [_(INVALID_PARAMETER).format(name=n) for n in names])
            if request.method == "GET":
                response.headers["Access-Control-Allow-Origin"] = "*"
            return response

        return route


# --- rendering --------------------------------------------------------------------------------


def _moment(value: datetime | None, town: Municipality) -> str | None:
    """A w3c datetime with the town's UTC offset, as GeoReport wants."""
    return value.astimezone(ZoneInfo(town.timezone)).isoformat(timespec="seconds") if value else None


def _status_notes(r: open311.PublicRequest) -> str | None:
    a = r.appeal
    if r.merged_into:
        return _("The same problem as report {number}.").format(number=r.merged_into)
    if a.status == Status.REDIRECTED.value and a.redirected_to:
        return _("Redirected to {to}.").format(to=a.redirected_to)
    if a.status == Status.NO_ANSWER_REQUIRED.value and a.no_answer_reason:
        return _(a.no_answer_reason)  # a msgid, or the clerk's own words left as they are
    return None


def request_out(r: open311.PublicRequest, town: Municipality) -> dict[str, Any]:
    """A report as a GeoReport service request: the spec's fields and nothing about the person
    who filed it (no name, phone or reply address); files are not public, so no media_url."""
    a = r.appeal
    return {
        "service_request_id": a.reg_number,
        "status": "open" if rules.is_open(Status(a.status)) else "closed",
        "status_notes": _status_notes(r),
        "service_name": r.service_name,
        "service_code": r.service_code,
        # A text the clerk found obscene or insulting stays in the queue, not on public maps.
        "description": None if a.flagged_obscene else a.text,
        "agency_responsible": r.department or town.name,
        "service_notice": None,
        "requested_datetime": _moment(a.registered_at, town),
        "updated_datetime": _moment(a.updated_at, town),
        "expected_datetime": _moment(a.due_at, town),
        "address": a.address,
        "address_id": None,
        "zipcode": None,
        "lat": a.lat,
        "long": a.lon,
        "media_url": None,
    }


# --- parsing ----------------------------------------------------------------------------------


def _list(values: list[str] | None) -> list[str]:
    """GeoReport lists are comma-delimited; some clients repeat the parameter instead."""
    return [item.strip() for v in values or [] for item in v.split(",") if item.strip()]


def _parse_moment(value: str | None, name: str, town: Municipality) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        # The spec requires an offset; a bare date or time is read on the town's clock. In UTC
        # here: year 1 or 9999 with an offset leaves datetime's range (an OverflowError).
        return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(town.timezone))).astimezone(UTC)
    except (ValueError, OverflowError):
        raise GeoReportError(400, _("{name} is not a date and time in ISO 8601 (w3c) form.").format(name=name)) from None


class RequestIn(BaseModel):
    """POST requests, as GeoReport names its fields. `attribute[...]`, device_id and
    account_id are accepted and ignored: no service defines attributes."""

    model_config = ConfigDict(extra="ignore")

    api_key: Text(128) | None = None
    service_code: Text(32) | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    address_string: Text(500) | None = None
    address_id: Text(200) | None = None
    email: Text(254) | None = None
    device_id: Text(200) | None = None
    account_id: Text(200) | None = None
    first_name: Text(120) | None = None
    last_name: Text(120) | None = None
    phone: Text(32) | None = None
    # The town's own limit (appeal_max_chars) is checked when the report is filed.
    description: Text(MAX_BODY) | None = None
    media_url: Text(2000) | None = None


async def _body(request: Request) -> dict[str, str]:
    """The POST fields: form-encoded as the spec says, or a JSON object. Blank fields count as
    absent. (Multipart would need python-multipart, which the project does not ship.)"""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise GeoReportError(413, _("The request is too large."))
        chunks.append(chunk)
    raw = b"".join(chunks)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if ctype == "application/json":
            data = json.loads(raw or b"{}")
            if not isinstance(data, dict):
                raise ValueError("not an object")
            pairs = [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in data.items() if v is not None]
        elif ctype in ("application/x-www-form-urlencoded", ""):
            pairs = parse_qsl(raw.decode(), keep_blank_values=True)
        else:
            raise GeoReportError(400, _("Send the request form-encoded or as JSON."))
    except (ValueError, UnicodeDecodeError):
        raise GeoReportError(400, _("The request body cannot be read.")) from None
    return {k: v.strip() for k, v in pairs if v.strip()}


def _request_in(fields: dict[str, str]) -> RequestIn:
    """The POST fields read and bounded (any wrong value is a 400), before the key is checked."""
    try:
        return RequestIn.model_validate(fields)
    except ValidationError as exc:
        names = sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")})
        raise GeoReportError(400, *(_(INVALID_PARAMETER).format(name=n) for n in names)) from None


def _complete(data: RequestIn) -> RequestIn:
    """The fields a report needs, present."""
    missing = [
        _(REQUIRED_PARAMETER).format(name=name) for name in ("service_code", "description") if not getattr(data, name)
    ]
    if not (data.lat is not None and data.long is not None) and not data.address_string:
        missing.append(_("Give the location: lat and long, or address_string."))
    if missing:
        raise GeoReportError(400, *missing)
    return data


# --- the public GeoReport endpoints -----------------------------------------------------------

router = APIRouter(
    prefix="/open311/v2/{slug}", tags=["open311"], route_class=GeoReportRoute, responses=geo_errors(400, 404)
)


async def _town(slug: Annotated[str, Path(max_length=64, pattern=NO_NUL)], session: SessionDep) -> Municipality:
    return await open311.town_by_slug(session, slug=slug)


TownDep = Annotated[Municipality, Depends(_town)]
# A list is comma-delimited, so one value may name many ids (the answer holds at most 1000).
ListParam = Annotated[list[Text(20_000)] | None, Query()]
Moment = TextQuery(64)
Code = Annotated[str, Path(max_length=64, pattern=NO_NUL)]


# Each endpoint answers at its canonical `.json` path and, for lenient clients, without the
# suffix. Decorators apply bottom-up, so the `.json` route is registered first and "X.json" is
# never read as the id "X.json" by the suffix-less one.
@router.get("/", include_in_schema=False)
@router.get("/discovery", include_in_schema=False)
@router.get("/discovery.json")
async def discovery(town: TownDep, session: SessionDep, settings: SettingsDep, request: Request) -> dict[str, Any]:
    """Service discovery: where the town's GeoReport v2 endpoint is and how to get a key."""
    changed = _moment(await open311.changeset(session, town=town), town)
    base = settings.PUBLIC_URL or str(request.base_url).rstrip("/")
    return {
        "changeset": changed,
        "contact": settings_of(town).open311_contact or _("The administration of {town}").format(town=town.name),
        "key_service": _("API keys for filing reports are issued by an administrator of {town} in Glocal.").format(town=town.name),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{base}/open311/v2/{town.slug}",
                "changeset": changed,
                "type": "production",
                "formats": ["application/json"],
            }
        ],
    }


@router.get("/services", include_in_schema=False)
@router.get("/services.json")
async def list_services(town: TownDep, session: SessionDep) -> list[dict[str, Any]]:
    """The town's categories as GeoReport services."""
    return [
        {
            "service_code": s.category.code,
            "service_name": s.category.name,
            "description": s.category.description,
            "metadata": False,
            "type": "realtime",
            "keywords": "",
            "group": s.department or "",
        }
        for s in await open311.services(session, municipality_id=town.id)
    ]


@router.get("/services/{service_code}", include_in_schema=False)
@router.get("/services/{service_code}.json")
async def service_definition(service_code: Code, town: TownDep, session: SessionDep) -> dict[str, Any]:
    """A service's definition: no service asks for extra attributes."""
    cat = await open311.service_by_code(session, municipality_id=town.id, code=service_code)
    return {"service_code": cat.code, "attributes": []}


@router.get("/requests", include_in_schema=False)
@router.get("/requests.json")
async def list_requests(
    town: TownDep,
    session: SessionDep,
    service_request_id: ListParam = None,
    service_code: ListParam = None,
    start_date: Moment | None = None,
    end_date: Moment | None = None,
    status: ListParam = None,
) -> list[dict[str, Any]]:
    """Problem reports, newest first: the last 90 days unless dates are given, at most 1000."""
    statuses = [s.lower() for s in _list(status)]
    if any(s not in ("open", "closed") for s in statuses):
        raise GeoReportError(400, _("status is open or closed."))
    query = open311.RequestQuery(
        ids=_list(service_request_id), service_codes=_list(service_code), statuses=statuses,
        start=_parse_moment(start_date, "start_date", town), end=_parse_moment(end_date, "end_date", town),
    )
    return [request_out(r, town) for r in await open311.public_requests(session, municipality_id=town.id, query=query)]


@router.get("/requests/{service_request_id}", include_in_schema=False)
@router.get("/requests/{service_request_id}.json")
async def get_request(service_request_id: Code, town: TownDep, session: SessionDep) -> list[dict[str, Any]]:
    """One report; a list of one, as the spec has it."""
    return [request_out(await open311.public_request(session, municipality_id=town.id, reg_number=service_request_id), town)]


@router.get("/tokens/{token}", include_in_schema=False)
@router.get("/tokens/{token}.json")
async def get_token(token: Code, town: TownDep, session: SessionDep) -> list[dict[str, Any]]:
    """The service request id behind a token given when a report was filed."""
    appeal = await open311.by_token(session, municipality_id=town.id, token=token)
    return [{"service_request_id": appeal.reg_number, "token": token}]


def _body_schema() -> dict[str, Any]:
    """RequestIn's fields as the POST sends them: each optional, none of them null."""
    schema = RequestIn.model_json_schema()
    properties = {
        name: next((a for a in prop.get("anyOf", []) if a.get("type") != "null"), prop) | {"title": prop.get("title", name)}
        for name, prop in schema["properties"].items()
    }
    return {"type": "object", "title": "Open311RequestIn", "properties": properties}


# Documented for clients; the route reads the body itself (form-encoded or JSON).
_REQUEST_BODY = {
    "required": False,
    "content": {media_type: {"schema": _body_schema()} for media_type in ("application/x-www-form-urlencoded", "application/json")},
}


@router.post("/requests", include_in_schema=False)
@router.post(
    "/requests.json", openapi_extra={"requestBody": _REQUEST_BODY},
    responses={**geo_errors(403), **errors(413)},
)
async def create_request(
    town: TownDep, session: SessionDep, request: Request, api_key: TextQuery(128) | None = None
) -> list[dict[str, Any]]:
    """File a problem report with a town's API key; it joins the clerks' queue."""
    fields = await _body(request)
    data = _request_in(fields)
    key = await open311.authenticate(session, municipality_id=town.id, api_key=data.api_key or api_key)
    data = _complete(data)
    try:
        cat = await open311.service_by_code(session, municipality_id=town.id, code=data.service_code or "")
    except DomainError as exc:  # the URL exists; it is a parameter that is wrong
        raise Invalid(exc.message, **exc.params) from None
    name = " ".join(p for p in (data.first_name, data.last_name) if p)
    draft = AppealDraft(
        kind=Kind.REPORT, category_id=cat.id, text=data.description or "", address=data.address_string,
        lat=data.lat if data.long is not None else None, lon=data.long if data.lat is not None else None,
        full_name=name or None, reply_address=data.email, phone=data.phone,
    )
    appeal = await open311.file_report(session, town=town, key=key, draft=draft)
    due = appeal.due_at.astimezone(ZoneInfo(town.timezone)).strftime("%d.%m.%Y")
    # Both the id and a token: clients that only understand tokens can still look the id up.
    return [
        {
            "service_request_id": appeal.reg_number,
            "token": appeal.open311_token,
            "service_notice": _("Registered as {number}. The answer is due by {date}.").format(number=appeal.reg_number, date=due),
            "account_id": None,
        }
    ]


@router.api_route("/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
async def unknown(rest: str, town: TownDep) -> None:
    """Anything else under a town's base: GeoReport errors rather than the framework's."""
    if rest.endswith(".xml"):
        raise GeoReportError(400, _("Only the JSON format is supported."))
    raise GeoReportError(404, _("There is no such Open311 resource."))


# --- API keys, for the town's admins ----------------------------------------------------------

keys_router = APIRouter(prefix="/api/v1/municipalities/{municipality_id}/open311/keys", tags=["open311"], responses=ERRORS)
AdminDep = Annotated[TownAccess, Depends(can("appeals", "issue_open311_keys"))]


class KeyIn(BaseModel):
    name: Text(100, min_length=1)


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None


class IssuedKeyOut(KeyOut):
    key: str  # shown this once; only its hash is kept


@keys_router.get("", response_model=list[KeyOut])
async def list_keys(access: AdminDep, session: SessionDep) -> list[KeyOut]:
    """The town's Open311 keys (never the secrets)."""
    return [KeyOut.model_validate(k) for k in await open311.keys(session, municipality_id=access.town.id)]


@keys_router.post("", response_model=IssuedKeyOut, status_code=201)
async def issue_key(body: KeyIn, access: AdminDep, user: CurrentUser, session: SessionDep) -> IssuedKeyOut:
    """A new key for an Open311 client; copy it now, it is not shown again."""
    key, secret = await open311.issue_key(session, municipality_id=access.town.id, name=body.name, actor_id=user.id)
    return IssuedKeyOut(**KeyOut.model_validate(key).model_dump(), key=secret)


@keys_router.delete("/{key_id}", status_code=204)
async def revoke_key(key_id: IdPath, access: AdminDep, user: CurrentUser, session: SessionDep) -> Response:
    """Revoke a key: its client can no longer file reports."""
    await open311.revoke_key(session, municipality_id=access.town.id, key_id=key_id, actor_id=user.id)
    return Response(status_code=204)

