"""/start (with deep links), the main menu, town choice and /help."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, MenuButtonWebApp, Message, WebAppInfo
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.components import service as components
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Municipality
from backend.core.users import service as users
from backend.core.users.models import User
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.settings import Settings
from bot import keyboards
from bot.callbacks import MenuCB, TownCB


async def send_menu(message: Message, session: AsyncSession, user: User, town: Municipality, settings: Settings, bot: Bot) -> None:
    """The main menu of a town: the miniapps the person's roles allow, and settings."""
    available = await components.for_person(session, user_id=user.id, town=town)
    text = _("{town}: what would you like to do?").format(town=town.name)
    if not settings.miniapp_base:
        text += "\n\n" + _("The town's apps open once the server has a public HTTPS address.")
    await message.answer(text, reply_markup=keyboards.main_menu(available, settings.miniapp_base))
    if settings.miniapp_base:
        await bot.set_chat_menu_button(
            chat_id=message.chat.id,
            menu_button=MenuButtonWebApp(text=_("Services"), web_app=WebAppInfo(url=f"{settings.miniapp_base}/hub/")),
        )


async def start(message: Message, command: CommandObject, session: AsyncSession, user: User, settings: Settings, bot: Bot) -> None:
    """Greet, pick the town from the deep link (or ask), show the menu."""
    outcome = await users.start(session, user=user, payload=command.args)
    greeting = _("Hello, {name}! I am the digital front door of your town.").format(name=user.first_name or "")
    if outcome.town is None:
        if not outcome.choices:
            await message.answer(greeting + "\n\n" + _("No town is connected yet. Please come back later."))
            return
        await message.answer(greeting + "\n\n" + _("Choose your town:"), reply_markup=keyboards.towns(outcome.choices))
        return
    await message.answer(greeting)
    await send_menu(message, session, user, outcome.town, settings, bot)


async def menu(message: Message, session: AsyncSession, user: User, settings: Settings, bot: Bot) -> None:
    """Show the main menu again."""
    town = await users.current_town(session, user=user)
    if town is None:
        await start(message, CommandObject(prefix="/", command="start"), session, user, settings, bot)
        return
    await send_menu(message, session, user, town, settings, bot)


async def choose_town(query: CallbackQuery, callback_data: TownCB, session: AsyncSession, user: User, settings: Settings, bot: Bot) -> None:
    """The person picked a town."""
    town = await towns.get(session, municipality_id=callback_data.id)
    await users.join_town(session, user=user, municipality_id=town.id)
    await query.answer(_("Your town: {town}").format(town=town.name))
    assert isinstance(query.message, Message)
    await send_menu(query.message, session, user, town, settings, bot)


async def change_town(query: CallbackQuery, session: AsyncSession) -> None:
    """Offer the list of towns."""
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.answer(_("Choose your town:"), reply_markup=keyboards.towns(await towns.list_active(session)))


HELP = N_(
    "/start — main menu\n"
    "/appeal — write to the administration\n"
    "/myappeals — your appeals and their status\n"
    "/language — interface language\n"
    "/privacy — personal data consent\n"
    "/phone — share your phone number\n"
    "/mydata — a file with everything stored about you\n"
    "/forget — delete your personal data\n"
    "/cancel — stop the current dialog\n"
    "/help — this help"
)


async def help_(message: Message) -> None:
    """List the commands."""
    await message.answer(_("What I can do:") + "\n" + _(HELP))


def create_router() -> Router:
    """The start router, built fresh for each Dispatcher."""
    r = Router(name="start")
    r.message.filter(F.chat.type == "private")
    r.callback_query.filter(F.message.chat.type == "private")
    r.message.register(start, CommandStart())
    r.message.register(menu, Command("menu"))
    r.callback_query.register(choose_town, TownCB.filter())
    r.callback_query.register(change_town, MenuCB.filter(F.action == "town"))
    r.message.register(help_, Command("help"))
    return r
