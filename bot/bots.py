"""Every bot this process speaks as: the platform's, and each town's own (backend/core/bots).

One Dispatcher serves them all (aiogram's multi-bot pattern): each bot has its own aiogram
`Bot` (sharing the platform bot's HTTP session, as aiogram's multibot example does), its own
inbox and webhook route (`/telegram/webhook/<bot id>`, with its own secret), and everything
keyed by an update is keyed by the bot too: the transport's `account` (dedupe, the chat
queues, the replies), the FSM `StorageKey.bot_id`, the pacer's `tg:<bot id>`.

The pool follows the directory of town bots: at start, when this process connects or drops
one (`TownBots.changed`), when Telegram posts for a bot id it does not know yet (another
replica connected it), and every `TTL` seconds otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties

from backend.core.bots.directory import TownBotEntry
from backend.runtime import Runtime
from bot.inbox import Inbox
from bot.replies import Replies

log = logging.getLogger("bot")

UNKNOWN_FOR = 5.0  # seconds an unknown bot id is not looked up again (a probe does not cost a query each)


@dataclass
class Served:
    """One bot in the pool."""

    bot: Bot
    inbox: Inbox
    secret: str
    municipality_id: int | None  # None: the platform's bot
    username: str | None = None


Hook = Callable[[Served], Awaitable[None] | None]


class BotPool:
    def __init__(self, runtime: Runtime, dp: Dispatcher, platform: Bot, inbox: Inbox, replies: Replies) -> None:
        self.runtime = runtime
        self.dp = dp
        self.replies = replies
        self.platform = Served(platform, inbox, runtime.settings.webhook_secret, None, runtime.settings.BOT_USERNAME)
        self.served: dict[int, Served] = {platform.id: self.platform}
        self._town: dict[int, int] = {}  # municipality id -> bot id
        self._unknown: dict[int, float] = {}
        self._lock = asyncio.Lock()
        self.on_added: list[Hook] = []
        self.on_removed: list[Hook] = []
        runtime.town_bots.subscribe(self.sync)

    # -- lookups --------------------------------------------------------------------------------

    def for_town(self, municipality_id: int | None) -> Bot:
        """The bot that speaks for the town: its own, else the platform's."""
        bot_id = self._town.get(municipality_id) if municipality_id is not None else None
        return self.served[bot_id].bot if bot_id in self.served else self.platform.bot

    def town_of(self, bot: Bot) -> int | None:
        """The town a bot speaks for (None: the platform's bot, every town)."""
        served = self.served.get(bot.id)
        return served.municipality_id if served else None

    async def get(self, bot_id: int) -> Served | None:
        """The bot with this id, loading the directory again for one not seen yet."""
        served = self.served.get(bot_id)
        if served is not None:
            return served
        if time.monotonic() - self._unknown.get(bot_id, -UNKNOWN_FOR) < UNKNOWN_FOR:
            return None
        await self.runtime.town_bots.refresh()
        await self.sync()
        served = self.served.get(bot_id)
        if served is None:
            if len(self._unknown) > 1000:
                self._unknown.clear()
            self._unknown[bot_id] = time.monotonic()
        return served

    def inboxes(self) -> list[Inbox]:
        return [s.inbox for s in self.served.values()]

    # -- following the directory ----------------------------------------------------------------

    async def fresh(self) -> None:
        """Read the directory again when it is older than its TTL."""
        if self.runtime.town_bots.stale:
            await self.runtime.town_bots.refresh()
            await self.sync()

    async def sync(self) -> None:
        """Serve exactly the enabled town bots of the directory as last read."""
        async with self._lock:
            wanted = {e.id: e for e in self.runtime.town_bots.cached().values() if e.id != self.platform.bot.id}
            for bot_id in [b for b, s in self.served.items() if s.municipality_id is not None]:
                served = self.served[bot_id]
                entry = wanted.get(bot_id)
                if entry is None or entry.token != served.bot.token or entry.municipality_id != served.municipality_id:
                    await self._remove(bot_id)
            for bot_id, entry in wanted.items():
                if bot_id not in self.served:
                    await self._add(entry)
            self._town = {s.municipality_id: b for b, s in self.served.items() if s.municipality_id is not None}

    async def _add(self, entry: TownBotEntry) -> None:
        bot = Bot(entry.token, session=self.platform.bot.session, default=DefaultBotProperties(parse_mode=None))
        served = Served(bot, Inbox(self.runtime, self.dp, bot), entry.webhook_secret, entry.municipality_id, entry.username)
        self.served[bot.id] = served
        self._unknown.pop(bot.id, None)
        self.replies.add_bot(bot)
        log.info("bot: serving @%s (id %s) for town %s", entry.username, bot.id, entry.municipality_id)
        for hook in self.on_added:
            result = hook(served)
            if result is not None:
                await result

    async def _remove(self, bot_id: int) -> None:
        served = self.served.pop(bot_id)
        log.info("bot: no longer serving @%s (id %s)", served.username, bot_id)
        for hook in self.on_removed:
            result = hook(served)
            if result is not None:
                await result
        # Its replies already committed keep their bot in `replies.bots` and still go out.
