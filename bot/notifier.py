"""The Telegram adapter of the backend's Notifier port."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.users import service as users
from backend.db import unit_of_work
from backend.i18n import translate

log = logging.getLogger(__name__)


class TelegramNotifier:
    def __init__(self, bot: Bot, sessionmaker: async_sessionmaker[AsyncSession], default_locale: str) -> None:
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.default_locale = default_locale

    async def notify(self, *, user_id: int, message: str, params: dict[str, Any] | None = None) -> bool:
        """Send a message in the person's language; False when they cannot be reached."""
        async with unit_of_work(self.sessionmaker) as session:
            user = await users.get(session, user_id=user_id)
            if user.telegram_id is None or user.bot_blocked:
                return False
            text = translate(message, user.locale or self.default_locale).format(**(params or {}))
            try:
                await self.bot.send_message(user.telegram_id, text)
            except TelegramForbiddenError:
                await users.set_bot_blocked(session, user=user, blocked=True)
                return False
        return True
