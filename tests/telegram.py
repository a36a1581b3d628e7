"""A test double of the Bot API at the session level, the way aiogram tests itself
(`tests/mocked_bot.py` there): every outgoing call is recorded as the real TelegramMethod
object, and answered with a well-formed result of the type the method returns.

Files: `getFile` answers with a `File` whose path is `files/<file_id>`, and downloading that
path yields `files[file_id]` when a test put bytes there, else a tiny file whose magic bytes
follow the id (…pdf… → PDF, …voice…/…ogg… → OGG, …png… → PNG, else JPEG), so the backend's
content checks pass. Downloaded ids are kept in `downloads`."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, File, Message, User

MAGIC = (("pdf", b"%PDF-1.4\n"), ("voice", b"OggS\x00\x02"), ("ogg", b"OggS\x00\x02"), ("png", b"\x89PNG\r\n\x1a\n"))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod[Any]] = []
        self._ids = itertools.count(1000)
        self.files: dict[str, bytes] = {}
        self.downloads: list[str] = []

    def content_of(self, file_id: str) -> bytes:
        """The bytes a file id downloads as: set by the test, else a deterministic stand-in."""
        if file_id in self.files:
            return self.files[file_id]
        magic = next((m for hint, m in MAGIC if hint in file_id.lower()), JPEG)
        return magic + f"glocal test file {file_id}".encode()

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None) -> TelegramType:
        self.calls.append(method)
        return self._result(bot, method)

    def _result(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        returning = method.__returning__
        if returning is bool:
            return True
        if returning is User:
            return User(id=bot.id, is_bot=True, first_name="Glocal", username="glocal_test_bot")
        if returning is File:
            file_id = method.file_id  # type: ignore[attr-defined]
            return File(file_id=file_id, file_unique_id=f"u-{file_id}", file_size=len(self.content_of(file_id)), file_path=f"files/{file_id}")
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

    async def stream_content(self, url: str, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        """The download of `…/file/bot<token>/files/<file_id>` (see `content_of`)."""
        file_id = url.rsplit("/files/", 1)[-1]
        self.downloads.append(file_id)
        yield self.content_of(file_id)
