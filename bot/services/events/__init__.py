"""Events in the chat: the town's coming events, registration (terms, the form, a ticket with
a QR code and a calendar file, or the waitlist), confirming an offered place, cancelling,
teams, and how events' notices look."""

from backend.i18n import N_
from bot.component import BotComponent
from bot.services.events import keyboards
from bot.services.events.notices import RENDERERS
from bot.services.events.router import create_router

COMPONENT = BotComponent(
    slug="events",
    router=create_router,
    commands=(("events", N_("Events in your town")), ("mytickets", N_("My event tickets"))),
    menu=keyboards.menu_rows,
    renderers=RENDERERS,
    help=N_("/events — events in your town and registration\n/mytickets — your tickets, teams and cancelling"),
)
