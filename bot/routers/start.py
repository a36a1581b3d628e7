"""/start (with deep links), the main menu, town choice and /help."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, MenuButtonWebApp, Message, WebAppInfo
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Municipality
from backend.core.users import service as users
from backend.core.users.models import User
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.runtime import Runtime
from bot import commands, keyboards
from bot.bots import BotPool
from bot.callbacks import MenuCB, TownCB
from bot.component import BotComponent


async def send_menu(
    message: Message, session: AsyncSession, user: User, town: Municipality, runtime: Runtime, components: tuple[BotComponent, ...], bot: Bot
) -> None:
    """The main menu of a town: the miniapps the person's roles allow, each service's
    buttons (of the services the town has on), and settings."""
    settings = runtime.settings
    roles = await users.roles_in(session, user_id=user.id, municipality_id=town.id)
    miniapps = runtime.registry.available(roles=roles, town=town)
    rows = [row for c in components if c.menu and runtime.registry.is_on(c.slug, town) for row in c.menu()]
    text = _("{town}: what would you like to do?").format(town=town.name)
    await message.answer(text, reply_markup=keyboards.main_menu(miniapps, settings.miniapp_base, rows))
    if settings.miniapp_base:
        await bot.set_chat_menu_button(
            chat_id=message.chat.id,
            menu_button=MenuButtonWebApp(text=_("Services"), web_app=WebAppInfo(url=f"{settings.miniapp_base}/hub/")),
        )


async def _entered(
    message: Message, session: AsyncSession, previous_id: int | None, town: Municipality, locale: str, runtime: Runtime,
    components: tuple[BotComponent, ...], bot: Bot,
) -> None:
    """The person is now in `town`: their chat gets the town's commands. Again in the same
    town, its own list is set again when it has a service off (it may have been switched off
    since), and nothing is called otherwise."""
    if previous_id == town.id:
        previous = town
    else:
        previous = await session.get(Municipality, previous_id) if previous_id else None
    await commands.sync_chat(
        bot, chat_id=message.chat.id, locale=locale, town=town, previous=previous, registry=runtime.registry, components=components
    )


async def start(
    message: Message, command: CommandObject, session: AsyncSession, user: User, runtime: Runtime,
    components: tuple[BotComponent, ...], bot: Bot, locale: str, bots: BotPool | None = None,
) -> None:
    """Greet, pick the town from the deep link (or ask), show the menu."""
    before = user.current_municipality_id
    if command.args and command.args.startswith(users.INVITE_PREFIX):
        await _invited(message, command.args.removeprefix(users.INVITE_PREFIX), session, user, before, runtime, components, bot, locale)
        return
    own = bots.town_of(bot) if bots is not None else None
    if own is not None and not command.args:
        # A town's own bot speaks for its town: no choice to make.
        await users.join_town(session, user=user, municipality_id=own)
    outcome = await users.start(session, user=user, payload=command.args)
    greeting = _("Hello, {name}! I am the digital front door of your town.").format(name=user.first_name or "")
    if outcome.town is None:
        if not outcome.choices:
            await message.answer(greeting + "\n\n" + _("No town is connected yet. Please come back later."))
            return
        await message.answer(greeting + "\n\n" + _("Choose your town:"), reply_markup=keyboards.towns(outcome.choices))
        return
    await message.answer(greeting)
    await _entered(message, session, before, outcome.town, locale, runtime, components, bot)
    await send_menu(message, session, user, outcome.town, runtime, components, bot)


async def _invited(
    message: Message, code: str, session: AsyncSession, user: User, before: int | None, runtime: Runtime,
    components: tuple[BotComponent, ...], bot: Bot, locale: str,
) -> None:
    """A staff invitation (t.me/<bot>?start=inv_<code>): take the role it gives, say what it
    gave, and show the town's menu (now with the miniapps of the new role)."""
    granted = await users.redeem_invite(session, user=user, code=code)
    role = _(users.ROLE_TITLES[granted.role])
    if granted.department is not None:
        text = _("You are now «{role}» in {town}, department: {department}.").format(
            role=role, town=granted.town.name, department=granted.department.name
        )
    else:
        text = _("You are now «{role}» in {town}.").format(role=role, town=granted.town.name)
    await message.answer(text)
    await _entered(message, session, before, granted.town, locale, runtime, components, bot)
    await send_menu(message, session, user, granted.town, runtime, components, bot)


async def menu(
    message: Message, session: AsyncSession, user: User, runtime: Runtime, components: tuple[BotComponent, ...], bot: Bot, locale: str
) -> None:
    """Show the main menu again."""
    town = await users.current_town(session, user=user)
    if town is None:
        await start(message, CommandObject(prefix="/", command="start"), session, user, runtime, components, bot, locale)
        return
    await send_menu(message, session, user, town, runtime, components, bot)


async def choose_town(
    query: CallbackQuery, callback_data: TownCB, session: AsyncSession, user: User, runtime: Runtime,
    components: tuple[BotComponent, ...], bot: Bot, locale: str,
) -> None:
    """The person picked a town."""
    town = await towns.get(session, municipality_id=callback_data.id)
    before = user.current_municipality_id
    await users.join_town(session, user=user, municipality_id=town.id)
    await query.answer(_("Your town: {town}").format(town=town.name))
    assert isinstance(query.message, Message)
    await _entered(query.message, session, before, town, locale, runtime, components, bot)
    await send_menu(query.message, session, user, town, runtime, components, bot)


async def change_town(query: CallbackQuery, session: AsyncSession) -> None:
    """Offer the list of towns."""
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.answer(_("Choose your town:"), reply_markup=keyboards.towns(await towns.list_active(session)))


HELP_FIRST = N_("/start — main menu")
HELP_LAST = N_(
    "/language — interface language\n"
    "/privacy — personal data consent\n"
    "/phone — share your phone number\n"
    "/mydata — a file with everything stored about you\n"
    "/forget — delete your personal data\n"
    "/cancel — stop the current dialog\n"
    "/help — this help"
)


async def help_(message: Message, session: AsyncSession, user: User, runtime: Runtime, components: tuple[BotComponent, ...]) -> None:
    """List the commands (the services' only where the person's town has them on)."""
    town = await users.current_town(session, user=user)
    services = [_(c.help) for c in components if c.help and (town is None or runtime.registry.is_on(c.slug, town))]
    await message.answer("\n".join([_("What I can do:"), _(HELP_FIRST), *services, _(HELP_LAST)]))


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
