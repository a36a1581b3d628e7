"""The toy's bot half: its router, its command and menu button, how its notice looks."""

from backend.i18n import N_
from bot.component import BotComponent
from tests.services.toy.bot.router import RENDERERS, create_router, menu_rows

COMPONENT = BotComponent(
    slug="toy",
    router=create_router,
    commands=(("toy", N_("My notes")),),
    menu=menu_rows,
    renderers=RENDERERS,
    help=N_("/toy — your notes"),
)
