"""Updates in, each handled exactly once, each chat's one at a time.

Whether an update comes by webhook or by long polling, `Inbox.handle` returns only when its
handling has committed (or it was a duplicate, or it failed and that failure was recorded):
the webhook answers 200 only then, and long polling confirms an offset only then, so an update
whose handling did not commit is redelivered by Telegram and handled again, and one that
committed has no second effect (the transaction records it; see bot/middlewares.py).

Order within a chat, as guaranteed: a chat's updates are handled one at a time; an update is
handled after every update of its chat that was handled or queued before it arrived; updates
that wait together are handled lowest update_id first. (Two updates in flight to different
replicas at the same moment, with neither queued yet, may go in either order: nothing can
know about an update that has not arrived.)

How a chat is held:
- On the embedded default (SQLite: one process), an in-process queue per chat, ordered by
  update_id; each waiting request awaits its own turn. A crash kills the waiting requests with
  the process, so Telegram redelivers them all.
- On PostgreSQL (several replicas), the update's transaction takes the chat's advisory lock,
  which dies with the connection of a killed replica, so no chat stays blocked. An update that
  finds the chat held, or an earlier update of it waiting, is queued in `inbound_update` (one
  small commit) and its request waits; whichever waiting request gets the lock drains the
  chat's queue in update_id order, for every replica, so a dead drainer is replaced at once.
  A sweep picks up queues whose requests are all gone.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.types import Update

from backend.core.transport import service as transport
from backend.db import unit_of_work, utcnow
from backend.runtime import Runtime

log = logging.getLogger(__name__)

WAIT_LIMIT = 50.0  # seconds a request waits for its queued update before answering anyway (it stays queued)
POLL = 0.05  # how often a waiting request looks again (PostgreSQL)
STALE = timedelta(seconds=3)  # a queue older than this with nobody draining is swept


def chat_of(update: Update) -> int | None:
    """The chat an update belongs to (or, failing that, the person it comes from)."""
    event = update.event
    chat = getattr(event, "chat", None)
    if chat is not None:
        return chat.id
    if update.callback_query is not None:
        message = update.callback_query.message
        return message.chat.id if message is not None else update.callback_query.from_user.id
    sender = getattr(event, "from_user", None)
    return sender.id if sender is not None else None


@dataclass
class Delivery:
    """One update on its way through the Dispatcher, and what became of it."""

    account: int
    update_id: int
    chat: int | None
    queued: bool = False  # taken from the chat's queue (it is the lowest waiting)
    committed: bool = False
    duplicate: bool = False

    @classmethod
    def of(cls, bot: Bot, update: Update) -> Delivery:
        return cls(account=bot.id, update_id=update.update_id, chat=chat_of(update))


class Requeue(Exception):
    """The chat is held elsewhere, or an earlier update of it waits: this one queues."""

    def __init__(self, delivery: Delivery) -> None:
        super().__init__(f"update {delivery.update_id} of chat {delivery.chat} waits its turn")
        self.delivery = delivery


@dataclass
class _LocalChat:
    waiting: list[tuple[int, int, Update, asyncio.Future[None]]] = field(default_factory=list)
    draining: bool = False


class Inbox:
    def __init__(self, runtime: Runtime, dp: Dispatcher, bot: Bot) -> None:
        self.runtime = runtime
        self.dp = dp
        self.bot = bot
        self.shared = not runtime.settings.is_sqlite  # several replicas may share a chat
        self._chats: dict[int | None, _LocalChat] = {}
        self._order = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, update: Update) -> None:
        """Handle one update exactly once; returns when that is settled (see the module's note)."""
        chat = chat_of(update)
        if not self.shared:
            await self._local(update, chat)
            return
        delivery = Delivery(self.bot.id, update.update_id, chat)
        try:
            await self._feed(update, delivery)
        except Requeue:
            await self._queue(update, delivery)

    # --- one process: an ordered queue per chat in memory ------------------------------------------

    async def _local(self, update: Update, chat: int | None) -> None:
        slot = self._chats.setdefault(chat, _LocalChat())
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(slot.waiting, (update.update_id, next(self._order), update, done))
        if not slot.draining:
            slot.draining = True
            task = asyncio.create_task(self._drain_local(chat, slot))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await asyncio.shield(done)

    async def _drain_local(self, chat: int | None, slot: _LocalChat) -> None:
        try:
            while slot.waiting:
                _, _, update, done = heapq.heappop(slot.waiting)
                try:
                    await self._feed(update, Delivery(self.bot.id, update.update_id, chat, queued=True))
                except BaseException as exc:  # noqa: BLE001 - handed to the request that waits for it
                    if not done.done():
                        done.set_exception(exc)
                    continue
                if not done.done():
                    done.set_result(None)
        finally:
            slot.draining = False
            if not slot.waiting and self._chats.get(chat) is slot:
                del self._chats[chat]

    # --- several replicas: the chat's advisory lock, and a queue in the database ---------------------

    async def _queue(self, update: Update, delivery: Delivery) -> None:
        self.runtime.metrics.queued.inc()
        async with unit_of_work(self.runtime.sessionmaker) as s:
            await transport.enqueue(
                s, account=delivery.account, update_id=delivery.update_id, chat=delivery.chat,
                payload=update.model_dump(mode="json", exclude_none=True, by_alias=True),
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_LIMIT
        while loop.time() < deadline:
            await self.drain(delivery.account, delivery.chat)
            async with self.runtime.sessionmaker() as s:
                if await transport.is_handled(s, account=delivery.account, update_id=delivery.update_id):
                    return
            await asyncio.sleep(POLL)
        log.warning("update %s still waits after %.0f s; it stays queued", delivery.update_id, WAIT_LIMIT)

    async def drain(self, account: int, chat: int | None) -> int:
        """Handle the chat's waiting updates in order, while this replica can hold the chat;
        returns how many it handled."""
        handled = 0
        while True:
            async with self.runtime.sessionmaker() as s:
                row = await transport.next_waiting(s, account=account, chat=chat)
                payload = dict(row.payload) if row is not None and row.payload is not None else None
            if payload is None:
                return handled
            update = Update.model_validate(payload, context={"bot": self.bot})
            try:
                await self._feed(update, Delivery(account, update.update_id, chat, queued=True))
            except Requeue:
                return handled  # another replica holds the chat and drains it
            handled += 1

    async def sweep(self) -> int:
        """Drain queues that have waited too long: their requests are gone (a dead replica)."""
        async with self.runtime.sessionmaker() as s:
            chats = await transport.waiting_chats(s, older_than=utcnow() - STALE)
        return sum([await self.drain(account, chat) for account, chat in chats if account == self.bot.id])

    # --- both -----------------------------------------------------------------------------------

    async def _feed(self, update: Update, delivery: Delivery) -> None:
        try:
            await self.dp.feed_update(self.bot, update, delivery=delivery)
        except Requeue:
            raise
        except Exception:
            # The error handler answers every failure; reaching here means even that failed
            # (Telegram unreachable, say). Logged with the update, then recorded as below.
            log.exception("update %s could not be handled", delivery.update_id)
        if delivery.committed or delivery.duplicate:
            return
        # The handler failed and its transaction rolled back; the person was told (the error
        # handler) and the failure is final: record it, so a redelivery does not run it again.
        async with unit_of_work(self.runtime.sessionmaker) as s:
            await transport.finish(s, account=delivery.account, update_id=delivery.update_id, chat=delivery.chat, outcome="failed")

    async def close(self) -> None:
        """Let the chats being handled finish (graceful shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
