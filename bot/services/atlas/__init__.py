"""The Atlas in the chat: /atlas gives the town's public page and a button to share a story."""

from backend.i18n import N_
from bot.component import BotComponent
from bot.services.atlas.router import create_router

COMPONENT = BotComponent(
    slug="atlas",
    router=create_router,
    commands=(("atlas", N_("The town's Atlas of Happiness")),),
    help=N_("/atlas — the town's Atlas of Happiness; share your story"),
)
