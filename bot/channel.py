"""The Telegram adapter of the backend's notification port: a notice becomes a text (split at
Telegram's limit), its attachment, and the buttons its service's renderer gives it."""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import BufferedInputFile

from backend.core.notifications.notices import Notice
from backend.core.notifications.pacing import Rate
from backend.core.notifications.port import Attachment, Recipient, RetryLater, Unreachable
from backend.i18n import use_locale
from backend.settings import Settings
from bot.component import BotComponent, Rendered, Renderer

TEXT_LIMIT = 4096
# Telegram's limits per bot: about 30 messages a second overall, 1 a second per chat.
BOT_RATE = 30.0
CHAT_RATE = 1.0


def chunks(text: str, size: int = TEXT_LIMIT) -> list[str]:
    """Split a long text at line breaks where possible, within Telegram's limit."""
    parts: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = cut if cut > size // 2 else size
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*parts, text] if text else parts


class TelegramChannel:
    name = "telegram"

    def __init__(self, bot: Bot, settings: Settings, components: tuple[BotComponent, ...]) -> None:
        self.bot = bot
        self.settings = settings
        self.account = f"tg:{bot.id}"
        self.renderers: dict[str, Renderer] = {kind: r for c in components for kind, r in c.renderers.items()}
        # A post goes to thousands with the same text and buttons: rendered once per language.
        self._posts: dict[tuple[int, str], tuple[Notice, Rendered]] = {}

    def rates(self, recipient: Recipient) -> list[Rate]:
        chat = recipient.addresses.get(self.name, "?")
        return [Rate(self.account, BOT_RATE, burst=int(BOT_RATE)), Rate(f"{self.account}:chat:{chat}", CHAT_RATE)]

    def render(self, notice: Notice) -> Rendered:
        """The notice as its service wants it shown, in the current language."""
        renderer = self.renderers.get(notice.kind)
        return renderer(notice, self.settings) if renderer else Rendered(notice.render())

    async def deliver(self, *, recipient: Recipient, notice: Notice, attachment: Attachment | None = None) -> None:
        """Send the text, the file, then the prompt; the buttons go on the last of them."""
        address = recipient.addresses.get(self.name)
        if address is None:
            raise Unreachable("no Telegram account")
        chat_id = int(address)
        with use_locale(recipient.locale):
            shown = self.render(notice)
        try:
            parts = chunks(shown.text)
            for i, part in enumerate(parts):
                last = i == len(parts) - 1 and attachment is None
                await self.bot.send_message(chat_id, part, reply_markup=shown.markup if last else None)
            if attachment is not None:
                await self.bot.send_document(
                    chat_id, BufferedInputFile(attachment.data, filename=attachment.filename), reply_markup=shown.markup
                )
            if shown.prompt is not None:
                await self.bot.send_message(chat_id, shown.prompt, reply_markup=shown.prompt_markup)
        except TelegramForbiddenError as exc:
            raise Unreachable(str(exc)) from exc
        except TelegramRetryAfter as exc:
            raise RetryLater(float(exc.retry_after), self.account) from exc

    def account_of(self, recipient: Recipient) -> str:  # noqa: ARG002 - one bot today; per town with towns' own bots
        return self.account

    async def post(
        self, *, recipient: Recipient, notice: Notice, photo: Attachment | None = None, paid: bool = False,
    ) -> str:
        """One message: the rendered text as Telegram HTML (a photo's caption when there is a
        photo), its buttons; `paid` sends it as a paid broadcast (allow_paid_broadcast)."""
        address = recipient.addresses.get(self.name)
        if address is None:
            raise Unreachable("no Telegram account")
        cached = self._posts.get((id(notice), recipient.locale))
        if cached is not None and cached[0] is notice:
            shown = cached[1]
        else:
            with use_locale(recipient.locale):
                shown = self.render(notice)
            if len(self._posts) > 256:
                self._posts.clear()
            self._posts[(id(notice), recipient.locale)] = (notice, shown)
        paid_flag = True if paid else None
        try:
            if photo is not None:
                sent = await self.bot.send_photo(
                    int(address), BufferedInputFile(photo.data, filename=photo.filename), caption=shown.text,
                    parse_mode="HTML", reply_markup=shown.markup, allow_paid_broadcast=paid_flag,
                )
            else:
                sent = await self.bot.send_message(
                    int(address), shown.text, parse_mode="HTML", reply_markup=shown.markup, allow_paid_broadcast=paid_flag,
                )
        except TelegramForbiddenError as exc:
            raise Unreachable(str(exc)) from exc
        except TelegramRetryAfter as exc:
            raise RetryLater(float(exc.retry_after), self.account) from exc
        return str(sent.message_id)
