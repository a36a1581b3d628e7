"""Nothing lost, nothing twice, with a real process killed mid-way.

The real `glocal serve` runs as a subprocess in webhook mode against a stand-in Bot API, on the
suite's database (SQLite, or PostgreSQL + Redis in the second run). Residents file problem
reports concurrently through the real webhook, as Telegram delivers updates: a delivery that
gets no 200 is delivered again. The process is killed with SIGKILL at two points while they
do, and once more at the moment the Bot API receives one of the receipts; each time it is
started again. Afterwards every resident has exactly one report and one receipt, and the
registration numbers are unique and have no gaps; the only receipt that may come twice is one
that Telegram had taken when a kill struck before the app recorded it sent (one per sender in
flight at that moment), and the app marks that batch uncertain.

The receipt in flight at the third kill is modelled as cut off before Telegram read it (the
stand-in drops it); the batch that carried it is found marked uncertain, which is what the
app reports: had Telegram read it, that one resident would see the receipt twice, the only
duplicate the design allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from backend.core.transport.models import InboundUpdate
from backend.core.users.models import User
from backend.services.appeals.models import Appeal
from backend.services.appeals.rules import parse_reg_number
from backend.settings import ROOT, Settings
from tests import updates as U
from tests.botapi import FakeBotAPI
from tests.conftest import BOT_TOKEN
from tests.factories import make_town, seed
from tests.services.appeals.factories import appeals_settings, make_category

RESIDENTS = 30
RECEIPT = re.compile(r"registered\.\n\nRegistration number: (KLM-\d{4}-\d{6})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """`glocal serve` as a child process that can be killed and started again."""

    def __init__(self, settings: Settings, api_url: str, log: Path, **extra: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith("GLOCAL_")
        } | {
            "DATABASE_URL": settings.DATABASE_URL,
            "REDIS_URL": settings.REDIS_URL or "",
            "BOT_TOKEN": BOT_TOKEN,
            "PUBLIC_URL": "https://glocal.test",
            "TELEGRAM_API_URL": api_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATA_DIR": str(settings.DATA_DIR),
            "DEMO": "false",
            "SCHEDULER": "true",
            "LOG_JSON": "true",
            "THROTTLE_RATE": "100000",
            "REPLY_LEASE": "2",
            **extra,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as fh:
            fh.write(f"\n=== start {self.starts}\n".encode())
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.main", "serve"], cwd=ROOT, env=self.env,
                                         stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        # A wait for the app, not a timing assertion: on a loaded machine imports alone take a minute.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 180
        async with httpx.AsyncClient() as c:
            while loop.time() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"the app exited with {self.proc.returncode}; see {self.log}")
                try:
                    r = await c.get(f"{self.url}/readyz", timeout=1)
                    if r.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        self.kill()  # leave no app behind holding the test database
        raise AssertionError(f"the app did not get ready; see {self.log}")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


class Telegram:
    """Delivers updates to the app as Telegram does: again and again until the answer is 200."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.secret = None
        self.delivered = 0  # updates that got their 200
        self.up = asyncio.Event()
        self.up.set()

    async def deliver(self, client: httpx.AsyncClient, update: dict[str, Any], secret: str) -> None:
        while True:
            await self.up.wait()
            try:
                r = await client.post(f"{self.app.url}/telegram/webhook", json=update, timeout=30,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": secret})
                if r.status_code == 200:
                    self.delivered += 1
                    return
                assert r.status_code >= 500, r.text  # a 4xx would be a bug of the test or the app
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)


def _resident_updates(telegram_id: int, category_id: int) -> list[dict[str, Any]]:
    tg = U.tg_user(telegram_id, "Resident", language_code="en")

    def step(s: str, a: str) -> dict[str, Any]:
        return U.callback(tg, f"astep:{s}:{a}")

    return [
        U.message(tg, "/start kolomna"),
        U.message(tg, "/appeal"),
        U.callback(tg, "akind:report"),
        U.callback(tg, f"acat:{category_id}"),
        U.message(tg, f"The street light at house {telegram_id % 1000} is broken."),
        step("text", "done"),
        step("files", "skip"),
        U.message(tg, f"Mira street {telegram_id % 1000}"),
        step("consent", "skip"),
        step("sum", "submit"),
    ]


async def test_killed_mid_way_loses_nothing_and_repeats_nothing(runtime, settings, tmp_path):
    async def world(s):  # noqa: ANN001, ANN202
        town = await make_town(s, slug="kolomna", name="Kolomna", settings=appeals_settings(reg_prefix="KLM"))
        return (await make_category(s, town)).id

    category_id = await seed(runtime, world)
    api = FakeBotAPI()
    app = App(settings, await api.start(), tmp_path / "app.log")
    telegram = Telegram(app)
    receipts_seen = 0
    killed_on_receipt: list[str] = []
    restart: asyncio.Task[None] | None = None

    async def crash_and_restart() -> None:
        telegram.up.clear()
        app.kill()
        await asyncio.sleep(0.3)
        await app.start()
        telegram.up.set()

    def before(method: str, params: dict[str, Any]) -> bool:
        # The 10th receipt: the app dies while sending it, before Telegram read it.
        nonlocal receipts_seen, restart
        if method != "sendMessage" or not RECEIPT.search(params.get("text", "")):
            return False
        receipts_seen += 1
        if receipts_seen == 10 and not killed_on_receipt:
            killed_on_receipt.append(RECEIPT.search(params["text"]).group(1))
            restart = asyncio.get_running_loop().create_task(crash_and_restart())
            return True
        return False

    api.before = before
    secret = settings.webhook_secret
    ids = [7_000_000 + n for n in range(RESIDENTS)]
    total = len(ids) * len(_resident_updates(0, category_id))
    await app.start()
    try:
        async with httpx.AsyncClient() as client:

            async def resident(telegram_id: int) -> None:
                for update in _resident_updates(telegram_id, category_id):
                    await telegram.deliver(client, update, secret)

            async def killer() -> None:
                for share in (0.25, 0.55):
                    while telegram.delivered < share * total:
                        await asyncio.sleep(0.005)
                    await crash_and_restart()

            await asyncio.wait_for(asyncio.gather(killer(), *(resident(i) for i in ids)), timeout=240)
            if restart is not None:
                await restart

            def receipts() -> Counter[int]:
                return Counter(int(p["chat_id"]) for m, p in api.calls if m == "sendMessage" and RECEIPT.search(p.get("text", "")))

            for _ in range(400):  # a batch whose sender died is resent once its lease (2 s) runs out
                if len(receipts()) == RESIDENTS:
                    break
                await asyncio.sleep(0.05)
    finally:
        if restart is not None and not restart.done():  # a restart half-way would outlive the test
            restart.cancel()
            with contextlib.suppress(BaseException):
                await restart
        app.stop()
        await api.stop()

    assert app.starts == 4, "two kills at random points and one at a receipt, each followed by a start"
    assert killed_on_receipt
    async with runtime.sessionmaker() as s:
        rows = (await s.execute(select(User.telegram_id, Appeal.reg_number).join(Appeal, Appeal.author_id == User.id))).all()
        waiting = await s.scalar(select(func.count()).select_from(InboundUpdate).where(InboundUpdate.handled_at.is_(None)))
        uncertain = list(await s.scalars(select(InboundUpdate).where(InboundUpdate.replies_uncertain.is_(True))))
        unsent = await s.scalar(select(func.count()).select_from(InboundUpdate).where(InboundUpdate.replies_due_at.is_not(None)))
    per_resident = Counter(t for t, _ in rows)
    assert sorted(per_resident) == ids and set(per_resident.values()) == {1}, "one report per resident"
    numbers = sorted(parse_reg_number(n).seq for _, n in rows)
    assert numbers == list(range(1, RESIDENTS + 1)), "numbers unique and gap-free"
    by_chat = receipts()
    assert sorted(by_chat) == ids, "a receipt for everyone"
    # Exactly one each, but for a receipt Telegram had taken when a kill came before the app
    # could record it sent (one per sender in flight at that moment): that batch is resent,
    # and marked uncertain. The receipt kill's own receipt was dropped before Telegram read it.
    uncertain_chats = {b.chat for b in uncertain}
    twice = {chat for chat, n in by_chat.items() if n > 1}
    assert all(by_chat[c] == 2 for c in twice) and twice <= uncertain_chats, f"receipts: {by_chat}; uncertain: {uncertain_chats}"
    number_of = {t: n for t, n in rows}
    for chat in ids:  # the receipt names the resident's own number
        texts = [p["text"] for m, p in api.calls if m == "sendMessage" and int(p["chat_id"]) == chat and RECEIPT.search(p["text"])]
        assert RECEIPT.search(texts[0]).group(1) == number_of[chat]
    assert waiting == 0 and unsent == 0
    # The batch whose receipt was in flight was resent and reported as uncertain.
    assert any(killed_on_receipt[0] in str(b.replies) for b in uncertain)


async def test_sigterm_finishes_the_update_in_flight_and_exits_0(runtime, settings, tmp_path):
    """SIGTERM (docker stop, systemd) while an update is being answered: the answer still goes
    out, the request gets its 200, the process shuts down in order and exits with 0."""
    api = FakeBotAPI()
    api.delays = {"sendMessage": 1.5}
    app = App(settings, await api.start(), tmp_path / "app.log")
    await app.start()
    try:
        async with httpx.AsyncClient() as client:
            arrived = asyncio.Event()
            api.before = lambda method, params: method == "sendMessage" and arrived.set()  # never drops
            post = asyncio.create_task(client.post(
                f"{app.url}/telegram/webhook", json=U.message(U.tg_user(7_100_001), "/help"), timeout=30,
                headers={"X-Telegram-Bot-Api-Secret-Token": settings.webhook_secret},
            ))
            await asyncio.wait_for(arrived.wait(), timeout=20)  # the reply is on its way (it takes 1.5 s)
            app.proc.send_signal(signal.SIGTERM)
            r = await post
        code = await asyncio.to_thread(app.proc.wait, 40)
    finally:
        app.stop()
        await api.stop()
    assert r.status_code == 200
    assert [p["chat_id"] for m, p in api.calls if m == "sendMessage"] == ["7100001"]
    assert code == 0
    assert b"stopped" in (tmp_path / "app.log").read_bytes()
