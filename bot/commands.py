"""Bot commands in every language, and the chat menu button that opens the hub."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, MenuButtonDefault, MenuButtonWebApp, WebAppInfo

from backend.i18n import N_, translate
from backend.settings import SUPPORTED_LOCALES, Settings

COMMANDS = [
    ("start", N_("Main menu")),
    ("appeal", N_("Write to the administration")),
    ("myappeals", N_("My appeals")),
    ("language", N_("Interface language")),
    ("privacy", N_("Personal data consent")),
    ("phone", N_("Share your phone number")),
    ("mydata", N_("Everything stored about me")),
    ("forget", N_("Delete my personal data")),
    ("cancel", N_("Cancel the current dialog")),
    ("help", N_("Help")),
]


def commands_for(locale: str) -> list[BotCommand]:
    return [BotCommand(command=c, description=translate(d, locale)) for c, d in COMMANDS]


async def register(bot: Bot, settings: Settings) -> None:
    """Register commands per language (plus a default) and the menu button."""
    for locale in SUPPORTED_LOCALES:
        await bot.set_my_commands(commands_for(locale), language_code=locale)
    await bot.set_my_commands(commands_for(settings.DEFAULT_LOCALE))
    if settings.miniapp_base:
        button = MenuButtonWebApp(
            text=translate("Services", settings.DEFAULT_LOCALE), web_app=WebAppInfo(url=f"{settings.miniapp_base}/hub/")
        )
        await bot.set_chat_menu_button(menu_button=button)
    else:
        await bot.set_chat_menu_button(menu_button=MenuButtonDefault())
