"""Replies leave only after the commit that makes them true.

While an update is handled, the bot's session does not send what the handlers ask for: every
call that changes what a person sees (sendMessage, editMessage…, answerCallbackQuery,
setMyCommands, …) is captured, and the handler gets a placeholder result. The update's
transaction stores the captured calls beside its effects (`OutboundBatch`); after commit they
are sent in order, and the batch is marked sent. Reads (getFile, getMe, …) and downloads go
through at once. A crash between commit and send leaves the batch for whoever finds its lease
expired (`resend_due`), so no reply is lost; the one call that may have been in flight when a
sender died is sent again and reported as uncertain, the only duplicate the design allows.

Handlers therefore must not rely on a call's result (a sent message's id, say): they get a
placeholder. None does today.
"""

from __future__ import annotations

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
    """Sends captured replies after commit, and resends batches whose sender died."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], metrics: Metrics, *, lease: timedelta) -> None:
        self.sessionmaker = sessionmaker
        self.metrics = metrics
        self.lease = lease
        self.bots: dict[int, Bot] = {}  # by account (the bot's id), for batches picked up later

    def add_bot(self, bot: Bot) -> None:
        self.bots[bot.id] = bot

    async def _progress(self, batch_id: int, total: int, outcome: Outcome) -> None:
        async with unit_of_work(self.sessionmaker) as s:
            await transport.set_synchronous_commit_off(s)
            await transport.record_progress(
                s, batch_id=batch_id, done=outcome.done, total=total, error=outcome.error, retry_at=outcome.retry_at
            )

    async def send(self, bot: Bot, batch_id: int, calls: list[TelegramMethod[Any]], *, start: int = 0) -> None:
        """Send a committed batch (its calls already in hand) and record the result."""
        total = len(calls)
        session = bot.session.inner if isinstance(bot.session, CapturingSession) else bot.session
        outcome = await _send_calls(bot, session, calls, start, lambda done: self._progress(batch_id, total, Outcome(done)))
        await self._progress(batch_id, total, outcome)
        if outcome.done < total:
            self.metrics.replies.labels("retry").inc()
            log.warning("replies of batch %s wait for a retry: %s", batch_id, outcome.error)

    async def resend_due(self) -> int:
        """Send the batches whose lease ran out (their sender died or failed); returns how many."""
        async with unit_of_work(self.sessionmaker) as s:
            due = [(b.id, b.account, b.calls, b.done, b.uncertain) for b in await transport.claim_due(s, now=utcnow(), lease=self.lease)]
        for batch_id, account, calls, done, uncertain in due:
            bot = self.bots.get(account)
            if bot is None:
                continue  # another bot's batch: the replica serving it sends it once its lease runs out
            if uncertain:
                self.metrics.replies.labels("uncertain").inc()
                log.warning("batch %s: its sender died with a call in flight; sending from call %s again", batch_id, done)
            try:
                rebuilt = [load(c) for c in calls]
            except Exception as exc:  # noqa: BLE001 - a call this version cannot rebuild: never retried
                async with unit_of_work(self.sessionmaker) as s:
                    await transport.record_progress(s, batch_id=batch_id, done=done, total=len(calls), error=str(exc), failed=True)
                continue
            await self.send(bot, batch_id, rebuilt, start=done)
        return len(due)
