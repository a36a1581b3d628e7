"""Bot commands in every language, and the chat menu button that opens the hub.

The global list has the core commands and every installed service's. A person's chat gets
the list of their town, so a service the town has switched off shows no command there.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat, MenuButtonDefault, MenuButtonWebApp, WebAppInfo

from backend.core.components.registry import Registry
from backend.core.municipalities.models import Municipality
from backend.i18n import N_, translate
from backend.settings import SUPPORTED_LOCALES, Settings
from bot.component import BotComponent

CORE_FIRST = [("start", N_("Main menu"))]
CORE_LAST = [
    ("language", N_("Interface language")),
    ("privacy", N_("Personal data consent")),
    ("phone", N_("Share your phone number")),
    ("mydata", N_("Everything stored about me")),
    ("forget", N_("Delete my personal data")),
    ("cancel", N_("Cancel the current dialog")),
    ("help", N_("Help")),
]


def commands_for(
    locale: str, components: tuple[BotComponent, ...], *, registry: Registry | None = None, town: Municipality | None = None
) -> list[BotCommand]:
    """The commands in `locale`: the core's and the services' (only those `town` has on, when given)."""
    services = [
        pair for c in components
        if town is None or registry is None or registry.is_on(c.slug, town)
        for pair in c.commands
    ]
    return [BotCommand(command=c, description=translate(d, locale)) for c, d in (*CORE_FIRST, *services, *CORE_LAST)]


async def register(bot: Bot, settings: Settings, components: tuple[BotComponent, ...]) -> None:
    """Register commands per language (plus a default) and the menu button."""
    for locale in SUPPORTED_LOCALES:
        await bot.set_my_commands(commands_for(locale, components), language_code=locale)
    await bot.set_my_commands(commands_for(settings.DEFAULT_LOCALE, components))
    if settings.miniapp_base:
        button = MenuButtonWebApp(
            text=translate("Services", settings.DEFAULT_LOCALE), web_app=WebAppInfo(url=f"{settings.miniapp_base}/hub/")
        )
        await bot.set_chat_menu_button(menu_button=button)
    else:
        await bot.set_chat_menu_button(menu_button=MenuButtonDefault())


def _restricted(town: Municipality | None, registry: Registry, components: tuple[BotComponent, ...]) -> bool:
    return town is not None and any(c.commands and not registry.is_on(c.slug, town) for c in components)


async def sync_chat(
    bot: Bot, *, chat_id: int, locale: str, town: Municipality, previous: Municipality | None, registry: Registry,
    components: tuple[BotComponent, ...],
) -> None:
    """Give a person's chat the commands of their town: its own list (in their language) when
    the town has some service off, else the global one (nothing to call when it had that)."""
    scope = BotCommandScopeChat(chat_id=chat_id)
    if _restricted(town, registry, components):
        await bot.set_my_commands(commands_for(locale, components, registry=registry, town=town), scope=scope)
    elif _restricted(previous, registry, components):
        await bot.delete_my_commands(scope=scope)
