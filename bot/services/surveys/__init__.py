"""Surveys in the chat: the list of open surveys, answering one question a message, and how
surveys' notices (published results) look."""

from backend.i18n import N_
from bot.component import BotComponent
from bot.services.surveys import keyboards
from bot.services.surveys.notices import RENDERERS
from bot.services.surveys.router import create_router

COMPONENT = BotComponent(
    slug="surveys",
    router=create_router,
    commands=(("surveys", N_("Surveys of your town")),),
    menu=keyboards.menu_rows,
    renderers=RENDERERS,
    help=N_("/surveys — answer your town's surveys, see published results"),
)
