"""The bot's life in the process: registering itself with Telegram, long polling, stopping.

Telegram's bad moments must not take the app down: start-up calls that are not essential
(getMe for an unconfigured BOT_USERNAME, commands, the menu button) are retried in the background and logged while the API and the
Mini Apps serve; setting the webhook is retried until it holds; long polling is supervised,
restarted with backoff whatever stops it (getMe failing, the network, a 5xx); /readyz reports
the bot's state throughout (`runtime.health["telegram"]`).

Long polling confirms an offset only after every update of the batch is settled (bot/inbox.py),
so a crash loses none: Telegram hands the unconfirmed ones over again and the handled ones
are recognised. Stopping (SIGTERM) lets the batch in hand finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramUnauthorizedError

from backend.runtime import Runtime
from bot import commands
from bot.inbox import Inbox

log = logging.getLogger("bot")

BACKOFF = (1, 2, 5, 10, 30, 60)
POLL_TIMEOUT = 25  # seconds Telegram holds a getUpdates open when there is nothing new


async def retry(what: str, call: Callable[[], Awaitable[object]], stopping: asyncio.Event) -> bool:
    """Call until it succeeds (True) or we are stopping (False), waiting longer each time."""
    for attempt in range(1_000_000):
        try:
            await call()
            return True
        except TelegramUnauthorizedError:
            raise
        except Exception as exc:  # noqa: BLE001 - logged and retried
            delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
            log.warning("bot: %s failed (%s: %s); retrying in %s s", what, type(exc).__name__, exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=delay)
            if stopping.is_set():
                return False
    return False


class BotRunner:
    def __init__(self, runtime: Runtime, bot: Bot, dp: Dispatcher, inbox: Inbox) -> None:
        self.runtime = runtime
        self.bot = bot
        self.dp = dp
        self.inbox = inbox
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def _state(self, value: str) -> None:
        self.runtime.health["telegram"] = value

    def start(self) -> None:
        """Register and receive in the background; returns at once."""
        self._state("starting")
        self._tasks.append(asyncio.create_task(self._register(), name="bot-register"))
        self._tasks.append(asyncio.create_task(self._receive(), name="bot-receive"))

    async def _register(self) -> None:
        settings = self.runtime.settings
        if not settings.BOT_USERNAME and not await retry("asking Telegram for the bot's username", self._learn_username, self.stopping):
            return
        await retry("setting commands and the menu button",
                    lambda: commands.register(self.bot, settings, self.dp["components"]), self.stopping)

    async def _learn_username(self) -> None:
        """BOT_USERNAME from getMe when it is not configured: staff invitations are
        t.me/<username>?start=inv_... links, and only Telegram knows the name for sure."""
        me = await self.bot.get_me()
        if me.username:
            self.runtime.settings.BOT_USERNAME = me.username
            log.info("bot: @%s (BOT_USERNAME from getMe)", me.username)

    async def _receive(self) -> None:
        settings = self.runtime.settings
        try:
            if settings.PUBLIC_URL:
                url = f"{settings.PUBLIC_URL}/telegram/webhook"
                ok = await retry("setting the webhook", lambda: self.bot.set_webhook(
                    url, secret_token=settings.webhook_secret, allowed_updates=self.dp.resolve_used_update_types(),
                ), self.stopping)
                if ok:
                    self._state("ok")
                    log.info("bot: webhook set to %s", url)
                return
            if not settings.miniapp_base:
                log.warning("bot: Mini App buttons are hidden until MINIAPP_URL or PUBLIC_URL gives an https:// address")
            if not await retry("leaving webhook mode", lambda: self.bot.delete_webhook(), self.stopping):
                return
            await self._poll()
        except TelegramUnauthorizedError:
            self._state("error: Telegram refused the token (Unauthorized)")
            log.error("bot: Telegram refused BOT_TOKEN; the bot is off until it is fixed")

    async def _poll(self) -> None:
        """Long polling, supervised: any failure is logged and polling starts again after a pause."""
        log.info("bot: long polling (no PUBLIC_URL)")
        allowed = self.dp.resolve_used_update_types()
        offset: int | None = None
        attempt = 0
        while not self.stopping.is_set():
            try:
                getting = asyncio.ensure_future(self.bot.get_updates(offset=offset, timeout=POLL_TIMEOUT, allowed_updates=allowed))
                stop = asyncio.ensure_future(self.stopping.wait())
                done, _ = await asyncio.wait({getting, stop}, return_when=asyncio.FIRST_COMPLETED)
                if getting not in done:
                    getting.cancel()
                    break
                stop.cancel()
                updates = getting.result()
                self._state("ok")
                attempt = 0
                if updates:
                    # Every chat's updates go through its queue; the batch is confirmed (the next
                    # offset) only when all of them are settled.
                    await asyncio.gather(*(self.inbox.handle(u) for u in updates))
                    offset = updates[-1].update_id + 1
            except TelegramUnauthorizedError:
                raise
            except Exception as exc:  # noqa: BLE001 - supervised
                delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
                attempt += 1
                self._state(f"error: {type(exc).__name__}: {exc}"[:200])
                log.warning("bot: polling failed (%s: %s); polling again in %s s", type(exc).__name__, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=delay)

    async def stop(self) -> None:
        """Stop receiving, let updates in hand finish, close the bot's session."""
        self.stopping.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=30)
        await self.inbox.close()
        await self.dp["replies"].flush()
        await self.bot.session.close()
