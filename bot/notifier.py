"""The Telegram adapter of the backend's Notifier port: texts, files, and the buttons that
go with an action (rate an answer, reply to a request, open an appeal)."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from backend.core.notifications.port import Attachment, Unreachable
from backend.i18n import N_, translate
from backend.settings import Settings
from bot.callbacks import AppealRateCB, AppealReplyCB

RATE_PROMPT = N_("How satisfied are you with the answer? Rate it from 1 to 5.")
REPLY = N_("✍️ Reply")
OPEN_APPEAL = N_("Open the appeal")
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def _chunks(text: str, size: int = TEXT_LIMIT) -> list[str]:
    parts: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = cut if cut > size // 2 else size
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*parts, text] if text else parts


class TelegramNotifier:
    def __init__(self, bot: Bot, settings: Settings) -> None:
        self.bot = bot
        self.settings = settings

    def _markup(self, action: dict[str, Any] | None, locale: str) -> tuple[str | None, InlineKeyboardMarkup | None]:
        """(a follow-up prompt, buttons) for an action."""
        if not action:
            return None, None
        kind = action.get("type")
        if kind == "rate_appeal":
            row = [
                InlineKeyboardButton(text=f"{n} ⭐", callback_data=AppealRateCB(appeal_id=action["appeal_id"], stars=n).pack())
                for n in range(1, 6)
            ]
            return translate(RATE_PROMPT, locale), InlineKeyboardMarkup(inline_keyboard=[row])
        if kind == "reply_to_appeal":
            button = InlineKeyboardButton(text=translate(REPLY, locale), callback_data=AppealReplyCB(appeal_id=action["appeal_id"]).pack())
            return None, InlineKeyboardMarkup(inline_keyboard=[[button]])
        if kind == "open_appeal" and self.settings.miniapp_base:
            url = f"{self.settings.miniapp_base}/appeals/?town={action['municipality_id']}&appeal={action['appeal_id']}"
            button = InlineKeyboardButton(text=translate(OPEN_APPEAL, locale), web_app=WebAppInfo(url=url))
            return None, InlineKeyboardMarkup(inline_keyboard=[[button]])
        return None, None

    async def notify(
        self, *, telegram_id: int, locale: str, text: str, attachment: Attachment | None = None, action: dict[str, Any] | None = None
    ) -> None:
        """Send the text (split at Telegram's limit), the file, then the action's buttons."""
        prompt, markup = self._markup(action, locale)
        try:
            chunks = _chunks(text)
            for i, chunk in enumerate(chunks):
                last = i == len(chunks) - 1
                await self.bot.send_message(telegram_id, chunk, reply_markup=markup if last and prompt is None and attachment is None else None)
            if attachment is not None:
                await self.bot.send_document(
                    telegram_id, BufferedInputFile(attachment.data, filename=attachment.filename),
                    reply_markup=markup if prompt is None else None,
                )
            if prompt is not None:
                await self.bot.send_message(telegram_id, prompt, reply_markup=markup)
        except TelegramForbiddenError as exc:
            raise Unreachable(str(exc)) from exc
