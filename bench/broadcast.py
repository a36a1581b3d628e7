"""Broadcast delivery against a local Bot API test server, 100,000 recipients.

    .venv/bin/python bench/broadcast.py                       # SQLite, 60 s paced runs
    .venv/bin/python bench/broadcast.py --paced-seconds 20    # shorter paced runs (said in the output)
    .venv/bin/python bench/broadcast.py --database-url postgresql+asyncpg://postgres@127.0.0.1/benchb \\
        --reset-postgres --redis-url redis://127.0.0.1:6379/14

What runs, each in its own process so that one's CPU and memory are not another's:

- the Bot API test server (`--phase server`): aiohttp, answers sendMessage/sendPhoto as
  Telegram does (a Message with an id) and stamps each call with the time it arrived and its
  chat; the figures are computed from those stamps, as Telegram would count them;
- our engine (`--phase ours`): one worker process running `backend/services/broadcasts/engine.py`
  with the real `TelegramChannel` (aiogram, HTTP) on the database, exactly as `glocal serve`
  runs it, started on a broadcast materialised by the real service;
- the peer (`--phase peer`): aiogram-broadcaster from PyPI in its own virtualenv
  (var/bench/peer-venv, created by this script; never a dependency of the app), same text, same
  recipients, same test server;
- the app (`glocal serve` in webhook mode) for the reply latency.

Figures:
(a) ceiling with pacing off: messages a second over the whole 100,000 (target >= 3,000);
(b) paced at 30/s (the bot's limit, broadcasts allowed 99% of it) and at 1,000/s (a paid
    broadcast, `allow_paid_broadcast`): achieved / limit over the steady part of the run
    (first and last second left out), the busiest calendar second and the busiest 1-s sliding
    window at the server (neither may exceed the limit), and the most messages any chat got
    within one second;
(c) peak RSS of the worker (VmHWM) on 10,000 and on 100,000 recipients (target < 200 MB, flat);
(d) the peer's ceiling on the same workload (its throughput over 20,000 of the recipients: it
    sends one at a time, so 100,000 would take minutes and tell the same) and the ratio of ours
    to it; then both killed with SIGKILL mid-way through a 3,000-recipient broadcast and
    restarted (ours from the database, the peer from its FileStorage): how many recipients got
    the message twice, and how many of ours are reported uncertain instead;
(e) a resident's reply during a running broadcast at the default share (85% of 30/s): the
    time from the webhook POST to the reply's sendMessage arriving at the server, p50/p95 of 40.

Last line: RESULT ceiling_per_s=… paced_ratio=… peak_mb=… peer_ratio=… reply_p95_ms=…
(paced_ratio is the lower of the two paced runs; peak_mb the 100,000 run's).
"""

from __future__ import annotations

import sys

# Run as a script, this folder comes first on sys.path, and bench/queue.py would stand in for
# the standard library's queue (asyncio imports it): the project's root goes there instead.
if sys.path and sys.path[0].rstrip("/").endswith("/bench"):
    sys.path[0] = sys.path[0].rstrip("/")[: -len("/bench")] or "/"

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
PEER_VENV = VAR / "peer-venv"
TOKEN = "123456789:BENCH-token-for-broadcasts_00000"
TEXT = "<b>Отключение воды</b> в среду с 10:00 до 14:00"
CHAT_BASE = 9_000_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu() -> float:
    """CPU seconds this process used (user + system): on a shared machine, what a run costs."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- the Bot API test server -----------------------------------------------------------------

CHAT_RE = re.compile(rb"chat_id=(-?\d+)")


def serve(port: int) -> None:
    from aiohttp import web

    times: list[float] = []
    chats: list[int] = []
    msg_id = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal msg_id
        method = request.match_info["method"]
        body = await request.read()
        if method == "getMe":
            return web.json_response({"ok": True, "result": {"id": 123456789, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}})
        if not method.startswith("send"):
            return web.json_response({"ok": True, "result": True})
        m = CHAT_RE.search(body)
        if m is None:  # multipart (a photo): the chat is a form field
            form = await request.post() if not body else None
            chat = int(form["chat_id"]) if form else 0
        else:
            chat = int(m.group(1))
        times.append(time.time())
        chats.append(chat)
        msg_id += 1
        return web.json_response({"ok": True, "result": {
            "message_id": msg_id, "date": int(time.time()), "chat": {"id": chat, "type": "private"}, "text": "x",
        }})

    async def stats(request: web.Request) -> web.Response:
        since = float(request.query.get("since", "0"))
        start = next((i for i, t in enumerate(times) if t >= since), len(times))
        return web.json_response({"times": times[start:], "chats": chats[start:]})

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"n": len(times)})

    app = web.Application(client_max_size=32 * 1024 * 1024)
    app.router.add_post("/bot{token}/{method}", handle)
    app.router.add_get("/stats", stats)
    app.router.add_get("/count", count)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class Server:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, __file__, "--phase", "server", "--port", str(self.port)], cwd=ROOT)

    async def wait(self) -> None:
        import httpx

        async with httpx.AsyncClient() as c:
            for _ in range(600):
                try:
                    await c.get(self.url + "/count")
                    return
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
        raise SystemExit("the test server did not start")

    async def calls(self, since: float = 0.0) -> tuple[list[float], list[int]]:
        import httpx

        async with httpx.AsyncClient(timeout=60) as c:
            data = (await c.get(self.url + "/stats", params={"since": repr(since)})).json()
        return data["times"], data["chats"]

    async def count(self) -> int:
        import httpx

        async with httpx.AsyncClient(timeout=10) as c:
            return (await c.get(self.url + "/count")).json()["n"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


# --- our worker --------------------------------------------------------------------------------


async def ours(args: argparse.Namespace) -> None:
    """One delivery worker as `glocal serve` runs it; prints its figures as JSON."""
    from backend.core.notifications.pacing import MemoryPacer, make_pacer
    from backend.services.broadcasts.engine import Engine, EngineConfig
    from bot.channel import TelegramChannel
    from bot.dispatcher import create_bot
    from bot.main import make_runtime
    from bot.services import INSTALLED

    settings = _settings(args)
    runtime = make_runtime(settings)
    bot = create_bot(settings)
    channel = TelegramChannel(bot, settings, INSTALLED)
    pacer = make_pacer(args.redis_url) if args.redis_url else MemoryPacer()
    config = EngineConfig(bot_rate=args.rate, share=args.share, senders=args.senders, pacing=not args.no_pacing,
                          lease=float(args.lease))
    engine = Engine(runtime.sessionmaker, channel, pacer, files_root=settings.files_dir, config=config, worker=args.worker)
    stop = asyncio.Event()
    if args.seconds:
        asyncio.get_running_loop().call_later(args.seconds, stop.set)
    profile = None
    if os.environ.get("BENCH_PROFILE"):  # where the worker's CPU goes: a cProfile dump to that path
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    t0, cpu0 = time.perf_counter(), _cpu()
    summary = await engine.run(stop=stop)
    elapsed, cpu = time.perf_counter() - t0, _cpu() - cpu0
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.environ["BENCH_PROFILE"])
    await bot.session.close()
    await runtime.close()
    print(json.dumps({"sent": summary.sent, "elapsed": elapsed, "cpu": cpu, "peak_mb": peak_rss_mb(),
                      "uncertain": summary.recovered_uncertain}), flush=True)


def _settings(args: argparse.Namespace):  # noqa: ANN202
    from backend.settings import load_settings

    return load_settings(
        DATABASE_URL=args.database_url, REDIS_URL=args.redis_url or None, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=args.api or "https://api.telegram.org",
        DATA_DIR=VAR / "broadcast-data", SCHEDULER=False, LOG_JSON=True, LOG_LEVEL="WARNING", DEMO=False,
    )


def run_ours(args: argparse.Namespace, api: str, **extra: Any) -> subprocess.Popen[str]:
    cmd = [sys.executable, __file__, "--phase", "ours", "--api", api, "--database-url", args.database_url]
    if args.redis_url:
        cmd += ["--redis-url", args.redis_url]
    for key, value in extra.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            cmd.append(flag)
        elif value is not False and value is not None:
            cmd += [flag, str(value)]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)


def result_of(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate()
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"worker failed ({proc.returncode}): {out[-2000:]}")
    return json.loads(lines[-1])


# --- the peer ---------------------------------------------------------------------------------


async def peer(args: argparse.Namespace) -> None:
    """aiogram-broadcaster's Mailer over the same chats (runs in the peer's own venv)."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram_broadcaster import Broadcaster
    from aiogram_broadcaster.contents import TextContent
    from aiogram_broadcaster.storages.file import FileStorage

    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(args.api)))
    storage = FileStorage(args.storage) if args.storage else None
    broadcaster = Broadcaster(bot, storage=storage)
    if storage is not None:
        await storage.startup()
        await broadcaster.restore_mailers()
    mailers = list(broadcaster.mailers.values())
    if not mailers:
        chats = [CHAT_BASE + i for i in range(args.n)]
        mailers = [await broadcaster.create_mailer(chats=chats, content=TextContent(text=TEXT, parse_mode="HTML"))]
    t0, cpu0 = time.perf_counter(), _cpu()
    await mailers[0].start()
    elapsed, cpu = time.perf_counter() - t0, _cpu() - cpu0
    await bot.session.close()
    print(json.dumps({"sent": args.n, "elapsed": elapsed, "cpu": cpu, "peak_mb": peak_rss_mb()}), flush=True)


def ensure_peer_venv() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    check = subprocess.run([str(python), "-c", "import aiogram_broadcaster, aiofiles"], capture_output=True)
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "aiogram-broadcaster", "aiofiles"], check=True)
    return python


def run_peer(python: Path, api: str, n: int, storage: Path | None = None) -> subprocess.Popen[str]:
    cmd = [str(python), __file__, "--phase", "peer", "--api", api, "--n", str(n)]
    if storage is not None:
        cmd += ["--storage", str(storage)]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)


# --- the data ------------------------------------------------------------------------------------


async def seed(args: argparse.Namespace, n: int) -> dict[str, Any]:
    """A town with `n` residents on Telegram (the first 10,000 are also mentors: the 10,000
    segment) and an organizer."""
    from sqlalchemy import insert, select

    from backend.core.municipalities import service as towns
    from backend.core.users.models import Membership, Role, User
    from backend.db import unit_of_work
    from backend.migrate import reset_postgres, upgrade
    from bot.main import make_runtime

    if args.database_url.startswith("postgresql"):
        if not args.reset_postgres:
            raise SystemExit("a PostgreSQL database needs --reset-postgres (its public schema is dropped)")
        await reset_postgres(args.database_url)
    else:
        path = Path(args.database_url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(upgrade, args.database_url)
    runtime = make_runtime(_settings(args))
    async with unit_of_work(runtime.sessionmaker) as s:
        town = await towns.create(s, slug="bench", name="Бенчск")
        town.settings = {"services": {"broadcasts": {"paid_enabled": True, "paid_rate": 1000}}}
        org = User(telegram_id=CHAT_BASE - 1, first_name="Org")
        s.add(org)
        await s.flush()
        s.add(Membership(user_id=org.id, municipality_id=town.id, role=Role.ORGANIZER.value))
        town_id, org_id = town.id, org.id
    for start in range(0, n, 10_000):
        async with unit_of_work(runtime.sessionmaker) as s:
            ids = list(await s.scalars(insert(User).returning(User.id), [
                {"telegram_id": CHAT_BASE + i, "first_name": f"R{i}", "current_municipality_id": town_id}
                for i in range(start, min(n, start + 10_000))
            ]))
            rows = [{"user_id": uid, "municipality_id": town_id, "role": Role.RESIDENT.value} for uid in ids]
            if start < 10_000:
                rows += [{"user_id": uid, "municipality_id": town_id, "role": Role.MENTOR.value} for uid in ids]
            await s.execute(insert(Membership), rows)
    async with unit_of_work(runtime.sessionmaker) as s:
        total = len(list(await s.scalars(select(User.id).where(User.current_municipality_id == town_id))))
    await runtime.close()
    return {"town_id": town_id, "org_id": org_id, "residents": total}


async def start_broadcast(args: argparse.Namespace, world: dict[str, Any], *, roles: list[str], paid: bool = False,
                          cancel_others: bool = True) -> int:
    """A broadcast started through the real service (its recipients materialised)."""
    from sqlalchemy import update

    from backend.core.municipalities.models import Municipality
    from backend.db import unit_of_work
    from backend.installed import registry
    from backend.services.broadcasts import service
    from backend.services.broadcasts.models import Broadcast
    from backend.services.broadcasts.schemas import BroadcastIn
    from bot.main import make_runtime

    runtime = make_runtime(_settings(args))
    async with unit_of_work(runtime.sessionmaker) as s:
        if cancel_others:
            await s.execute(update(Broadcast).where(Broadcast.status.in_(["running", "paused"])).values(status="cancelled"))
        town = await s.get(Municipality, world["town_id"])
        b = await service.create(s, town=town, registry=registry(), author_id=world["org_id"],
                                 data=BroadcastIn(text=TEXT, segment={"roles": roles}, paid=paid), may_pay=True)
        await service.start(s, town=town, registry=registry(), broadcast=b)
        bid = b.id
    await runtime.close()
    return bid


async def states(args: argparse.Namespace, broadcast_id: int) -> Counter:
    from sqlalchemy import func, select

    from backend.db import unit_of_work
    from backend.services.broadcasts.models import BroadcastRecipient
    from bot.main import make_runtime

    runtime = make_runtime(_settings(args))
    async with unit_of_work(runtime.sessionmaker) as s:
        rows = await s.execute(select(BroadcastRecipient.state, func.count()).where(BroadcastRecipient.broadcast_id == broadcast_id)
                               .group_by(BroadcastRecipient.state))
        out = Counter({state: n for state, n in rows})
    await runtime.close()
    return out


# --- figures ------------------------------------------------------------------------------------


def window_max(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best = j = 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def paced_figures(times: list[float], chats: list[int], limit: float) -> dict[str, Any]:
    times = sorted(times)
    t0, t1 = times[0], times[-1]
    steady = [t for t in times if t0 + 1 <= t < t1 - 1]
    span = (t1 - 1) - (t0 + 1)
    achieved = len(steady) / span if span > 0 else 0.0
    per_second = Counter(int(t) for t in times)
    full_seconds = [n for sec, n in per_second.items() if t0 < sec and sec + 1 <= t1]
    by_chat: dict[int, list[float]] = {}
    for t, c in zip(times, chats, strict=False):
        by_chat.setdefault(c, []).append(t)
    chat_max = max((window_max(ts) for ts in by_chat.values()), default=0)
    return {
        "sent": len(times), "achieved_per_s": achieved, "ratio": achieved / limit, "max_calendar_second": max(full_seconds, default=0),
        "max_sliding_second": window_max(times), "max_per_chat_per_s": chat_max,
    }


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


# --- reply latency through the real app ------------------------------------------------------------


async def reply_latency(args: argparse.Namespace, server: Server, world: dict[str, Any]) -> dict[str, Any]:
    """`glocal serve` with a broadcast running at the default share; a resident writes /mute 40
    times; the time until the reply reaches the server."""
    import httpx

    await start_broadcast(args, world, roles=["resident"])
    port = free_port()
    secret = "bench-webhook-secret-000000"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOCAL_")} | {
        "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url or "", "BOT_TOKEN": TOKEN,
        "PUBLIC_URL": "https://bench.test", "WEBHOOK_SECRET": secret, "TELEGRAM_API_URL": server.url, "HOST": "127.0.0.1",
        "PORT": str(port), "DATA_DIR": str(VAR / "broadcast-data"), "DEMO": "false", "SCHEDULER": "true",
        "LOG_JSON": "true", "LOG_LEVEL": "WARNING", "THROTTLE_RATE": "100000",
    }
    log = (VAR / "broadcast-app.log").open("wb")
    app = subprocess.Popen([sys.executable, "-m", "bot.main", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    resident = CHAT_BASE + 17
    latencies: list[float] = []
    try:
        async with httpx.AsyncClient(timeout=30) as c:
            for _ in range(1200):
                try:
                    if (await c.get(url + "/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            # Wait for the broadcast to be under way (the scheduler starts the worker within seconds).
            base = await server.count()
            for _ in range(300):
                if await server.count() > base + 30:
                    break
                await asyncio.sleep(0.1)
            during = await server.count()
            for i in range(40):
                update = {"update_id": 500_000 + i, "message": {
                    "message_id": 10 + i, "date": int(time.time()), "chat": {"id": resident, "type": "private", "first_name": "R"},
                    "from": {"id": resident, "is_bot": False, "first_name": "R", "language_code": "en"}, "text": "/mute",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
                sent_at = time.time()
                r = await c.post(url + "/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
                assert r.status_code == 200, r.text
                for _ in range(400):
                    times, chats = await server.calls(since=sent_at)
                    got = [t for t, ch in zip(times, chats, strict=False) if ch == resident]
                    if got:
                        latencies.append((got[0] - sent_at) * 1000)
                        break
                    await asyncio.sleep(0.005)
                await asyncio.sleep(0.4)
            running = await server.count() - during
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(app.pid, signal.SIGKILL)
        log.close()
    return {"replies": len(latencies), "p50_ms": pct(latencies, 0.5), "p95_ms": pct(latencies, 0.95), "broadcast_msgs_meanwhile": running}


# --- the kill test ------------------------------------------------------------------------------


async def kill_ours(args: argparse.Namespace, server: Server, world: dict[str, Any]) -> dict[str, Any]:
    n = 3000
    bid = await start_broadcast(args, world, roles=["mentor"])  # the first 10,000: cut to 3,000 below
    from sqlalchemy import delete, select

    from backend.db import unit_of_work
    from backend.services.broadcasts.models import BroadcastRecipient
    from bot.main import make_runtime

    runtime = make_runtime(_settings(args))
    async with unit_of_work(runtime.sessionmaker) as s:
        keep = select(BroadcastRecipient.id).where(BroadcastRecipient.broadcast_id == bid).order_by(BroadcastRecipient.id).limit(n)
        await s.execute(delete(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == bid, BroadcastRecipient.id.not_in(keep)))
    await runtime.close()
    since = time.time()
    base = await server.count()
    proc = run_ours(args, server.url, rate=1000, share=1.0, senders=args.senders, lease=2)
    while await server.count() < base + n // 2:
        await asyncio.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    await asyncio.sleep(2.5)  # the lease runs out: the dead worker's claims come back
    result_of(run_ours(args, server.url, rate=1000, share=1.0, senders=args.senders, lease=2))
    times, chats = await server.calls(since=since)
    got = Counter(chats)
    st = await states(args, bid)
    return {"recipients": n, "duplicates": sum(1 for c in got.values() if c > 1), "uncertain": st.get("uncertain", 0),
            "received": len(got), "states": dict(st)}


async def kill_peer(python: Path, server: Server) -> dict[str, Any]:
    n = 3000
    storage = VAR / "peer-mailers.json"
    storage.unlink(missing_ok=True)
    since = time.time()
    base = await server.count()
    proc = run_peer(python, server.url, n, storage)
    while await server.count() < base + n // 2:
        await asyncio.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    result_of(run_peer(python, server.url, n, storage))
    times, chats = await server.calls(since=since)
    got = Counter(chats)
    return {"recipients": n, "duplicates": sum(1 for c in got.values() if c > 1), "received": len(got)}


# --- the run -----------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; database {args.database_url.split(':')[0]}, "
          f"pacer {'redis' if args.redis_url else 'memory'}", flush=True)
    server = Server()
    try:
        await server.wait()
        world = await seed(args, args.recipients)
        print(f"seeded {world['residents']} residents", flush=True)

        # (a) and (c): pacing off, 10,000 then 100,000.
        runs = {}
        for roles, label in ((["mentor"], "10k"), (["resident"], "100k")):
            bid = await start_broadcast(args, world, roles=roles)
            r = result_of(run_ours(args, server.url, no_pacing=True, senders=args.senders))
            st = await states(args, bid)
            runs[label] = r
            print(f"(a) ceiling {label}: {r['sent']} in {r['elapsed']:.1f} s = {r['sent'] / r['elapsed']:.0f}/s, "
                  f"peak RSS {r['peak_mb']:.0f} MB, states {dict(st)}", flush=True)
        ceiling = runs["100k"]["sent"] / runs["100k"]["elapsed"]
        peak = runs["100k"]["peak_mb"]
        print(f"(c) peak RSS: {runs['10k']['peak_mb']:.0f} MB at 10,000, {peak:.0f} MB at 100,000 "
              f"(x{peak / runs['10k']['peak_mb']:.2f})", flush=True)

        # (b) paced.
        ratios = []
        seconds = args.paced_seconds
        if seconds != 60:
            print(f"(b) paced runs shortened to {seconds} s (--paced-seconds)", flush=True)
        for limit, paid in ((30.0, False), (1000.0, True)):
            await start_broadcast(args, world, roles=["resident"], paid=paid)
            since = time.time()
            r = result_of(run_ours(args, server.url, rate=30.0, share=0.99, senders=args.senders, seconds=seconds))
            times, chats = await server.calls(since=since)
            f = paced_figures(times, chats, limit)
            ratios.append(f["ratio"])
            print(f"(b) paced {'paid ' if paid else ''}{limit:.0f}/s for {seconds} s: achieved {f['achieved_per_s']:.1f}/s "
                  f"= {f['ratio']:.3f} of the limit; busiest calendar second {f['max_calendar_second']}, busiest sliding "
                  f"second {f['max_sliding_second']} (limit {limit:.0f}); most to one chat in a second {f['max_per_chat_per_s']}; "
                  f"worker peak RSS {r['peak_mb']:.0f} MB", flush=True)

        # (d) the peer.
        python = ensure_peer_venv()
        version = subprocess.run([str(python), "-c", "import aiogram_broadcaster as a, aiogram; print(a.__version__, aiogram.__version__)"],
                                 capture_output=True, text=True).stdout.split()
        pr = result_of(run_peer(python, server.url, args.peer_recipients))
        peer_rate = pr["sent"] / pr["elapsed"]
        print(f"(d) peer aiogram-broadcaster {version[0]} (aiogram {version[1]}): {pr['sent']} in {pr['elapsed']:.1f} s = "
              f"{peer_rate:.0f}/s; ours/peer = {ceiling / peer_rate:.1f}", flush=True)
        ko = await kill_ours(args, server, world)
        kp = await kill_peer(python, server)
        print(f"(d) killed mid-way and restarted, 3,000 recipients: ours {ko['duplicates']} duplicated, {ko['uncertain']} "
              f"uncertain (reported, not resent), {ko['received']} received, states {ko['states']}; peer {kp['duplicates']} "
              f"duplicated, {kp['received']} received", flush=True)

        # (e) replies during a broadcast.
        rl = await reply_latency(args, server, world)
        print(f"(e) replies during a broadcast (default share): {rl['replies']} replies, p50 {rl['p50_ms']:.0f} ms, "
              f"p95 {rl['p95_ms']:.0f} ms; {rl['broadcast_msgs_meanwhile']} broadcast messages went out meanwhile", flush=True)
        print(f"RESULT ceiling_per_s={ceiling:.0f} paced_ratio={min(ratios):.3f} peak_mb={peak:.0f} "
              f"peer_ratio={ceiling / peer_rate:.1f} reply_p95_ms={rl['p95_ms']:.0f}", flush=True)
    finally:
        server.stop()


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--phase", choices=["main", "server", "ours", "peer"], default="main")
    p.add_argument("--database-url", default=f"sqlite+aiosqlite:///{VAR / 'broadcast.db'}")
    p.add_argument("--reset-postgres", action="store_true")
    p.add_argument("--redis-url", default=None)
    p.add_argument("--recipients", type=int, default=100_000)
    p.add_argument("--peer-recipients", type=int, default=20_000)
    p.add_argument("--paced-seconds", type=float, default=60.0)
    p.add_argument("--senders", type=int, default=64)
    # phases
    p.add_argument("--port", type=int)
    p.add_argument("--api")
    p.add_argument("--n", type=int, default=0)
    p.add_argument("--storage")
    p.add_argument("--rate", type=float, default=30.0)
    p.add_argument("--share", type=float, default=0.85)
    p.add_argument("--no-pacing", action="store_true")
    p.add_argument("--seconds", type=float, default=0.0)
    p.add_argument("--lease", type=float, default=30.0)
    p.add_argument("--worker", default=None)
    return p.parse_args()


if __name__ == "__main__":
    a = parse()
    if a.phase == "server":
        serve(a.port)
    elif a.phase == "ours":
        asyncio.run(ours(a))
    elif a.phase == "peer":
        asyncio.run(peer(a))
    else:
        asyncio.run(main(a))
