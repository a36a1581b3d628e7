"""Appeals in the chat: the resident's dialog, "My appeals", rating answers, replying to the
administration's questions, and how appeals' notices look."""

from backend.i18n import N_
from bot.component import BotComponent
from bot.services.appeals import keyboards
from bot.services.appeals.dialog import AppealForm, RateForm, ReplyForm
from bot.services.appeals.notices import RENDERERS
from bot.services.appeals.router import create_router

COMPONENT = BotComponent(
    slug="appeals",
    router=create_router,
    commands=(("appeal", N_("Write to the administration")), ("myappeals", N_("My appeals"))),
    menu=keyboards.menu_rows,
    renderers=RENDERERS,
    help=N_("/appeal — write to the administration\n/myappeals — your appeals and their status"),
    dialogs=(AppealForm, RateForm, ReplyForm),
)
