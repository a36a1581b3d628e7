"""A test double of the Bot API at the session level, the way aiogram tests itself
(`tests/mocked_bot.py` there): every outgoing call is recorded as the real TelegramMethod
object, and answered with a well-formed result of the type the method returns."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message, User


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod[Any]] = []
        self._ids = itertools.count(1000)

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None) -> TelegramType:
        self.calls.append(method)
        return self._result(bot, method)

    def _result(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        returning = method.__returning__
        if returning is bool:
            return True
        if returning is User:
            return User(id=bot.id, is_bot=True, first_name="Glocal", username="glocal_test_bot")
        chat_id = getattr(method, "chat_id", None)
        if returning is Message or "Message" in str(returning):
            return Message(
                message_id=next(self._ids),
                date=datetime.now(UTC),
                chat=Chat(id=int(chat_id or 0), type="private"),
                text=getattr(method, "text", None),
                caption=getattr(method, "caption", None),
            )
        return True

    def pop(self) -> list[TelegramMethod[Any]]:
        calls, self.calls = self.calls, []
        return calls

    async def close(self) -> None:
        return None

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:  # pragma: no cover
        yield b""
