"""Replies leave only after the commit that makes them true.

While an update is handled, the bot's session does not send what the handlers ask for: every
call that changes what a person sees (sendMessage, editMessage…, answerCallbackQuery,
setMyCommands, …) is captured, and the handler gets a placeholder result. The update's
transaction stores the captured calls with its "handled" mark (`InboundUpdate.replies`); after
commit they are sent in order and recorded as sent. Reads (getFile, getMe, …) and downloads go
through at once. A crash between commit and send leaves the replies for whoever finds their
lease expired (`resend_due`), so no reply is lost; the call that may have been in flight when
a sender died is sent again and reported as uncertain, the only duplicate the design allows.

Handlers therefore must not rely on a call's result (a sent message's id, say): they get a
placeholder. None does today.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncGenerator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiogram.methods as methods
from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import BufferedInputFile, Chat, InputFile, Message, MessageId
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.notifications.pacing import Pacer, Rate
from backend.core.transport import service as transport
from backend.db import unit_of_work, utcnow
from backend.metrics import Metrics

log = logging.getLogger(__name__)

# Calls that show a person something new: after one of them the batch's progress is saved, so
# a resend after a crash never repeats it (edits and callback answers are harmless to repeat).
VISIBLE = frozenset({
    "SendMessage", "SendDocument", "SendPhoto", "SendVoice", "SendAudio", "SendVideo", "SendLocation", "SendVenue",
    "SendContact", "SendPoll", "SendMediaGroup", "SendAnimation", "SendSticker", "ForwardMessage", "CopyMessage",
})


DEFAULT_MARK = "__bot_default__"


@dataclass
class Capture:
    """The calls one update's handlers made, in order."""

    calls: list[TelegramMethod[Any]] = field(default_factory=list)


current: ContextVar[Capture | None] = ContextVar("glocal_reply_capture", default=None)


def _passes_through(method: TelegramMethod[Any]) -> bool:
    """Reads go out at once: they change nothing a person sees, and handlers need their answers."""
    return type(method).__name__.startswith("Get")


def placeholder(method: TelegramMethod[Any]) -> Any:
    """What a captured call returns to the handler (see the module's note)."""
    returning = method.__returning__
    if returning is bool:
        return True
    if returning is MessageId:
        return MessageId(message_id=0)
    chat_id = getattr(method, "chat_id", None)
    if returning is Message or "Message" in str(returning):
        if "list" in str(returning).lower():
            return []
        chat = Chat(id=chat_id if isinstance(chat_id, int) else 0, type="private")
        return Message(message_id=0, date=datetime.now(UTC), chat=chat, text=getattr(method, "text", None))
    return True


class CapturingSession(BaseSession):
    """The bot's session: captures effects while an update is handled, sends them otherwise."""

    def __init__(self, inner: BaseSession) -> None:
        super().__init__(api=inner.api, json_loads=inner.json_loads, json_dumps=inner.json_dumps, timeout=inner.timeout)
        self.inner = inner

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        capture = current.get()
        if capture is None or _passes_through(method):
            return await self.inner.make_request(bot, method, timeout)
        capture.calls.append(method)
        return placeholder(method)

    async def stream_content(self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
                             chunk_size: int = 65536, raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        async for chunk in self.inner.stream_content(url, headers, timeout, chunk_size, raise_for_status):
            yield chunk

    async def close(self) -> None:
        await self.inner.close()


# --- storing and rebuilding calls ----------------------------------------------------------------


def dump(method: TelegramMethod[Any]) -> dict[str, Any]:
    """A call as JSON: the method's name, its parameters (bot defaults left to the bot) and any
    file it uploads, inline."""
    files = {k: v for k, v in method if isinstance(v, InputFile)}
    params = method.model_dump(mode="json", exclude=set(files), exclude_none=True, fallback=_default_marker)
    out: dict[str, Any] = {"method": type(method).__name__, "params": params}
    if files:
        out["files"] = {}
        for name, f in files.items():
            if not isinstance(f, BufferedInputFile):
                raise TypeError(f"{type(method).__name__}.{name}: only in-memory files can be kept for after commit")
            out["files"][name] = {"filename": f.filename, "data": base64.b64encode(f.data).decode()}
    return out


def _default_marker(value: Any) -> Any:
    # A bot default (parse_mode, link preview, …), at any depth: resolved by the bot when sent.
    if isinstance(value, Default):
        return {DEFAULT_MARK: value.name}
    raise TypeError(f"cannot keep {type(value).__name__} for after commit")


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {DEFAULT_MARK}:
            return Default(value[DEFAULT_MARK])
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def load(call: dict[str, Any]) -> TelegramMethod[Any]:
    """Rebuild a stored call."""
    cls = getattr(methods, call["method"])
    params = _restore(call["params"])
    for name, f in (call.get("files") or {}).items():
        params[name] = BufferedInputFile(base64.b64decode(f["data"]), filename=f["filename"])
    return cls.model_validate(params)


# --- sending -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    done: int
    retry_at: datetime | None = None
    error: str | None = None


async def _send_calls(bot: Bot, session: BaseSession, calls: list[TelegramMethod[Any]], start: int,
                      progress: Any) -> Outcome:
    """Send `calls[start:]` in order; stop at a failure worth retrying."""
    done = start
    for i in range(start, len(calls)):
        method = calls[i]
        try:
            await session.make_request(bot, method)
        except TelegramRetryAfter as exc:
            return Outcome(done, utcnow() + timedelta(seconds=exc.retry_after), f"retry after {exc.retry_after}s")
        except (TelegramNetworkError, TelegramServerError) as exc:
            return Outcome(done, utcnow() + timedelta(seconds=5), f"{type(exc).__name__}: {exc}")
        except (TelegramBadRequest, TelegramForbiddenError) as exc:
            # Not worth repeating: an old callback query, a message already edited, a person who
            # blocked the bot. The rest of the batch goes on.
            log.info("reply %s skipped: %s", type(method).__name__, exc)
        done = i + 1
        if done < len(calls) and type(method).__name__ in VISIBLE:
            await progress(done)
    return Outcome(done)


class Replies:
    """Sends an update's replies after its commit, records them sent, and resends those whose
    sender died.

    "Sent" is recorded in small groups, a few milliseconds after the fact, in one UPDATE for
    every update answered meanwhile: one commit per update would cost more than the rest of the
    update's handling. A crash in those milliseconds leaves those replies due; they are sent
    again once their lease runs out and counted as uncertain, like a call in flight.
    """

    FLUSH_AFTER = 0.02  # seconds a "sent" waits to be recorded with others

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], metrics: Metrics, *, lease: timedelta,
        pacer: Pacer | None = None, bot_rate: float = 30.0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.metrics = metrics
        self.lease = lease
        # Replies are never paced, but they are counted in the bot's budget after the fact, so
        # the bulk senders that reserve from it (broadcasts) leave them room: replies go first.
        self.pacer = pacer
        self.bot_rate = bot_rate
        self.bots: dict[int, Bot] = {}  # by account (the bot's id), for replies picked up later
        self._sent: list[transport.Key] = []
        self._flush: asyncio.Task[None] | None = None

    def add_bot(self, bot: Bot) -> None:
        self.bots[bot.id] = bot

    async def send(self, bot: Bot, key: transport.Key, calls: list[TelegramMethod[Any]], *, start: int = 0) -> None:
        """Send an update's committed replies (its calls already in hand) and record the result."""
        session = bot.session.inner if isinstance(bot.session, CapturingSession) else bot.session

        async def progress(done: int) -> None:
            async with unit_of_work(self.sessionmaker) as s:
                await transport.record_progress(s, key=key, done=done)

        outcome = await _send_calls(bot, session, calls, start, progress)
        if self.pacer is not None:
            await self._charge(bot, calls[start:outcome.done])
        if outcome.done >= len(calls):
            self._sent.append(key)
            if self._flush is None:
                self._flush = asyncio.create_task(self._record_sent())
            return
        async with unit_of_work(self.sessionmaker) as s:
            await transport.record_progress(s, key=key, done=outcome.done, error=outcome.error, retry_at=outcome.retry_at)
        self.metrics.replies.labels("retry").inc()
        log.warning("replies of update %s wait for a retry: %s", key[1], outcome.error)

    async def _charge(self, bot: Bot, sent: list[TelegramMethod[Any]]) -> None:
        """Count the messages just sent against the bot's budget and their chat's (the keys
        the Telegram channel paces with)."""
        assert self.pacer is not None
        account = f"tg:{bot.id}"
        for method in sent:
            if type(method).__name__ not in VISIBLE:
                continue
            rates = [Rate(account, self.bot_rate, burst=max(1, int(self.bot_rate)))]
            chat = getattr(method, "chat_id", None)
            if chat is not None:
                rates.append(Rate(f"{account}:chat:{chat}", 1.0))
            try:
                await self.pacer.charge(rates)
            except Exception:  # noqa: BLE001 - the reply went out; a missed count only narrows the headroom
                log.warning("could not count a reply against the bot's budget", exc_info=True)

    async def _record_sent(self) -> None:
        try:
            await asyncio.sleep(self.FLUSH_AFTER)
            await self.flush()
        finally:
            self._flush = None

    async def flush(self) -> None:
        """Record as sent every reply sent so far (on a timer, and when stopping)."""
        while self._sent:
            keys, self._sent = self._sent[:500], self._sent[500:]
            async with unit_of_work(self.sessionmaker) as s:
                await transport.set_synchronous_commit_off(s)
                await transport.mark_sent(s, keys=keys)

    async def resend_due(self) -> int:
        """Send the replies whose lease ran out (their sender died or failed); returns how many updates'."""
        async with unit_of_work(self.sessionmaker) as s:
            due = [((r.account, r.update_id), r.replies or [], r.replies_done, r.replies_uncertain)
                   for r in await transport.claim_due(s, now=utcnow(), lease=self.lease)]
        for key, calls, done, uncertain in due:
            bot = self.bots.get(key[0])
            if bot is None:
                continue  # another bot's: the replica serving it sends it once its lease runs out
            if uncertain:
                self.metrics.replies.labels("uncertain").inc()
                log.warning("update %s: its replies' sender died; sending from call %s again", key[1], done)
            try:
                rebuilt = [load(c) for c in calls]
            except Exception as exc:  # noqa: BLE001 - a call this version cannot rebuild: never retried
                async with unit_of_work(self.sessionmaker) as s:
                    await transport.record_progress(s, key=key, done=done, error=str(exc), failed=True)
                continue
            await self.send(bot, key, rebuilt, start=done)
        return len(due)
