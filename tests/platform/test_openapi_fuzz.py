"""Schemathesis over the whole OpenAPI, against the real app on a real port. Every answer must
be a non-5xx status the operation documents, with the documented media type and body.

- test_every_operation_answers_as_documented: generated valid and invalid input for every
  operation, sent as a clerk, a department head, an admin, a resident, another town's clerk,
  with forged launch data and with none, aimed at real ids of both towns, and carrying now and
  then the edge values the API's fuzzer found (integers beyond the database's, NUL).
- test_every_operation_refuses_edge_values_cleanly: one valid request per operation, then the
  same with each integer field at 2^31 and 2^63 and each text field with a NUL, one at a time.

Bounded: a fixed number of deterministic examples per operation (the same inputs every run);
the module takes about 70 s on SQLite and on PostgreSQL on two shared cores. Every operation
passes on both: there is no list of known failures, and a new one fails the suite.

The signed download link is aimed at a real token too (a link to the fresh appeal's file, as
the town's clerk), so its GET is fuzzed on the path that serves a file."""

from __future__ import annotations

import itertools
import json
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
from sqlalchemy import select
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.app import create_app
from backend.core.auth import initdata
from backend.core.downloads import service as downloads
from backend.core.files import service as files
from backend.core.municipalities.models import Department, Municipality
from backend.core.users import service as users
from backend.core.users.models import Membership, Role
from backend.runtime import Runtime
from bot.main import make_runtime
from backend.services.appeals.open311 import service as open311_service
from backend.services.appeals import service as appeals
from backend.services.appeals.models import AppealCategory
from tests.services.appeals.factories import appeals_settings, make_appeal, make_category, make_resident
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
STAFF_ROLES = (Role.CLERK, Role.DEPARTMENT_HEAD, Role.HEAD, Role.ADMIN)

def _spec() -> dict[str, Any]:
    """The OpenAPI document of the app the server runs (no database is touched)."""
    with tempfile.TemporaryDirectory() as tmp:
        runtime = make_runtime(make_settings(f"sqlite+aiosqlite:///{tmp}/spec.db", Path(tmp), REDIS_URL=None))
        return create_app(runtime).openapi()


SPEC = _spec()
schema = schemathesis.openapi.from_dict(
    SPEC, config=schemathesis.Config.from_dict({"generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True}})
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
    town.settings = appeals_settings(reg_prefix=f"F{key[0].upper()}")
    cat = await make_category(s, town, code=f"roads-{key}")
    people = {
        "clerk": await make_user(s, first_name="Клерк", town=town, roles=(Role.CLERK,)),
        "head": await make_user(s, first_name="Начальник", town=town, roles=(Role.DEPARTMENT_HEAD,)),
        "admin": await make_user(s, first_name="Админ", town=town, roles=(Role.ADMIN,)),
        "resident": await make_resident(s, town),
        "boss": await make_user(s, first_name="Глава", town=town, roles=STAFF_ROLES),
    }
    key_row, _secret = await open311_service.issue_key(s, municipality_id=town.id, name="dashboard", actor_id=people["admin"].id)
    roles = {who: (Role.RESIDENT,) if who == "resident" else (*STAFF_ROLES,) if who == "boss" else () for who in people}
    roles.update(clerk=(Role.CLERK,), head=(Role.DEPARTMENT_HEAD,), admin=(Role.ADMIN,))
    return {"town": town, "category": cat, "people": people, "roles": roles, "settings": dict(town.settings), "key": key_row, "files_root": files_root}


async def _restore(s, t: dict[str, Any]) -> None:  # noqa: ANN001
    """The town as seeded: the administration's operations may have switched appeals off,
    changed who may do what, archived the category or changed people's roles."""
    town = await s.get(Municipality, t["town"].id)
    town.settings = dict(t["settings"])
    category = await s.get(AppealCategory, t["category"].id)
    category.is_active = True
    if category.department_id is not None:
        (await s.get(Department, category.department_id)).archived_at = None
    for who, person in t["people"].items():
        wanted = {r.value for r in t["roles"][who]} | {Role.RESIDENT.value}
        for membership in await s.scalars(select(Membership).where(Membership.user_id == person.id, Membership.municipality_id == town.id)):
            if membership.role not in wanted:
                await s.delete(membership)
        for role in wanted:
            await users.grant_role(s, user_id=person.id, municipality_id=town.id, role=Role(role))
    await s.flush()


async def _fresh_objects(
    runtime: Runtime, towns: dict[str, dict[str, Any]], *, only: str | None = None
) -> dict[str, dict[str, Any]]:
    """A new appeal with an attached file in each town (or `only` one), so every operation
    starts from an open appeal."""

    async def data(s):  # noqa: ANN001, ANN202
        out = {}
        for key, t in towns.items():
            if only is not None and key != only:
                continue
            await _restore(s, t)
            appeal = await make_appeal(s, t["town"], t["category"], t["people"]["resident"], text=f"Яма на дороге № {next(_seq)}")
            stored = await appeals.save_attachment(
                s, town=t["town"], user=t["people"]["resident"], data=b"%PDF-1.4 fuzz", filename="scan.pdf",
                mime="application/pdf", files_root=t["files_root"],
            )
            await files.attach(s, file_ids=[stored.id], owner_type="appeal", owner_id=appeal.id)
            link = downloads.sign(
                downloads.link_key(runtime.settings.signing_token), user_id=t["people"]["clerk"].id,
                path=f"/api/v1/municipalities/{t['town'].id}/files/{stored.id}",
            )
            out[key] = {
                "municipality_id": t["town"].id, "appeal_id": appeal.id, "category_id": t["category"].id,
                "file_id": stored.id, "key_id": t["key"].id, "slug": t["town"].slug,
                "service_code": t["category"].code, "service_request_id": appeal.reg_number, "into_id": appeal.id,
                "token": link,
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
    rt = make_runtime(make_settings(url, fuzz_dir))
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


# Who sends the request, which ids it names, and which edge values it carries. Chosen from the
# generated case itself, so a failing example replays (and shrinks) the same way.
IDENTITIES = ("clerk", "clerk", "head", "admin", "resident", "stranger", "forged", "none")
TARGETS = ("own", "own", "other", "generated")
# What the API's fuzzer found and generation rarely reaches: integers beyond the database's
# (PostgreSQL integer, bigint; SQLite's 64 bits) and NUL, which PostgreSQL refuses in text.
EDGES = ("none", "none", "big_numbers", "nul", "big_path_ids")
BIG = (2**31, 2**63, 2**64)


def _pick(case: schemathesis.Case, options: tuple[str, ...], salt: str) -> str:
    # Keys sorted: the order of parameters follows Python's per-process string hashing; and an
    # absent body is a sentinel whose repr carries its memory address.
    body = case.body if isinstance(case.body, dict | list | str | int | float) else None
    parts = [salt, case.path_parameters or {}, case.query or {}, body]
    data = json.dumps(parts, sort_keys=True, default=str).encode("utf-8", "surrogatepass")
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
    big = BIG[zlib.crc32(json.dumps(case.query or {}, sort_keys=True, default=str).encode("utf-8", "surrogatepass")) % len(BIG)]
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


# --- the same edges, every one on every operation -----------------------------------------------
# Generation reaches a given edge on a given field only by chance; these requests do it for
# certain: a valid request of the town's everything-allowed person, then the same request with
# each kind of edge value, all checked like the generated ones.

OPERATIONS = sorted(f"{method.upper()} {path}" for path, ops in SPEC["paths"].items() for method in ops)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SPEC["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _type(node: dict[str, Any]) -> str | None:
    node = _resolve(node)
    alternatives = [_resolve(a) for a in node.get("anyOf", [])]
    return node.get("type") or next((a.get("type") for a in alternatives if a.get("type") != "null"), None)


def _valid(node: dict[str, Any], name: str, ids: dict[str, Any]) -> Any:
    """A simple valid value for a schema: the real id for id fields, the first enum value, a
    string of the least allowed length; every property of an object."""
    node = _resolve(node)
    if "anyOf" in node:
        return _valid(next(a for a in node["anyOf"] if _resolve(a).get("type") != "null"), name, ids)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object":
        return {key: _valid(value, key, ids) for key, value in node.get("properties", {}).items()}
    if kind == "string":
        return "Текст обращения"[: node.get("maxLength", 100)].ljust(node.get("minLength", 0), "!")
    if kind == "integer":
        return ids.get(name, int(node.get("minimum", 1)))
    if kind == "number":
        return node.get("minimum", 0)
    if kind == "boolean":
        return False
    return [] if kind == "array" else None


def _edge_requests(operation: str, ids: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(what, Case arguments): the valid request, then the same with one edge value."""
    method, path = operation.split(" ", 1)
    op = SPEC["paths"][path][method.lower()]
    params = {(p["in"], p["name"]): p["schema"] for p in op.get("parameters", [])}
    path_params = {n: ids.get(n, _valid(sch, n, ids)) for (where, n), sch in params.items() if where == "path"}
    body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    body = _valid(body_schema, "", ids) if body_schema else None
    # A body documented as form-encoded too (Open311's) is sent as JSON here: one type to say which.
    base = {"path_parameters": path_params, "query": {}, **({"body": body, "media_type": "application/json"} if body_schema else {})}
    out = [("the valid request", base)]
    nul = "a\x00b"
    # One field at a time: an earlier refusal of another field must not hide a failure.
    for (where, name), sch in params.items():
        kind = _type(sch)
        if where == "path" and kind == "integer":
            out += [(f"path {name}={big}", {**base, "path_parameters": {**path_params, name: big}}) for big in BIG[:2]]
        elif where == "path" and kind == "string":
            out.append((f"path {name} with NUL", {**base, "path_parameters": {**path_params, name: nul}}))
        elif where == "query" and kind == "integer":
            out += [(f"query {name}={big}", {**base, "query": {name: big}}) for big in BIG[:2]]
        elif where == "query" and kind == "string":
            out += [(f"query {name}={big}", {**base, "query": {name: str(big)}}) for big in BIG[:2]]
            out.append((f"query {name} with NUL", {**base, "query": {name: nul}}))
        elif where == "query" and kind == "array":
            out.append((f"query {name} with NUL", {**base, "query": {name: [nul]}}))
    for name, value in (body or {}).items():
        if _is_int(value):
            out += [(f"body {name}={big}", {**base, "body": {**body, name: big}}) for big in BIG[:2]]
        elif isinstance(value, str):
            out.append((f"body {name} with NUL", {**base, "body": {**body, name: value[:1] + "\x00" + value[1:]}}))
    return out


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_every_operation_refuses_edge_values_cleanly(
    operation: str, world: World, fuzz_runtime: Runtime, fuzz_towns: dict
) -> None:
    method, path = operation.split(" ", 1)
    ids = {**world.ids["own"], "assignee_id": world.user_ids["clerk"]}
    failures = []
    for index in range(len(_edge_requests(operation, ids))):
        if method != "GET":  # an accepted request changes the appeal: the next one gets a new one
            ids = {**ids, **(await _fresh_objects(fuzz_runtime, fuzz_towns, only="own"))["own"]}
        what, fields = _edge_requests(operation, ids)[index]
        case = schema[path][method].Case(**fields)
        case.headers = {"Authorization": _launch(world, "boss", operation)}
        try:
            case.call_and_validate(base_url=world.url, checks=CHECKS)
        except (FailureGroup, Exception) as exc:  # noqa: BLE001 - every variant is tried, then all reported
            failures.append(f"--- {what}:\n{exc}")
    if failures:  # the requests and answers say it all; the test's own traceback would not
        pytest.fail(f"{operation}: {len(failures)} request(s) answered against the schema\n" + "\n".join(failures), pytrace=False)

