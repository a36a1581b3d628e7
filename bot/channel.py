"""The Telegram adapter of the backend's notification port: a notice becomes a text (split at
Telegram's limit), its attachment, and the buttons its service's renderer gives it.

A notice about a town goes through the town's own bot when it has one (bot/bots.py), and
counts against that bot's budget (`tg:<bot id>`), so towns with their own bots send in
parallel. A person who has never opened the town's bot cannot be written to by it (Telegram
refuses before anything is sent): then the platform's bot, which they have talked to, sends.
Someone who blocked the town's bot is unreachable, as with the platform's.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import BufferedInputFile

from backend.core.notifications.notices import Notice
from backend.core.notifications.pacing import Rate
from backend.core.notifications.port import Attachment, Recipient, RetryLater, Unreachable
from backend.i18n import use_locale
from backend.settings import Settings
from bot.bots import BotPool
from bot.component import BotComponent, Rendered, Renderer

TEXT_LIMIT = 4096
# Telegram's limits per bot: about 30 messages a second overall, 1 a second per chat, 20 a
# minute per group (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this).
BOT_RATE = 30.0
CHAT_RATE = 1.0
GROUP_RATE = 20 / 60


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

    def __init__(self, bot: Bot, settings: Settings, components: tuple[BotComponent, ...], *, pool: BotPool | None = None) -> None:
        self.bot = bot
        self.pool = pool
        self.settings = settings
        self.account = f"tg:{bot.id}"
        self.renderers: dict[str, Renderer] = {kind: r for c in components for kind, r in c.renderers.items()}
        # A post goes to thousands with the same text and buttons: rendered once per language.
        self._posts: dict[tuple[int, str], tuple[Notice, Rendered]] = {}

    def bot_for(self, recipient: Recipient) -> Bot:
        """The bot that speaks for the recipient's town."""
        return self.pool.for_town(recipient.municipality_id) if self.pool is not None else self.bot

    def rates(self, recipient: Recipient) -> list[Rate]:
        chat = recipient.addresses.get(self.name, "?")
        account = f"tg:{self.bot_for(recipient).id}"
        per_chat = GROUP_RATE if chat.startswith("-") else CHAT_RATE  # groups and channels have negative ids
        return [Rate(account, BOT_RATE, burst=int(BOT_RATE)), Rate(f"{account}:chat:{chat}", per_chat)]

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
        bot = self.bot_for(recipient)
        try:
            try:
                await self._send(bot, chat_id, shown, attachment)
            except _NotStarted:
                # The town's bot may not write first to someone who never opened it.
                await self._send(self.bot, chat_id, shown, attachment)
                bot = self.bot
        except (TelegramForbiddenError, _NotStarted) as exc:
            raise Unreachable(str(exc.__cause__ or exc)) from exc
        except TelegramRetryAfter as exc:
            raise RetryLater(float(exc.retry_after), f"tg:{bot.id}") from exc

    async def _send(self, bot: Bot, chat_id: int, shown: Rendered, attachment: Attachment | None) -> None:
        """Send the text, the file, then the prompt; the buttons go on the last of them."""
        sent = False
        try:
            parts = chunks(shown.text)
            for i, part in enumerate(parts):
                last = i == len(parts) - 1 and attachment is None
                await bot.send_message(chat_id, part, reply_markup=shown.markup if last else None)
                sent = True
            if attachment is not None:
                await bot.send_document(
                    chat_id, BufferedInputFile(attachment.data, filename=attachment.filename), reply_markup=shown.markup
                )
                sent = True
            if shown.prompt is not None:
                await bot.send_message(chat_id, shown.prompt, reply_markup=shown.prompt_markup)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            # Never opened: "bot can't initiate conversation with a user" (403) or "chat not
            # found" (400). A person who blocked the town's bot is not written to by another.
            text = str(exc).lower()
            never_opened = "initiate conversation" in text or "chat not found" in text
            if not sent and never_opened and bot is not self.bot:
                raise _NotStarted() from exc
            raise


    def account_of(self, recipient: Recipient) -> str:
        """The budget a message to the recipient counts against: the bot of their town."""
        return f"tg:{self.bot_for(recipient).id}"

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
        bot = self.bot_for(recipient)
        try:
            if photo is not None:
                sent = await bot.send_photo(
                    int(address), BufferedInputFile(photo.data, filename=photo.filename), caption=shown.text,
                    parse_mode="HTML", reply_markup=shown.markup, allow_paid_broadcast=paid_flag,
                )
            else:
                sent = await bot.send_message(
                    int(address), shown.text, parse_mode="HTML", reply_markup=shown.markup, allow_paid_broadcast=paid_flag,
                )
        except TelegramForbiddenError as exc:
            raise Unreachable(str(exc)) from exc
        except TelegramRetryAfter as exc:
            raise RetryLater(float(exc.retry_after), f"tg:{bot.id}") from exc
        return str(sent.message_id)


class _NotStarted(Exception):
    """A town's bot was refused before anything was sent: the person never opened it."""
