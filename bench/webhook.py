"""Webhook throughput: updates per second through the real `POST /telegram/webhook`, against
bare aiogram measured in the same run.

    cd /work/main && .venv/bin/python bench/webhook.py
    .venv/bin/python bench/webhook.py --database-url postgresql+asyncpg://postgres@127.0.0.1/bench \\
        --reset-postgres --redis-url redis://127.0.0.1:6379/14

App: everything a webhook delivery goes through in production - FastAPI with the metrics
middleware, the secret check, deduplication, the Dispatcher with every outer middleware
(observability, throttling, one DB session per update, user upsert, locale) and every router,
and the /help handler, which answers with sendMessage.

Baseline: aiogram with nothing added - a bare `Dispatcher` whose one handler echoes the text,
fed by `Dispatcher.feed_webhook_update` from a one-route Starlette app (what aiogram's own
SimpleRequestHandler does, secret check included). No middlewares, no database.

Both are driven in-process through httpx's ASGI transport (no sockets, so the figures are the
server stack, not the network; the httpx client's own cost is in both) and both answer through
the same Bot API stand-in, a session that builds the `Message` result without any I/O. A third
row, aiogram fed directly without HTTP, is printed for reference only.

The workload is --users people (200) each sending /help in turn, the same people on every
side; with --concurrency N, N senders each own a disjoint set of chats, so per-chat ordering
never serializes them. A warm-up (at least one update per person, so every user row exists)
is not measured. Rounds are interleaved, rotating which side goes first, and the median of
each figure is reported: on a small noisy machine that keeps one side from getting the quiet
moments. CPU time per update (the whole process, threads included, not a database server) is
printed beside it, as it is steadier than wall time when other processes share the cores.

First contact: the same /help, but every update from a person the app has never seen (a new
Telegram id each time), so the app creates their row; one sender (--first-contact-senders).
The baseline has no people, so it runs its usual update there.

Beside the ratios the bench counts what the app's update costs in round trips: SQL statements
(SQLAlchemy's `before_cursor_execute` on the app's engine, so every statement the app sends,
the replies' "sent" bookkeeping included) and, with --redis-url, Redis round trips (a counting
connection class on the app's Redis pool: one per command or pipeline sent). Each is the total
over the measured rounds of a phase divided by its updates.

The last line holds the figures for comparing runs:
`RESULT ratio_c1=… ratio_c8=… first_contact_ratio=… redis_round_trips=… sql_statements=…`
(the ratios are updates/s app/baseline, medians over rounds; `ratio_cN` for each --concurrency
level; round trips and statements per cached update at the first level, with their
first-contact twins), and the load average before and after, since other processes on the
machine move every figure.

Databases: by default a fresh SQLite file in a temporary directory, migrated with
`backend.migrate.upgrade`. A given sqlite+aiosqlite:/// URL is migrated in place and gains
the bench's users. A PostgreSQL URL needs --reset-postgres, because the bench DROPS and
recreates that database's `public` schema: give it a database of its own. With --redis-url
the app writes only keys with a time to live (throttle windows, cached people).

Exit status: 0 whether or not the target is met (this is a measurement, not a test), 1 when a
request did not return 200 or an update was not answered as expected, 2 on a usage error.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == _HERE:
    # `python bench/webhook.py` puts bench/ first on sys.path, where a sibling script named
    # like a stdlib module (bench/queue.py) would shadow it; the project root goes there instead.
    sys.path[0] = str(_HERE.parent)

import argparse
import asyncio
import gc
import hmac
import itertools
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.base import BaseSession
from aiogram.methods import GetMe, SendMessage, TelegramMethod
from aiogram.types import Chat, Message, User
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sqlalchemy import event
from redis.asyncio.connection import AbstractConnection

from backend.kv import RedisKV
from backend.logs import setup_logging
from backend.migrate import reset_postgres, upgrade
from backend import installed
from backend.runtime import Runtime
from backend.settings import Settings, SettingsError, load_settings
from bot.main import build

BOT_TOKEN = "123456789:TEST-token-for-glocal-bench_0000"
TARGET = 0.5  # the goal for app/baseline, on both engines, at every level and for first contact
WEBHOOK = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIRST_USER_ID = 700_000_000
FIRST_NEW_USER_ID = 800_000_000  # first-contact people, never seen before
NAMES = ("Иван", "Мария", "Алексей", "Ольга", "Дмитрий", "Anna", "John", "Фатима")


class BenchError(Exception):
    """The stack under measurement misbehaved: a non-200 answer or a missing or wrong reply."""


# -- the Bot API stand-in ---------------------------------------------------------------


class BotAPIStandIn(BaseSession):
    """The Bot API at the session level, as aiogram tests itself (`tests/mocked_bot.py`):
    no I/O, a well-formed result, every call counted, every reply checked with `accept`.

    Local rather than `tests/telegram.py` so the bench does not depend on the test suite,
    and counting rather than recording so thousands of calls do not grow the heap."""

    def __init__(self, accept: Callable[[SendMessage], bool]) -> None:
        super().__init__()
        self.accept = accept
        self.calls: Counter[str] = Counter()
        self.rejected = 0
        self.samples: list[str] = []
        self._ids = itertools.count(1)

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        self.calls[type(method).__name__] += 1
        if isinstance(method, SendMessage):
            if not self.accept(method):
                self.rejected += 1
                if len(self.samples) < 3:
                    self.samples.append(repr(method.text)[:120])
            return Message(
                message_id=next(self._ids),
                date=datetime.now(UTC),
                chat=Chat(id=int(method.chat_id), type="private"),
                text=method.text,
            )
        if isinstance(method, GetMe):
            return User(id=bot.id, is_bot=True, first_name="Glocal", username="glocal_bench_bot")
        return True

    async def close(self) -> None:
        return None

    async def stream_content(self, *args: Any, **kwargs: Any):  # noqa: ANN201 - never called
        yield b""


# -- the stacks under measurement -------------------------------------------------------


@dataclass
class Trips:
    """Round trips the app makes: SQL statements to its database, commands or pipelines to Redis."""

    sql: int = 0
    redis: int = 0

    def snapshot(self) -> tuple[int, int]:
        return self.sql, self.redis


@dataclass
class Stack:
    key: str
    label: str
    api: BotAPIStandIn
    feed: Callable[[bytes], Awaitable[None]]
    close: Callable[[], Awaitable[None]]
    trips: Trips | None = None  # counted for the app only


def count_trips(runtime: Runtime) -> Trips:
    """Count the app's SQL statements and Redis round trips from here on."""
    trips = Trips()

    @event.listens_for(runtime.engine.sync_engine, "before_cursor_execute")
    def _statement(*_args: Any) -> None:
        trips.sql += 1

    if isinstance(runtime.kv, RedisKV):
        pool = runtime.kv.redis.connection_pool
        base: type[AbstractConnection] = pool.connection_class

        class CountingConnection(base):  # type: ignore[valid-type, misc]
            # One packed send is one round trip: a command, or a whole pipeline.
            async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
                trips.redis += 1
                await super().send_packed_command(command, check_health)

        pool.connection_class = CountingConnection  # no connection exists yet: the app has not run
    return trips


def _check(key: str, response: httpx.Response) -> None:
    if response.status_code != 200:
        raise BenchError(f"{key}: POST {WEBHOOK} returned {response.status_code}: {response.text[:200]}")


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.glocal")


def app_stack(settings: Settings) -> Stack:
    """The real app from the composition root, with the stand-in as its Bot API."""
    runtime = Runtime.build(settings, installed.registry())
    trips = count_trips(runtime)
    # The /help text lists every command, in either language; an error reply does not.
    api = BotAPIStandIn(accept=lambda m: "/start" in m.text and "/help" in m.text and "/mydata" in m.text)
    app, bot, dp = build(runtime, bot_session=api)
    assert bot is not None and dp is not None, "BOT_TOKEN is set, so the bot is built"
    client = _client(app)
    headers = {SECRET_HEADER: settings.webhook_secret, "Content-Type": "application/json"}

    async def feed(body: bytes) -> None:
        _check("app", await client.post(WEBHOOK, content=body, headers=headers))

    async def close() -> None:
        await client.aclose()
        await dp.storage.close()
        await runtime.close()

    return Stack("app", "app: POST /telegram/webhook", api, feed, close, trips)


def _echo_dispatcher() -> tuple[Bot, Dispatcher, BotAPIStandIn]:
    api = BotAPIStandIn(accept=lambda m: m.text == "/help")
    bot = Bot(BOT_TOKEN, session=api)
    router = Router(name="echo")

    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    router.message.register(echo, F.text)
    dp = Dispatcher()  # MemoryStorage, no event isolation, no middlewares: aiogram as shipped
    dp.include_router(router)
    return bot, dp, api


def baseline_stack(secret: str) -> Stack:
    """Bare aiogram behind one Starlette route, the ASGI twin of SimpleRequestHandler."""
    bot, dp, api = _echo_dispatcher()

    async def webhook(request: Request) -> JSONResponse:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), secret):
            return JSONResponse({}, status_code=401)
        await dp.feed_webhook_update(bot, await request.json())
        return JSONResponse({})

    client = _client(Starlette(routes=[Route(WEBHOOK, webhook, methods=["POST"])]))
    headers = {SECRET_HEADER: secret, "Content-Type": "application/json"}

    async def feed(body: bytes) -> None:
        _check("baseline", await client.post(WEBHOOK, content=body, headers=headers))

    return Stack("baseline", "baseline: bare aiogram, ASGI", api, feed, client.aclose)


def direct_stack() -> Stack:
    """Bare aiogram without HTTP: what the web layer costs, for reference."""
    bot, dp, api = _echo_dispatcher()

    async def feed(body: bytes) -> None:
        await dp.feed_webhook_update(bot, json.loads(body))

    async def close() -> None:
        return None

    return Stack("direct", "reference: aiogram, no HTTP", api, feed, close)


# -- the workload -----------------------------------------------------------------------


def make_users(n: int, first_id: int = FIRST_USER_ID) -> list[dict[str, Any]]:
    """Telegram users as they arrive in updates: mostly Russian-speaking, some with usernames."""
    users = []
    for i in range(n):
        user: dict[str, Any] = {"id": first_id + i, "is_bot": False, "first_name": NAMES[i % len(NAMES)]}
        if i % 3 == 0:
            user["username"] = f"bench_user_{i}"
        user["language_code"] = "en" if i % 10 >= 7 else "ru"
        users.append(user)
    return users


class Workload:
    """Update bodies, serialized before the clock starts; every update id is used once
    (the app records each as handled, and a second delivery would be a duplicate)."""

    def __init__(self, users: list[dict[str, Any]], first_update_id: int) -> None:
        self.users = users
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(1)
        self._next_new_person = FIRST_NEW_USER_ID

    def batches(self, count: int, senders: int) -> list[list[bytes]]:
        """`count` /help updates, person after person; sender k owns the people i with i % senders == k."""
        return self._bodies([(i % senders, self.users[i]) for i in (k % len(self.users) for k in range(count))], senders)

    def first_contacts(self, count: int, senders: int) -> list[list[bytes]]:
        """`count` /help updates, each from a person nobody has seen yet."""
        people = make_users(count, first_id=self._next_new_person)
        self._next_new_person += count
        return self._bodies([(k % senders, user) for k, user in enumerate(people)], senders)

    def _bodies(self, owned: list[tuple[int, dict[str, Any]]], senders: int) -> list[list[bytes]]:
        out: list[list[bytes]] = [[] for _ in range(senders)]
        now = int(time.time())
        for sender, user in owned:
            update = {
                "update_id": next(self._update_ids),
                "message": {
                    "message_id": next(self._message_ids),
                    "date": now,
                    "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
                    "from": user,
                    "text": "/help",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                },
            }
            out[sender].append(json.dumps(update, ensure_ascii=False).encode())
        return out


# -- measuring ---------------------------------------------------------------------------


@dataclass
class Phase:
    updates: int
    seconds: float
    cpu_seconds: float  # the whole process, DB worker threads included; not the DB server
    latencies: list[float] = field(repr=False)
    sql: int = 0  # statements the app sent during the phase (0 for the other stacks)
    redis: int = 0  # Redis round trips the app made during the phase

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def percentile(self, p: int) -> float:
        """Nearest-rank percentile of the per-update latencies, in milliseconds."""
        ordered = sorted(self.latencies)
        return ordered[max(0, -(-len(ordered) * p // 100) - 1)] * 1000


async def run_phase(stack: Stack, batches: list[list[bytes]]) -> Phase:
    """Send every batch (one sender per batch), then prove each update got its reply."""
    count = sum(len(b) for b in batches)
    sent_before = stack.api.calls["SendMessage"]
    rejected_before = stack.api.rejected
    latencies: list[float] = []
    clock = time.perf_counter

    async def sender(bodies: list[bytes]) -> None:
        for body in bodies:
            t0 = clock()
            await stack.feed(body)
            latencies.append(clock() - t0)

    gc.collect()  # start every phase with the same heap debt
    sql0, redis0 = stack.trips.snapshot() if stack.trips else (0, 0)
    cpu0, t0 = time.process_time(), clock()
    try:
        async with asyncio.TaskGroup() as senders:
            for bodies in batches:
                senders.create_task(sender(bodies))
    except* BenchError as group:
        raise group.exceptions[0] from None
    seconds, cpu_seconds = clock() - t0, time.process_time() - cpu0
    sql1, redis1 = stack.trips.snapshot() if stack.trips else (0, 0)

    sent = stack.api.calls["SendMessage"] - sent_before
    if sent != count:
        raise BenchError(f"{stack.key}: {count} updates but {sent} sendMessage calls")
    if stack.api.rejected != rejected_before:
        raise BenchError(f"{stack.key}: unexpected replies, e.g. {'; '.join(stack.api.samples)}")
    return Phase(count, seconds, cpu_seconds, latencies, sql1 - sql0, redis1 - redis0)


async def _interleaved(stacks: list[Stack], rounds: int, batches: Callable[[Stack], list[list[bytes]]]) -> dict[str, list[Phase]]:
    """`rounds` rounds of every stack, rotating which goes first."""
    phases: dict[str, list[Phase]] = {s.key: [] for s in stacks}
    for r in range(rounds):
        for stack in stacks[r % len(stacks):] + stacks[: r % len(stacks)]:
            phases[stack.key].append(await run_phase(stack, batches(stack)))
    return phases


async def measure(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    # A fresh id range per run, so a kept database never sees these ids as handled already.
    workload = Workload(make_users(args.users), first_update_id=int(time.time() * 1000) % 10**12)
    stacks = [baseline_stack(settings.webhook_secret), app_stack(settings)]
    if not args.no_reference:
        stacks.append(direct_stack())
    levels = []
    try:
        for senders in args.concurrency:
            for stack in stacks:
                await run_phase(stack, workload.batches(max(args.warmup, args.users), senders))
            phases = await _interleaved(stacks, args.rounds, lambda _s, n=senders: workload.batches(args.updates, n))
            levels.append(summarize(f"concurrency {senders}", senders, stacks, phases))
        first = None
        if args.first_contact:
            n, senders = args.first_contact, args.first_contact_senders
            # Only the app knows people; the others get their usual (already warm) update.
            phases = await _interleaved(
                stacks, args.rounds,
                lambda s: workload.first_contacts(n, senders) if s.key == "app" else workload.batches(n, senders),
            )
            first = summarize(f"first contact, {senders} sender{'s' if senders > 1 else ''}", senders, stacks, phases)
    finally:
        for stack in stacks:
            await stack.close()
    return {"levels": levels, "first_contact": first, "calls": {s.key: dict(s.api.calls) for s in stacks}}


def summarize(title: str, senders: int, stacks: list[Stack], phases: dict[str, list[Phase]]) -> dict[str, Any]:
    rows = {}
    for stack in stacks:
        ps = phases[stack.key]
        updates = sum(p.updates for p in ps)
        rows[stack.key] = {
            "label": stack.label,
            "updates_per_s": statistics.median(p.rate for p in ps),
            "p50_ms": statistics.median(p.percentile(50) for p in ps),
            "p95_ms": statistics.median(p.percentile(95) for p in ps),
            # CPU per update is steadier than wall time when other processes share the cores.
            "cpu_us_per_update": statistics.median(p.cpu_seconds / p.updates * 1e6 for p in ps),
            "rounds_updates_per_s": [round(p.rate, 1) for p in ps],
            "sql_per_update": sum(p.sql for p in ps) / updates,
            "redis_per_update": sum(p.redis for p in ps) / updates,
        }
    ratio = rows["app"]["updates_per_s"] / rows["baseline"]["updates_per_s"]
    cpu_ratio = rows["baseline"]["cpu_us_per_update"] / rows["app"]["cpu_us_per_update"]
    return {"title": title, "concurrency": senders, "stacks": rows, "ratio": ratio, "cpu_ratio": cpu_ratio,
            "target": TARGET, "met": ratio >= TARGET}


# -- entry point -------------------------------------------------------------------------


def _senders(value: str) -> list[int]:
    try:
        levels = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers, e.g. 1,8") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers, e.g. 1,8")
    return levels


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench/webhook.py",
        description="Updates/s through POST /telegram/webhook against bare aiogram, in one run.",
    )
    p.add_argument("--updates", type=int, default=3000, help="measured updates per side per round (3000)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported (3)")
    p.add_argument("--warmup", type=int, default=200, help="unmeasured updates per side first; at least --users (200)")
    p.add_argument("--users", type=int, default=200, help="distinct people sending /help (200)")
    p.add_argument("--concurrency", type=_senders, default=[1, 8], metavar="N[,N...]",
                   help="concurrent senders, each to its own chats; one figure per value (1,8)")
    p.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    p.add_argument("--reset-postgres", action="store_true",
                   help="allow dropping and recreating the public schema of a PostgreSQL --database-url")
    p.add_argument("--redis-url", help="use Redis for throttling and the scheduler's claims, as in production")
    p.add_argument("--first-contact", type=int, default=1000, metavar="N",
                   help="updates per side per round from people never seen before; 0 skips the phase (1000)")
    p.add_argument("--first-contact-senders", type=int, default=1, metavar="N",
                   help="concurrent senders in the first-contact phase (1)")
    p.add_argument("--no-reference", action="store_true", help="skip the aiogram-without-HTTP reference row")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    return p


def _sections(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [*result["levels"], *([result["first_contact"]] if result["first_contact"] else [])]


def _print_table(result: dict[str, Any]) -> None:
    print(f"Glocal webhook benchmark: database={result['database']} kv={result['kv']} "
          f"updates={result['updates']} x {result['rounds']} rounds, users={result['users']}, "
          f"python {result['python']}, {result['cpus']} CPUs, load average {result['load_before']} before")
    for section in _sections(result):
        app = section["stacks"]["app"]
        trips = f"{app['sql_per_update']:.2f} SQL statements"
        if result["kv"] == "redis":
            trips += f", {app['redis_per_update']:.2f} Redis round trips"
        print(f"\n{section['title']} (the app: {trips} per update)")
        print(f"  {'':<32}{'updates/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'cpu us/upd':>12}   rounds (updates/s)")
        for row in section["stacks"].values():
            rounds = " ".join(f"{r:.0f}" for r in row["rounds_updates_per_s"])
            print(f"  {row['label']:<32}{row['updates_per_s']:>10.0f}{row['p50_ms']:>9.2f}{row['p95_ms']:>9.2f}"
                  f"{row['cpu_us_per_update']:>12.0f}   {rounds}")
    print(f"\npeak RSS: {result['peak_rss_mb']:.0f} MB; load average {result['load_after']} after")
    for section in _sections(result):
        print(f"cpu-time ratio app/baseline: {section['cpu_ratio']:.2f} (for information; steadier than "
              f"wall time on a shared machine)  [{section['title']}]")
    for section in _sections(result):
        verdict = "met" if section["met"] else "NOT met"
        print(f"ratio app/baseline: {section['ratio']:.2f} (target >= {TARGET}: {verdict})  [{section['title']}]")


def result_line(result: dict[str, Any]) -> str:
    """The one line to compare runs by."""
    figures: dict[str, str] = {f"ratio_c{lv['concurrency']}": f"{lv['ratio']:.2f}" for lv in result["levels"]}
    first = result["first_contact"]
    if first:
        figures["first_contact_ratio"] = f"{first['ratio']:.2f}"
    app = result["levels"][0]["stacks"]["app"]
    figures["redis_round_trips"] = f"{app['redis_per_update']:.2f}"
    figures["sql_statements"] = f"{app['sql_per_update']:.2f}"
    if first:
        figures["first_contact_redis_round_trips"] = f"{first['stacks']['app']['redis_per_update']:.2f}"
        figures["first_contact_sql_statements"] = f"{first['stacks']['app']['sql_per_update']:.2f}"
    for section in _sections(result):
        key = f"c{section['concurrency']}" if section in result["levels"] else "first_contact"
        figures[f"cpu_ratio_{key}"] = f"{section['cpu_ratio']:.2f}"
    figures["database"] = result["database"]
    figures["kv"] = result["kv"]
    figures["load_before"] = result["load_before"]
    figures["load_after"] = result["load_after"]
    return "RESULT " + " ".join(f"{k}={v}" for k, v in figures.items())


def _load() -> str:
    return "{:.2f}".format(os.getloadavg()[0])


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if min(args.updates, args.rounds, args.users, args.first_contact_senders) < 1 or min(args.warmup, args.first_contact) < 0:
        print("--updates, --rounds, --users and --first-contact-senders must be positive", file=sys.stderr)
        return 2
    if args.first_contact and args.first_contact_senders > args.first_contact:
        print("--first-contact-senders cannot exceed --first-contact", file=sys.stderr)
        return 2
    if max(args.concurrency) > args.users:
        print("--concurrency cannot exceed --users: every sender needs chats of its own", file=sys.stderr)
        return 2
    setup_logging("WARNING", json_logs=False)
    with tempfile.TemporaryDirectory(prefix="glocal-bench-") as tmp:
        try:
            settings = load_settings(
                _env_file=None,  # a developer's .env must not change what is measured
                DATABASE_URL=args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db",
                BOT_TOKEN=BOT_TOKEN,
                DATA_DIR=tmp,
                SCHEDULER=False,
                THROTTLE_RATE=10**9,
                LOG_JSON=False,
                LOG_LEVEL="WARNING",
                REDIS_URL=args.redis_url,
            )
        except SettingsError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            return 2
        if not settings.is_sqlite:
            if not args.reset_postgres:
                print("PostgreSQL: the bench drops and recreates the database's public schema; "
                      "pass --reset-postgres, with a database of its own", file=sys.stderr)
                return 2
            asyncio.run(reset_postgres(settings.DATABASE_URL))
        upgrade(settings.DATABASE_URL)
        load_before = _load()
        try:
            measured = asyncio.run(measure(settings, args))
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    result = {
        "database": "sqlite" if settings.is_sqlite else "postgresql",
        "kv": "redis" if settings.REDIS_URL else "memory",
        "updates": args.updates,
        "rounds": args.rounds,
        "warmup": max(args.warmup, args.users),
        "users": args.users,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        **measured,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "load_before": load_before,
        "load_after": _load(),
    }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        _print_table(result)
    print(result_line(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
