"""The town bots every part of a process needs to know (Mini App auth, the webhook routes,
the channel that sends notices), read from the database and kept for a short while.

It is also the port through which a change reaches the bot side: the platform's API calls
`changed()` after the commit that connects, disables or disconnects a bot; the bot side
(bot/bots.py) subscribes and picks the bot up or drops it with no restart. Other replicas see
the change on their next refresh (at most `TTL` seconds), or at once when Telegram posts an
update for a bot id they do not know yet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.bots.models import TownBot
from backend.core.bots.vault import Cipher, webhook_secret

log = logging.getLogger(__name__)

TTL = 30.0  # seconds a loaded list is trusted before it is read again


@dataclass(frozen=True)
class TownBotEntry:
    id: int
    municipality_id: int
    username: str
    token: str = field(repr=False)

    @property
    def webhook_secret(self) -> str:
        return webhook_secret(self.token)


Listener = Callable[[], Awaitable[None]]


class TownBots:
    """The enabled town bots, by bot id; reloaded when older than TTL or told of a change."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], cipher: Cipher, *, ttl: float = TTL) -> None:
        self.sessionmaker = sessionmaker
        self.cipher = cipher
        self.ttl = ttl
        self._entries: dict[int, TownBotEntry] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()
        self._listeners: list[Listener] = []

    @property
    def stale(self) -> bool:
        return self._loaded_at is None or time.monotonic() - self._loaded_at > self.ttl

    async def entries(self) -> dict[int, TownBotEntry]:
        """The enabled town bots by id (read again when stale)."""
        if self.stale:
            await self.refresh()
        return self._entries

    def cached(self) -> dict[int, TownBotEntry]:
        """What was loaded last, without touching the database."""
        return self._entries

    async def refresh(self) -> dict[int, TownBotEntry]:
        """Read the enabled town bots now."""
        async with self._lock:
            async with self.sessionmaker() as session:
                rows = list(await session.scalars(select(TownBot).where(TownBot.enabled.is_(True))))
            entries: dict[int, TownBotEntry] = {}
            for row in rows:
                token = self.cipher.open(row.token_encrypted)
                if token is None:
                    log.error("town bot %s (@%s): its token cannot be decrypted (SECRET_KEY changed?); connect it again",
                              row.id, row.username)
                    continue
                entries[row.id] = TownBotEntry(id=row.id, municipality_id=row.municipality_id, username=row.username, token=token)
            self._entries, self._loaded_at = entries, time.monotonic()
            return entries

    def subscribe(self, listener: Listener) -> None:
        """Be told (after the list was read again) whenever a town bot changes in this process."""
        self._listeners.append(listener)

    async def changed(self) -> None:
        """A town bot was connected, changed or disconnected (called after the commit)."""
        await self.refresh()
        for listener in self._listeners:
            try:
                await listener()
            except Exception:  # noqa: BLE001 - the change is committed; the bot side retries on its own
                log.exception("a town bot listener failed")
