"""The bot's life in the process: registering itself with Telegram, long polling, stopping.

Telegram's bad moments must not take the app down: start-up calls that are not essential
(getMe for an unconfigured BOT_USERNAME, commands, the menu button) are retried in the background and logged while the API and the
Mini Apps serve; setting the webhook is retried until it holds; long polling is supervised,
restarted with backoff whatever stops it (getMe failing, the network, a 5xx); /readyz reports
the bot's state throughout (`runtime.health["telegram"]`).

Long polling confirms an offset only after every update of the batch is settled (bot/inbox.py),
so a crash loses none: Telegram hands the unconfirmed ones over again and the handled ones
are recognised. Stopping (SIGTERM) lets the batch in hand finish.

Every town's own bot (bot/bots.py) gets the same: its commands and menu button, its webhook
(`PUBLIC_URL/telegram/webhook/<bot id>` with its own secret) or its own polling loop, at start
and whenever it is connected, with no restart. A town bot's trouble (a revoked token) is
logged and leaves /readyz alone: the platform and the other towns are fine.
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
from bot.bots import BotPool, Served
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
    def __init__(self, runtime: Runtime, bot: Bot, dp: Dispatcher, inbox: Inbox, *, pool: BotPool | None = None) -> None:
        self.runtime = runtime
        self.bot = bot
        self.dp = dp
        self.inbox = inbox
        self.pool = pool
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._town_tasks: dict[int, list[asyncio.Task[None]]] = {}
        self.town_states: dict[int, str] = {}  # a town bot's id -> "ok", "starting", "error: ..."

    def _state(self, value: str) -> None:
        self.runtime.health["telegram"] = value

    def start(self) -> None:
        """Register and receive in the background; returns at once."""
        self._state("starting")
        self._tasks.append(asyncio.create_task(self._register(self.bot), name="bot-register"))
        self._tasks.append(asyncio.create_task(self._receive(self.bot, self.inbox, "/telegram/webhook",
                                                             self.runtime.settings.webhook_secret, self._state), name="bot-receive"))
        if self.pool is not None:
            self.pool.on_added.append(self.add)
            self.pool.on_removed.append(self.remove)
            self._tasks.append(asyncio.create_task(self._follow_towns(), name="bot-towns"))

    # -- towns' own bots --------------------------------------------------------------------------

    async def _follow_towns(self) -> None:
        """Serve the town bots connected now, then read the directory again now and then (other
        replicas' changes; this process's own arrive at once through the directory's port)."""
        assert self.pool is not None
        while not self.stopping.is_set():
            try:
                await self.runtime.town_bots.refresh()
                await self.pool.sync()
            except Exception as exc:  # noqa: BLE001 - logged, tried again
                log.warning("bot: reading the town bots failed (%s: %s)", type(exc).__name__, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=self.runtime.town_bots.ttl)

    def add(self, served: Served) -> None:
        """Start registering and receiving for a town bot (the pool calls this)."""
        if self.stopping.is_set():
            return
        bot_id = served.bot.id

        def state(value: str) -> None:
            self.town_states[bot_id] = value

        state("starting")
        self._town_tasks[bot_id] = [
            asyncio.create_task(self._register(served.bot), name=f"bot-register-{bot_id}"),
            asyncio.create_task(self._receive(served.bot, served.inbox, f"/telegram/webhook/{bot_id}", served.secret, state),
                                name=f"bot-receive-{bot_id}"),
        ]

    async def remove(self, served: Served) -> None:
        """Stop a town bot's tasks and its webhook (disconnected or switched off)."""
        bot_id = served.bot.id
        for task in self._town_tasks.pop(bot_id, []):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.town_states.pop(bot_id, None)
        if self.runtime.settings.PUBLIC_URL:
            try:
                await served.bot.delete_webhook()
            except Exception as exc:  # noqa: BLE001 - Telegram gets 404s for it until it gives up
                log.warning("bot: removing the webhook of bot %s failed (%s)", bot_id, type(exc).__name__)
        await served.inbox.close()

    # -- every bot ----------------------------------------------------------------------------------

    async def _register(self, bot: Bot) -> None:
        settings = self.runtime.settings
        if bot is self.bot and not settings.BOT_USERNAME and not await retry(
            "asking Telegram for the bot's username", self._learn_username, self.stopping
        ):
            return
        try:
            await retry("setting commands and the menu button",
                        lambda: commands.register(bot, settings, self.dp["components"]), self.stopping)
        except TelegramUnauthorizedError:
            log.error("bot %s: Telegram refused its token while setting commands", bot.id)

    async def _learn_username(self) -> None:
        """BOT_USERNAME from getMe when it is not configured: staff invitations are
        t.me/<username>?start=inv_... links, and only Telegram knows the name for sure."""
        me = await self.bot.get_me()
        if me.username:
            self.runtime.settings.BOT_USERNAME = me.username
            log.info("bot: @%s (BOT_USERNAME from getMe)", me.username)

    async def _receive(self, bot: Bot, inbox: Inbox, path: str, secret: str, state: Callable[[str], None]) -> None:
        settings = self.runtime.settings
        try:
            if settings.PUBLIC_URL:
                url = f"{settings.PUBLIC_URL}{path}"
                ok = await retry("setting the webhook", lambda: bot.set_webhook(
                    url, secret_token=secret, allowed_updates=self.dp.resolve_used_update_types(),
                ), self.stopping)
                if ok:
                    state("ok")
                    log.info("bot: webhook of bot %s set to %s", bot.id, url)
                return
            if not settings.miniapp_base and bot is self.bot:
                log.warning("bot: Mini App buttons are hidden until MINIAPP_URL or PUBLIC_URL gives an https:// address")
            if not await retry("leaving webhook mode", lambda: bot.delete_webhook(), self.stopping):
                return
            await self._poll(bot, inbox, state)
        except TelegramUnauthorizedError:
            state("error: Telegram refused the token (Unauthorized)")
            if bot is self.bot:
                log.error("bot: Telegram refused BOT_TOKEN; the bot is off until it is fixed")
            else:
                log.error("bot %s: Telegram refused the town bot's token; connect it again", bot.id)

    async def _poll(self, bot: Bot, inbox: Inbox, state: Callable[[str], None]) -> None:
        """Long polling, supervised: any failure is logged and polling starts again after a pause."""
        log.info("bot %s: long polling (no PUBLIC_URL)", bot.id)
        allowed = self.dp.resolve_used_update_types()
        offset: int | None = None
        attempt = 0
        while not self.stopping.is_set():
            try:
                getting = asyncio.ensure_future(bot.get_updates(offset=offset, timeout=POLL_TIMEOUT, allowed_updates=allowed))
                stop = asyncio.ensure_future(self.stopping.wait())
                done, _ = await asyncio.wait({getting, stop}, return_when=asyncio.FIRST_COMPLETED)
                if getting not in done:
                    getting.cancel()
                    break
                stop.cancel()
                updates = getting.result()
                state("ok")
                attempt = 0
                if updates:
                    # Every chat's updates go through its queue; the batch is confirmed (the next
                    # offset) only when all of them are settled.
                    await asyncio.gather(*(inbox.handle(u) for u in updates))
                    offset = updates[-1].update_id + 1
            except TelegramUnauthorizedError:
                raise
            except Exception as exc:  # noqa: BLE001 - supervised
                delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
                attempt += 1
                state(f"error: {type(exc).__name__}: {exc}"[:200])
                log.warning("bot %s: polling failed (%s: %s); polling again in %s s", bot.id, type(exc).__name__, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=delay)

    async def stop(self) -> None:
        """Stop receiving, let updates in hand finish, close the bot's session."""
        self.stopping.set()
        for task in [*self._tasks, *(t for ts in self._town_tasks.values() for t in ts)]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=30)
        for inbox in (self.pool.inboxes() if self.pool is not None else [self.inbox]):
            await inbox.close()
        await self.dp["replies"].flush()
        await self.bot.session.close()
