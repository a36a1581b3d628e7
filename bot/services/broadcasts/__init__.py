"""Broadcasts in the chat: how a post looks (the organizer's buttons and a mute row under it)
and the residents' /mute."""

from backend.i18n import N_
from bot.component import BotComponent
from bot.services.broadcasts.notices import RENDERERS
from bot.services.broadcasts.router import create_router

COMPONENT = BotComponent(
    slug="broadcasts",
    router=create_router,
    commands=(("mute", N_("Mute announcements")),),
    renderers=RENDERERS,
    help=N_("/mute — choose which announcements of your town you get"),
)
