"""Schemathesis over the whole OpenAPI, against the real app on a real port: every operation,
with generated valid and invalid input, as a clerk, a department head, an admin, a resident,
a member of another town, with forged launch data and with none. Every answer must be a
non-5xx status the operation documents, with the documented media type and body.

Bounded: a fixed number of derandomized examples per operation (the same inputs every run),
so the whole module stays well under a minute on SQLite and on PostgreSQL.

Operations that fail today are listed once, in KNOWN_FAILING, with what broke them; they are
strict xfails, so fixing one makes the suite say to remove it from the list.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.app import create_app
from backend.core.auth import initdata
from backend.core.files import service as files
from backend.core.users.models import Role
from backend.runtime import Runtime
from backend.services.appeals import open311_service
from backend.services.appeals import service as appeals
from tests.appeal_factories import make_appeal, make_category, make_resident
from tests.conftest import TEST_DB, TEST_REDIS, _clean_postgres, make_settings
from tests.factories import make_town, make_user, seed
from tests.live import LiveServer

EXAMPLES = 12  # per operation, in each generation mode
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
BACKEND = "postgresql" if TEST_DB else "sqlite"

# --- KNOWN FAILING ------------------------------------------------------------------------------
# The one list of operations that fail today: operation -> (backends, what breaks it). They are
# strict xfails: the suite stays green while they fail and goes red, naming the operation,
# once one passes, so that its entry is removed here. All are applied services' (appeals,
# Open311), whose routers do not yet document their errors (401/403/404/409, GeoReport's 400)
# nor use the bounded types of backend/fields.py. `2^31` etc. stand for ids of that size.
BOTH = {"sqlite", "postgresql"}
_DOCS = "undocumented 401/403/404 (router without responses=ERRORS)"
_BIG_PATH = "500 for a path id of 2^63 (SQLite) or 2^31 (PostgreSQL)"
_BIG_QUERY = "500 for category_id, department_id or assignee of 2^63 (SQLite) / 2^31 (PostgreSQL)"
_NUL = "500 on PostgreSQL for NUL in a text field"
_GEO = "undocumented GeoReport errors (400/403/404 lists); 500 on PostgreSQL for NUL in"
_ACTION = f"{_DOCS}; {_BIG_PATH}"
KNOWN_FAILING: dict[str, tuple[set[str], str]] = {
    "GET /api/v1/municipalities/{municipality_id}/appeal-categories": (BOTH, _DOCS),
    "GET /api/v1/municipalities/{municipality_id}/appeal-categories/{category_id}/answer-template": (BOTH, _ACTION),
    "PUT /api/v1/municipalities/{municipality_id}/appeal-categories/{category_id}/answer-template": (
        BOTH, f"{_ACTION}; {_NUL} (body)"),
    "GET /api/v1/municipalities/{municipality_id}/appeals": (BOTH, f"{_DOCS}; {_BIG_QUERY}; {_NUL} (q)"),
    "GET /api/v1/municipalities/{municipality_id}/appeals/counts": (BOTH, f"{_DOCS}; {_BIG_QUERY}; {_NUL} (q)"),
    "GET /api/v1/municipalities/{municipality_id}/appeals/staff": (BOTH, _DOCS),
    "GET /api/v1/municipalities/{municipality_id}/appeals/export": (
        BOTH, f"{_DOCS}; text/csv and XLSX documented as JSON; {_BIG_QUERY}; {_NUL} (q)"),
    "GET /api/v1/municipalities/{municipality_id}/appeals/{appeal_id}": (BOTH, _ACTION),
    "POST /api/v1/municipalities/{municipality_id}/appeals/{appeal_id}/assign": (BOTH, f"{_ACTION}; 500 for assignee_id 2^31/2^63"),
    "POST /api/v1/municipalities/{municipality_id}/appeals/{appeal_id}/status": (BOTH, _ACTION),
    "POST /api/v1/municipalities/{municipality_id}/appeals/{appeal_id}/comments": (BOTH, f"{_ACTION}; {_NUL} (text)"),
    "POST /api/v1/municipalities/{municipality_id}/appeals/{appeal_id}/request-info": (BOTH, f"{_ACTION}; {_NUL} (text)"),
    "POST /api/v1/municipalities/{municipality_id}/appeals/{appeal_id}/redirect": (BOTH, f"{_ACTION}; {_NUL} (to)"),
    "POST /api/v1/municipalities/{municipality_id}/appeals/{appeal_id}/extend": (BOTH, f"{_ACTION}; {_NUL} (reason)"),
    "POST /api/v1/municipalities/{municipality_id}/appeals/{appeal_id}/no-answer": (BOTH, _ACTION),
    "POST /api/v1/municipalities/{municipality_id}/appeals/{appeal_id}/merge": (BOTH, f"{_ACTION}; 500 for into_id 2^31/2^63"),
    "GET /api/v1/municipalities/{municipality_id}/appeals/{appeal_id}/answer-draft": (BOTH, _ACTION),
    "POST /api/v1/municipalities/{municipality_id}/appeals/{appeal_id}/answer": (BOTH, f"{_ACTION}; {_NUL} (body)"),
    "GET /open311/v2/{slug}/discovery.json": (BOTH, f"{_GEO} slug"),
    "GET /open311/v2/{slug}/services.json": (BOTH, f"{_GEO} slug"),
    "GET /open311/v2/{slug}/services/{service_code}.json": (BOTH, f"{_GEO} slug or service_code"),
    "GET /open311/v2/{slug}/requests.json": (BOTH, f"{_GEO} slug, service_request_id or service_code"),
    "POST /open311/v2/{slug}/requests.json": (
        BOTH, f"{_GEO} slug, description, address_string, first_name, email or service_code"),
    "GET /open311/v2/{slug}/requests/{service_request_id}.json": (BOTH, f"{_GEO} slug or service_request_id"),
    "GET /open311/v2/{slug}/tokens/{token}.json": (BOTH, f"{_GEO} slug or token"),
    "GET /api/v1/municipalities/{municipality_id}/open311/keys": (BOTH, _DOCS),
    "POST /api/v1/municipalities/{municipality_id}/open311/keys": (BOTH, f"{_DOCS}; {_NUL} (name)"),
    "DELETE /api/v1/municipalities/{municipality_id}/open311/keys/{key_id}": (BOTH, f"{_DOCS}; {_BIG_PATH}"),
}


def _spec() -> dict[str, Any]:
    """The OpenAPI document of the app the server runs (no database is touched)."""
    with tempfile.TemporaryDirectory() as tmp:
        runtime = Runtime.build(make_settings(f"sqlite+aiosqlite:///{tmp}/spec.db", Path(tmp), REDIS_URL=None))
        return create_app(runtime).openapi()


SPEC = _spec()
schema = schemathesis.openapi.from_dict(
    SPEC, config=schemathesis.Config.from_dict({"generation": {"mode": "all", "max-examples": EXAMPLES}})
)


def _query_params(kind: str) -> dict[tuple[str, str], list[str]]:
    """(METHOD, path) -> the names of its query parameters of a JSON type (one or in anyOf)."""
    out: dict[tuple[str, str], list[str]] = {}
    for path, ops in SPEC["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                s = p.get("schema", {})
                types = {s.get("type")} | {a.get("type") for a in s.get("anyOf", [])} | {s.get("items", {}).get("type")}
                if p["in"] == "query" and kind in types:
                    out.setdefault((method.upper(), path), []).append(p["name"])
    return out


STRING_QUERY = _query_params("string")
INTEGER_QUERY = _query_params("integer")


@dataclass
class World:
    """What the server knows, seeded once for the module, plus fresh objects per operation."""

    url: str
    token: str
    telegram: dict[str, int]  # who -> Telegram id
    ids: dict[str, dict[str, Any]]  # "own" / "other" town -> path parameter -> value
    user_ids: dict[str, int]


_seq = itertools.count(1)


async def _seed_town(s, key: str, files_root: Path) -> dict[str, Any]:  # noqa: ANN001
    town = await make_town(s, slug=f"fuzz-{key}", name=f"Город {key}")
    town.settings = {"reg_prefix": f"F{key[0].upper()}"}
    cat = await make_category(s, town, code=f"roads-{key}")
    people = {
        "clerk": await make_user(s, first_name="Клерк", town=town, roles=(Role.CLERK,)),
        "head": await make_user(s, first_name="Начальник", town=town, roles=(Role.DEPARTMENT_HEAD,)),
        "admin": await make_user(s, first_name="Админ", town=town, roles=(Role.ADMIN,)),
        "resident": await make_resident(s, town),
    }
    key_row, _secret = await open311_service.issue_key(s, municipality_id=town.id, name="dashboard", actor_id=people["admin"].id)
    return {"town": town, "category": cat, "people": people, "key": key_row, "files_root": files_root}


async def _fresh_objects(runtime: Runtime, towns: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A new appeal with an attached file in each town, so every operation starts from an open appeal."""

    async def data(s):  # noqa: ANN001, ANN202
        out = {}
        for key, t in towns.items():
            appeal = await make_appeal(s, t["town"], t["category"], t["people"]["resident"], text=f"Яма на дороге № {next(_seq)}")
            stored = await appeals.save_attachment(
                s, town=t["town"], user=t["people"]["resident"], data=b"%PDF-1.4 fuzz", filename="scan.pdf",
                mime="application/pdf", files_root=t["files_root"],
            )
            await files.attach(s, file_ids=[stored.id], owner_type="appeal", owner_id=appeal.id)
            out[key] = {
                "municipality_id": t["town"].id, "appeal_id": appeal.id, "category_id": t["category"].id,
                "file_id": stored.id, "key_id": t["key"].id, "slug": t["town"].slug,
                "service_code": t["category"].code, "service_request_id": appeal.reg_number, "into_id": appeal.id,
            }
        return out

    return await seed(runtime, data)


@pytest.fixture(scope="module")
def fuzz_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="glocal-fuzz-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest_asyncio.fixture(scope="module")
async def fuzz_runtime(template_db: str, fuzz_dir: Path) -> AsyncIterator[Runtime]:
    if TEST_DB:
        url = TEST_DB
    else:
        shutil.copy(template_db, fuzz_dir / "glocal.db")
        url = f"sqlite+aiosqlite:///{fuzz_dir / 'glocal.db'}"
    rt = Runtime.build(make_settings(url, fuzz_dir))
    if TEST_REDIS:
        await rt.kv.redis.flushdb()  # type: ignore[attr-defined]
    yield rt
    if TEST_DB:
        await _clean_postgres(rt)
    if TEST_REDIS:
        await rt.kv.redis.flushdb()  # type: ignore[attr-defined]
    await rt.close()


@pytest_asyncio.fixture(scope="module")
async def fuzz_towns(fuzz_runtime: Runtime) -> dict[str, dict[str, Any]]:
    root = fuzz_runtime.settings.files_dir

    async def data(s):  # noqa: ANN001, ANN202
        return {"own": await _seed_town(s, "own", root), "other": await _seed_town(s, "other", root)}

    return await seed(fuzz_runtime, data)


@pytest.fixture(scope="module")
def live_server(fuzz_runtime: Runtime, fuzz_towns: dict) -> Iterator[LiveServer]:
    with LiveServer(fuzz_runtime.settings) as live:
        yield live


@pytest_asyncio.fixture
async def world(fuzz_runtime: Runtime, fuzz_towns: dict, live_server: LiveServer) -> World:
    own, other = fuzz_towns["own"]["people"], fuzz_towns["other"]["people"]
    return World(
        url=live_server.url,
        token=fuzz_runtime.settings.signing_token,
        telegram={**{who: u.telegram_id for who, u in own.items()}, "stranger": other["clerk"].telegram_id},
        ids=await _fresh_objects(fuzz_runtime, fuzz_towns),
        user_ids={"clerk": own["clerk"].id, "other_clerk": other["clerk"].id},
    )


@pytest.fixture(autouse=True)
def _known_failures(request: pytest.FixtureRequest) -> None:
    label = getattr(request.node, "operation_label", "")
    backends, reason = KNOWN_FAILING.get(label, (set(), ""))
    if BACKEND in backends:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"{label} is in KNOWN_FAILING: {reason}"))


# Who sends the request, which ids it names, and which edge values it carries. Chosen from the
# generated case itself, so a failing example replays (and shrinks) the same way.
IDENTITIES = ("clerk", "clerk", "head", "admin", "resident", "stranger", "forged", "none")
TARGETS = ("own", "own", "other", "generated")
# What the API's fuzzer found and generation rarely reaches: integers beyond the database's
# (PostgreSQL integer, bigint; SQLite's 64 bits) and NUL, which PostgreSQL refuses in text.
EDGES = ("none", "none", "big_numbers", "nul", "big_path_ids")
BIG = (2**31, 2**63, 2**64)


def _pick(case: schemathesis.Case, options: tuple[str, ...], salt: str) -> str:
    data = repr((salt, case.path_parameters, case.query, case.body)).encode("utf-8", "surrogatepass")
    return options[zlib.crc32(data) % len(options)]


def _launch(world: World, who: str, operation: str) -> str | None:
    if who == "none":
        return None
    # Erasing oneself is an operation like any other: a throwaway person does it, so the
    # people the other operations act as stay.
    telegram_id = 7_000_000 + next(_seq) if operation == "DELETE /api/v1/me" else world.telegram[who]
    signed = initdata.sign(
        {"query_id": "fuzz", "user": {"id": telegram_id, "first_name": "Fuzz"}, "auth_date": int(time.time())},
        token=world.token if who != "forged" else "1:forged-token-000000000000000000",
    )
    return f"tma {signed}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _edge(value: object, edge: str, big: int) -> object:
    if edge == "big_numbers" and _is_int(value):
        return big
    if edge == "nul" and isinstance(value, str):
        return value[: len(value) // 2] + "\x00" + value[len(value) // 2 :]
    if isinstance(value, list):
        return [_edge(v, edge, big) for v in value]
    return value


def _aim(case: schemathesis.Case, world: World) -> None:
    target = _pick(case, TARGETS, "target")
    edge = _pick(case, EDGES, "edge")
    big = BIG[zlib.crc32(repr(case.query).encode("utf-8", "surrogatepass")) % len(BIG)]
    if target != "generated":
        ids = world.ids[target]
        for name in list(case.path_parameters or {}):
            if name in ids:
                case.path_parameters[name] = ids[name]
        if isinstance(case.body, dict):
            for name in ("into_id", "municipality_id"):
                if _is_int(case.body.get(name)):
                    case.body[name] = ids[name]
            if _is_int(case.body.get("assignee_id")):
                case.body["assignee_id"] = world.user_ids["clerk" if target == "own" else "other_clerk"]
    if edge == "big_path_ids":
        for name, value in (case.path_parameters or {}).items():
            if name != "municipality_id" and _is_int(value):
                case.path_parameters[name] = big
    elif edge != "none":
        # Optional parameters generation left out get an edge value too.
        absent = (INTEGER_QUERY if edge == "big_numbers" else STRING_QUERY).get((case.method.upper(), case.path), [])
        query = {**{name: 0 if edge == "big_numbers" else "ab" for name in absent}, **(case.query or {})}
        case.query = {k: _edge(v, edge, big) for k, v in query.items()}
        if isinstance(case.body, dict):
            case.body = {k: _edge(v, edge, big) for k, v in case.body.items()}


@schema.parametrize()
@settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
def test_every_operation_answers_as_documented(case: schemathesis.Case, world: World) -> None:
    operation = f"{case.method.upper()} {case.path}"
    who = _pick(case, IDENTITIES, "who")
    if who != "forged":
        header = _launch(world, who, operation)
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = {**headers, **({"Authorization": header} if header else {})}
    _aim(case, world)
    case.call_and_validate(base_url=world.url, checks=CHECKS)
