"""Bot and Dispatcher factories: storage, isolation, middlewares and routers, in order."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.memory import DisabledEventIsolation
from aiogram.types import CallbackQuery, Message, TelegramObject

from backend.core.municipalities.models import Municipality
from backend.i18n import gettext as _
from backend.runtime import Runtime
from backend.settings import Settings
from bot import commands, errors
from bot.component import BotComponent
from bot.filters import inline_magic_filters
from bot.middlewares import Handler, ObservabilityMiddleware, ThrottlingMiddleware, UpdateTransaction, UserMiddleware
from bot.replies import CapturingSession, Replies
from bot.routers import fallback, profile, start
from bot.services import INSTALLED
from bot.storage import DatabaseStorage


def create_bot(settings: Settings, *, session: BaseSession | None = None) -> Bot:
    """A Bot talking to TELEGRAM_API_URL (Telegram's, or a self-hosted Bot API server), whose
    replies during an update wait for its commit (bot/replies.py)."""
    if session is None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.TELEGRAM_API_URL))
    return Bot(settings.signing_token, session=CapturingSession(session), default=DefaultBotProperties(parse_mode=None))


class ServiceGate(BaseMiddleware):
    """Inner middleware of a service's router: where the person's town has the service off,
    its handlers say so instead of running."""

    def __init__(self, component: BotComponent) -> None:
        self.component = component
        self.slug = component.slug

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user, runtime = data.get("user"), data["runtime"]
        if user is None or user.current_municipality_id is None:
            return await handler(event, data)
        town = await data["session"].get(Municipality, user.current_municipality_id)
        if town is None or runtime.registry.is_on(self.slug, town):
            return await handler(event, data)
        title = runtime.registry.get(self.slug).title if self.slug in runtime.registry else self.slug
        text = _("«{service}» is not available in {town}.").format(service=_(title), town=town.name)
        chat = None
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
            chat = event.message.chat if event.message else None
        elif isinstance(event, Message):
            await event.answer(text)
            chat = event.chat
        # A dialog of the service left half-way when the town switched it off: closed, so the
        # person's next words reach the rest of the bot instead of this refusal again.
        if self.component.owns_state(data.get("raw_state")):
            await data["state"].clear()
        # The chat still offered it (the town switched it off since): give it the town's commands.
        if chat is not None and chat.type == "private":
            await commands.sync_chat(
                data["bot"], chat_id=chat.id, locale=data.get("locale") or runtime.settings.DEFAULT_LOCALE, town=town, previous=None,
                registry=runtime.registry, components=data["components"],
            )
        return None


def create_dispatcher(runtime: Runtime, replies: Replies, *, components: tuple[BotComponent, ...] = INSTALLED) -> Dispatcher:
    """The Dispatcher with the whole middleware stack, the core routers and every service's.

    Dialog state is in the database (bot/storage.py), read and written in the update's
    transaction; so aiogram's FSM middleware comes after the transaction's, and needs no event
    isolation of its own: the inbox hands a chat's updates over one at a time.
    """
    dp = Dispatcher(
        storage=DatabaseStorage(runtime.sessionmaker), events_isolation=DisabledEventIsolation(), disable_fsm=True,
        runtime=runtime, settings=runtime.settings, components=components,
    )
    storage = dp.fsm.storage
    assert isinstance(storage, DatabaseStorage)

    def dialog_key(bot: Bot, data: dict[str, Any]) -> str | None:
        context = dp.fsm.resolve_event_context(bot, data)
        return storage.key_builder.build(context.key) if context is not None else None

    dp.update.outer_middleware(ObservabilityMiddleware(runtime))
    dp.update.outer_middleware(UpdateTransaction(runtime, replies, dialog_key))
    dp.update.outer_middleware(ThrottlingMiddleware(runtime))
    dp.update.outer_middleware(UserMiddleware(runtime))
    dp.update.outer_middleware(dp.fsm)
    # Services sit before start and profile: inside their dialogs they take the contact and
    # the consent button first (through bot/steps.py) and go on with the dialog, and they see
    # /start first while a dialog of theirs is going (to say the draft is kept; they let it
    # pass on). Outside their dialogs they take only their own commands and buttons, and free
    # text they offer to file, so everything else reaches start, profile and the fallback.
    dp.include_router(errors.create_router())
    for component in components:
        router = component.router()
        gate = ServiceGate(component)
        router.message.middleware(gate)
        router.callback_query.middleware(gate)
        dp.include_router(router)
    dp.include_routers(start.create_router(), profile.create_router(), fallback.create_router())
    inline_magic_filters(dp)
    return dp
