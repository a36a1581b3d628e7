"""Filters that match a translated button caption in any supported language."""

from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import Message

from backend.i18n import translate
from backend.settings import SUPPORTED_LOCALES


class I18nText(BaseFilter):
    """Matches a message whose text is `msgid` in any language (reply-keyboard buttons)."""

    def __init__(self, msgid: str) -> None:
        self.variants = {translate(msgid, loc) for loc in SUPPORTED_LOCALES}

    async def __call__(self, message: Message) -> bool:
        return message.text in self.variants
