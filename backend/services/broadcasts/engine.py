"""The delivery engine: workers that send running broadcasts within Telegram's limits, and
never twice.

Every recipient is a row. A worker claims a batch of pending rows under a lease
(`claimed_by`, `lease_until`; FOR UPDATE SKIP LOCKED on PostgreSQL, so workers of several
replicas take different rows; a dead worker's claims come back when the lease runs out).
Each of its senders then takes one row at a time:

1. a slot from the pacer (the bot's whole budget, which replies also charge; the share of it
   broadcasts may take; the chat's own 1 a second, or 20 a minute for a group; a paid
   broadcast's own 1,000 a second instead of the first two);
2. the row marked `sending`, committed;
3. the call to Telegram;
4. the outcome (sent with the message's id, blocked on 403, retried later on other errors,
   back to pending on 429 after pausing the whole bot for retry_after), recorded.

Commits are grouped: every sender's marks and outcomes that are ready go in one
transaction, and a sender never starts a call before the commit that holds its `sending`
mark and its previous outcome. So the only rows a crash can leave unknown are the ones whose
call was in flight, at most one per sender: on restart a `sending` row whose lease ran out
becomes `uncertain`, is reported, and is never sent again blindly.

Fair shares: a worker serves the running broadcasts of different towns in turn (round
robin), so a town's 50,000-recipient broadcast does not hold back another town's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.files.models import StoredFile
from backend.core.municipalities.models import Municipality
from backend.core.notifications.pacing import Pacer, Rate
from backend.core.notifications.port import Attachment, Poster, Recipient, RetryLater, Unreachable
from backend.core.users.models import User
from backend.db import unit_of_work, utcnow
from backend.services.broadcasts import queries
from backend.services.broadcasts.models import Broadcast, BroadcastRecipient
from backend.services.broadcasts.notices import Post
from backend.services.broadcasts.rules import MAX_ATTEMPTS, State, Status, backoff_seconds, chat_rate
from backend.services.broadcasts.settings import settings_of

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Now = Callable[[], datetime]


@dataclass(frozen=True)
class EngineConfig:
    bot_rate: float = 30.0  # Telegram's limit per bot, messages a second
    share: float = 0.85  # of the bot's budget broadcasts may take: the rest is the replies'
    paid_margin: float = 0.98  # of a paid broadcast's rate aimed at, so no second goes over it
    senders: int = 32  # calls in flight per worker
    batch: int = 500  # rows claimed at once, at most
    lease: float = 30.0  # seconds a claim holds without being renewed
    pacing: bool = True  # off only to measure the engine's ceiling against a test server
    idle_poll: float = 0.5  # seconds between looks for work while rows wait for a retry


@dataclass
class Item:
    id: int
    broadcast_id: int
    user_id: int
    chat_id: int
    attempts: int
    locale: str


@dataclass
class _Job:
    """What a worker keeps of one running broadcast."""

    id: int
    town_id: int
    notice: Post
    photo: Attachment | None
    paid: bool
    paid_rate: int
    queue: deque[Item] = field(default_factory=deque)
    in_flight: int = 0
    exhausted: bool = False  # the last claim found nothing due


@dataclass
class Summary:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retried: int = 0
    muted: int = 0
    paused: int = 0  # 429s answered
    recovered_uncertain: int = 0


def worker_name() -> str:
    return f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _Recorder:
    """Group commit: marks and outcomes of every sender, written together."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], worker: str, lease: Callable[[], datetime]) -> None:
        self.sessionmaker = sessionmaker
        self.worker = worker
        self.lease = lease
        self._ops: list[dict[str, Any]] = []
        self._blocked_users: list[int] = []
        self._sending: list[tuple[int, asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None

    def outcome(self, op: dict[str, Any], *, blocked_user: int | None = None) -> None:
        """Record a row's outcome with the next commit (the caller does not wait)."""
        self._ops.append(op)
        if blocked_user is not None:
            self._blocked_users.append(blocked_user)
        self._kick()

    async def sending(self, row_id: int) -> bool:
        """Mark a row `sending` and wait for the commit; False when the row is no longer ours."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._sending.append((row_id, fut))
        self._kick()
        return await fut

    async def flush(self) -> None:
        while self._task is not None:
            await asyncio.shield(self._task)

    def _kick(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            while self._ops or self._sending or self._blocked_users:
                ops, self._ops = self._ops, []
                blocked, self._blocked_users = self._blocked_users, []
                sending, self._sending = self._sending, []
                for attempt in range(5):
                    try:
                        marked = await self._write(ops, blocked, [i for i, _ in sending])
                        break
                    except Exception as exc:  # noqa: BLE001 - the database hiccuped: the writes are idempotent
                        if attempt == 4:
                            for _, fut in sending:
                                if not fut.done():
                                    fut.set_exception(exc)
                            raise
                        log.warning("broadcast bookkeeping failed (%s), retrying", exc)
                        await asyncio.sleep(0.2 * (attempt + 1))
                for row_id, fut in sending:
                    if not fut.done():
                        fut.set_result(row_id in marked)
        finally:
            self._task = None

    async def _write(self, ops: list[dict[str, Any]], blocked: list[int], sending: list[int]) -> set[int]:
        async with unit_of_work(self.sessionmaker) as s:
            # Core executemany, one statement per kind of outcome: the ORM's bulk update by
            # primary key costs more than the whole call to Telegram.
            by_kind: dict[str, list[dict[str, Any]]] = {}
            for op in ops:
                by_kind.setdefault(op["kind"], []).append(op)
            for kind, rows in by_kind.items():
                await s.execute(_OUTCOMES[kind], rows)
            if blocked:
                await s.execute(update(User.__table__).where(User.__table__.c.id.in_(blocked)).values(bot_blocked=True))
            marked: set[int] = set()
            if sending:
                t = RT
                result = await s.execute(
                    update(t)
                    .where(t.c.id.in_(sending), t.c.claimed_by == self.worker, t.c.state == State.PENDING.value)
                    .values(state=State.SENDING.value, lease_until=self.lease())
                    .returning(t.c.id)
                )
                marked = set(result.scalars())
        return marked


RT = BroadcastRecipient.__table__
_ROW = RT.c.id == bindparam("rid")
# Every outcome a sender records, as one UPDATE by id (executemany); `kind` picks the statement.
_OUTCOMES = {
    "sent": update(RT).where(_ROW).values(
        state=State.SENT.value, sent_at=bindparam("at"), message_id=bindparam("mid"), lease_until=None, error=None),
    "blocked": update(RT).where(_ROW).values(state=State.BLOCKED.value, error=bindparam("err"), lease_until=None),
    "failed": update(RT).where(_ROW).values(
        state=State.FAILED.value, attempts=bindparam("att"), error=bindparam("err"), lease_until=None),
    "retry": update(RT).where(_ROW).values(
        state=State.PENDING.value, attempts=bindparam("att"), error=bindparam("err"), next_attempt_at=bindparam("at"),
        claimed_by=None, lease_until=None),
    "again": update(RT).where(_ROW).values(state=State.PENDING.value),  # a 429: still ours, it goes first after the pause
    "release": update(RT).where(_ROW, RT.c.state == State.PENDING.value).values(claimed_by=None, lease_until=None),
    "muted": update(RT).where(_ROW).values(state=State.MUTED.value, lease_until=None),
}


class Engine:
    """One worker: claims, paces, sends, records. Several may run (in one process or many)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        channel: Poster,
        pacer: Pacer,
        *,
        files_root: Path,
        default_locale: str = "ru",
        config: EngineConfig | None = None,
        worker: str | None = None,
        sleep: Sleep = asyncio.sleep,
        now: Now = utcnow,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.channel = channel
        self.pacer = pacer
        self.files_root = files_root
        self.default_locale = default_locale
        self.config = config or EngineConfig()
        self.worker = worker or worker_name()
        self.sleep = sleep
        self.now = now
        self.summary = Summary()
        self._jobs: dict[int, _Job] = {}
        self._turn: deque[int] = deque()  # towns in round-robin order
        self._gate = asyncio.Lock()  # one reservation at a time: senders take slots in turn
        self._has_items = asyncio.Event()
        self._need_items = asyncio.Event()
        self._finished = False
        self._recorder = _Recorder(sessionmaker, self.worker, self._lease_until)
        self._last_upkeep = float("-inf")

    def _lease_until(self) -> datetime:
        return self.now() + timedelta(seconds=self.config.lease)

    # --- the loop ------------------------------------------------------------------------------

    async def run(self, *, stop: asyncio.Event | None = None) -> Summary:
        """Deliver until no running broadcast has anything left for this worker (or `stop`)."""
        stop = stop or asyncio.Event()
        await self.recover()
        self._finished = False
        feeder = asyncio.create_task(self._feeder(stop))
        senders = [asyncio.create_task(self._sender(stop)) for _ in range(self.config.senders)]
        try:
            await asyncio.gather(*senders)
        finally:
            for t in senders:
                t.cancel()
            self._finished = True
            self._need_items.set()
            feeder.cancel()
            await asyncio.gather(feeder, return_exceptions=True)
            await self._release_all()
            await self._recorder.flush()
        return self.summary

    async def recover(self) -> int:
        """Rows left `sending` by a worker whose lease ran out: `uncertain`, never repeated."""
        R = BroadcastRecipient
        async with unit_of_work(self.sessionmaker) as s:
            result = await s.execute(
                update(R)
                .where(R.state == State.SENDING.value, R.lease_until < self.now())
                .values(state=State.UNCERTAIN.value, error="in flight when its worker stopped: maybe delivered, not repeated")
                .execution_options(synchronize_session=False)
            )
        n = result.rowcount or 0
        if n:
            log.warning("broadcasts: %s recipient(s) uncertain (their worker died with the message in flight)", n)
            self.summary.recovered_uncertain += n
        return n

    async def _sender(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            item = await self._take(stop)
            if item is None:
                return
            job = self._jobs[item.broadcast_id]
            job.in_flight += 1
            try:
                recipient = Recipient(
                    user_id=item.user_id, locale=item.locale, addresses={"telegram": str(item.chat_id)},
                    municipality_id=job.town_id,
                )
                if self.config.pacing:
                    await self._acquire(self._rates(job, recipient, item.chat_id))
                if not await self._recorder.sending(item.id):
                    continue  # the lease ran out and another worker has it now
                await self._send(job, item, recipient)
            finally:
                job.in_flight -= 1

    def _rates(self, job: _Job, recipient: Recipient, chat_id: int) -> list[Rate]:
        account = self.channel.account_of(recipient)
        chat = Rate(f"{account}:chat:{chat_id}", chat_rate(chat_id))
        if job.paid:
            # A paid broadcast has its own budget; the bot's key is still consulted for a pause
            # (429), with a tolerance no ordinary traffic reaches.
            return [Rate(f"{account}:paid", job.paid_rate * self.config.paid_margin), Rate(account, 1e9, burst=10**9), chat]
        bot = self.config.bot_rate
        return [Rate(account, bot, burst=max(1, int(bot))), Rate(f"{account}:bulk", bot * self.config.share), chat]

    async def _acquire(self, rates: list[Rate]) -> None:
        async with self._gate:
            while True:
                wait = await self.pacer.reserve(rates)
                if wait <= 0:
                    return
                await self.sleep(wait)

    async def _send(self, job: _Job, item: Item, recipient: Recipient) -> None:
        try:
            message_id = await self.channel.post(recipient=recipient, notice=job.notice, photo=job.photo, paid=job.paid)
        except RetryLater as exc:
            await self.pacer.pause(exc.account, exc.seconds)
            self.summary.paused += 1
            log.warning("broadcast %s: Telegram asked to wait %ss; every sender of %s pauses", job.id, exc.seconds, exc.account)
            self._recorder.outcome({"kind": "again", "rid": item.id})
            job.queue.appendleft(item)  # still ours: it goes first once the pause is over
            self._has_items.set()
            return
        except Unreachable as exc:
            self.summary.blocked += 1
            self._recorder.outcome({"kind": "blocked", "rid": item.id, "err": str(exc)[:300]}, blocked_user=item.user_id)
            return
        except Exception as exc:  # noqa: BLE001 - refused: retried with backoff, then failed
            attempts = item.attempts + 1
            error = f"{type(exc).__name__}: {exc}"[:300]
            if attempts >= MAX_ATTEMPTS:
                self.summary.failed += 1
                self._recorder.outcome({"kind": "failed", "rid": item.id, "att": attempts, "err": error})
            else:
                self.summary.retried += 1
                self._recorder.outcome({
                    "kind": "retry", "rid": item.id, "att": attempts, "err": error,
                    "at": self.now() + timedelta(seconds=backoff_seconds(attempts)),
                })
            return
        self.summary.sent += 1
        mid = int(message_id) if str(message_id).isdigit() else None
        self._recorder.outcome({"kind": "sent", "rid": item.id, "at": self.now(), "mid": mid})

    # --- work in hand ----------------------------------------------------------------------------

    def _buffered(self) -> int:
        return sum(len(j.queue) for j in self._jobs.values())

    def _pop(self) -> Item | None:
        """The next row, towns in turn, and a town's broadcasts in turn."""
        for _ in range(len(self._turn)):
            town = self._turn[0]
            self._turn.rotate(-1)
            jobs = [j for j in self._jobs.values() if j.town_id == town and j.queue]
            if jobs:
                job = min(jobs, key=lambda j: j.in_flight)
                return job.queue.popleft()
        return None

    async def _take(self, stop: asyncio.Event) -> Item | None:
        while not stop.is_set():
            item = self._pop()
            if self._buffered() < self._low_water():
                self._need_items.set()
            if item is not None:
                return item
            if self._finished:
                return None
            self._has_items.clear()
            stopper = asyncio.ensure_future(stop.wait())
            waiter = asyncio.ensure_future(self._has_items.wait())
            await asyncio.wait({stopper, waiter}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            waiter.cancel()
        return None

    def _low_water(self) -> int:
        return self.config.senders * 2

    def _claim_size(self, job: _Job) -> int:
        if not self.config.pacing:
            return self.config.batch
        rate = job.paid_rate if job.paid else self.config.bot_rate * self.config.share
        # Seconds' worth of work, not a hoard: another worker (or town) takes the rest.
        return max(10, min(self.config.batch, int(rate * 3)))

    async def _feeder(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                await self._upkeep()
                running = await self._refresh()
                claimed = 0
                for job in list(self._jobs.values()):
                    if len(job.queue) < self._claim_size(job) // 2 + self.config.senders:
                        got = await self._claim(job)
                        claimed += got
                        job.exhausted = got == 0
                if claimed:
                    self._has_items.set()
                idle = not self._buffered() and all(j.in_flight == 0 for j in self._jobs.values())
                if idle and not claimed:
                    await self._finish_done()
                    if not running or not await self._work_remains():
                        self._finished = True
                        self._has_items.set()
                        return
                    await self.sleep(self.config.idle_poll)
                    continue
                self._need_items.clear()
                try:
                    await asyncio.wait_for(self._need_items.wait(), timeout=min(1.0, self.config.lease / 3))
                except TimeoutError:
                    pass
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("broadcast feeder failed")
            self._finished = True
            self._has_items.set()
            raise

    async def _refresh(self) -> list[int]:
        """Running broadcasts now: new ones joined, paused or cancelled ones let go."""
        async with unit_of_work(self.sessionmaker) as s:
            rows = list(await s.execute(
                select(Broadcast.id, Broadcast.municipality_id).where(Broadcast.status == Status.RUNNING.value).order_by(Broadcast.id)
            ))
            running = {bid for bid, _ in rows}
            for bid in [b for b in self._jobs if b not in running]:
                job = self._jobs.pop(bid)
                for item in job.queue:
                    self._recorder.outcome({"kind": "release", "rid": item.id})
                job.queue.clear()
            for bid, town_id in rows:
                if bid not in self._jobs:
                    self._jobs[bid] = await self._load(s, bid)
        towns = {j.town_id for j in self._jobs.values()}
        self._turn = deque([t for t in self._turn if t in towns] + sorted(towns - set(self._turn)))
        return sorted(running)

    async def _load(self, s: AsyncSession, broadcast_id: int) -> _Job:
        b = await s.get(Broadcast, broadcast_id)
        assert b is not None
        town = await s.get(Municipality, b.municipality_id)
        photo = None
        if b.photo_id is not None:
            stored = await s.get(StoredFile, b.photo_id)
            if stored is not None:
                photo = Attachment(stored.filename, stored.mime, (self.files_root / stored.storage_key).read_bytes())
        notice = Post(broadcast_id=b.id, municipality_id=b.municipality_id, category=b.category, html=b.text, buttons=b.buttons or [])
        paid_rate = settings_of(town).paid_rate if town is not None else 1
        return _Job(id=b.id, town_id=b.municipality_id, notice=notice, photo=photo, paid=b.paid, paid_rate=paid_rate)

    async def _claim(self, job: _Job) -> int:
        """Claim due rows of one broadcast; the muted and the blocked are settled at once."""
        t = RT
        now = self.now()
        n = self._claim_size(job)
        async with unit_of_work(self.sessionmaker) as s:
            due = (
                select(t.c.id)
                .where(
                    t.c.broadcast_id == job.id, t.c.state == State.PENDING.value,
                    or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now),
                    or_(t.c.lease_until.is_(None), t.c.lease_until < now),
                )
                .order_by(t.c.id).limit(n).with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            claimed = list(await s.execute(
                update(t)
                .where(t.c.id.in_(due), t.c.state == State.PENDING.value, or_(t.c.lease_until.is_(None), t.c.lease_until < now))
                .values(claimed_by=self.worker, lease_until=now + timedelta(seconds=self.config.lease))
                .returning(t.c.id, t.c.user_id, t.c.chat_id, t.c.attempts)
            ))
            if not claimed:
                return 0
            people = {
                uid: (blocked, locale, tg, muted)
                for uid, blocked, locale, tg, muted in await s.execute(
                    select(User.id, User.bot_blocked, User.locale, User.telegram_id,
                           queries.muted_clause(User.id, job.town_id, job.notice.category))
                    .where(User.id.in_([row.user_id for row in claimed]))
                )
            }
            muted: list[dict[str, Any]] = []
            blocked: list[dict[str, Any]] = []
            items: list[Item] = []
            for row in sorted(claimed, key=lambda r: r.id):
                is_blocked, locale, tg, is_muted = people.get(row.user_id, (True, None, None, False))
                if is_muted:
                    muted.append({"rid": row.id})
                elif is_blocked or tg is None:
                    blocked.append({"rid": row.id, "err": "unreachable before sending"})
                else:
                    items.append(Item(row.id, job.id, row.user_id, int(tg), row.attempts, locale or self.default_locale))
            if muted:
                await s.execute(_OUTCOMES["muted"], muted)
            if blocked:
                await s.execute(_OUTCOMES["blocked"], blocked)
            self.summary.muted += len(muted)
            self.summary.blocked += len(blocked)
        job.queue.extend(items)
        return len(claimed)

    async def _upkeep(self) -> None:
        """Renew this worker's leases; turn rows other workers left in flight uncertain."""
        t = time.monotonic()
        if t - self._last_upkeep < self.config.lease / 3:
            return
        self._last_upkeep = t
        R = BroadcastRecipient
        async with unit_of_work(self.sessionmaker) as s:
            await s.execute(
                update(R)
                .where(R.claimed_by == self.worker, R.state.in_([State.PENDING.value, State.SENDING.value]), R.lease_until.is_not(None))
                .values(lease_until=self._lease_until())
                .execution_options(synchronize_session=False)
            )
        await self.recover()

    async def _work_remains(self) -> bool:
        """Rows of running broadcasts that are not final (waiting for a retry, or another worker's)."""
        R = BroadcastRecipient
        async with unit_of_work(self.sessionmaker) as s:
            n = await s.scalar(
                select(func.count()).select_from(R).join(Broadcast, Broadcast.id == R.broadcast_id)
                .where(Broadcast.status == Status.RUNNING.value, R.state.in_([State.PENDING.value, State.SENDING.value]))
            )
        return bool(n)

    async def _finish_done(self) -> None:
        """Running broadcasts with every recipient final become done."""
        R = BroadcastRecipient
        await self._recorder.flush()
        async with unit_of_work(self.sessionmaker) as s:
            open_rows = select(R.id).where(
                R.broadcast_id == Broadcast.id, R.state.in_([State.PENDING.value, State.SENDING.value])
            ).exists()
            await s.execute(
                update(Broadcast)
                .where(Broadcast.status == Status.RUNNING.value, ~open_rows)
                .values(status=Status.DONE.value, finished_at=self.now())
                .execution_options(synchronize_session=False)
            )

    async def _release_all(self) -> None:
        """Give back the claims not started (stopping, or done with a paused broadcast)."""
        for job in self._jobs.values():
            for item in job.queue:
                self._recorder.outcome({"kind": "release", "rid": item.id})
            job.queue.clear()


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession], channel: Poster, pacer: Pacer, *, files_root: Path,
    default_locale: str = "ru", config: EngineConfig | None = None, **kw: Any,
) -> Summary:
    """Run one worker until the running broadcasts have nothing left for it."""
    engine = Engine(sessionmaker, channel, pacer, files_root=files_root, default_locale=default_locale, config=config, **kw)
    return await engine.run()


__all__ = ["Engine", "EngineConfig", "Summary", "deliver"]
