"""The bot's side of the applied services, each in bot/services/<slug>/. `INSTALLED` is the one
list of them: the dispatcher, the commands, the main menu and the notice renderers iterate
over it. Adding a service adds one line here (and one in backend/services)."""

from bot.component import BotComponent
from bot.services.appeals import COMPONENT as appeals
from bot.services.atlas import COMPONENT as atlas
from bot.services.broadcasts import COMPONENT as broadcasts
from bot.services.events import COMPONENT as events
from bot.services.surveys import COMPONENT as surveys

INSTALLED: tuple[BotComponent, ...] = (appeals, surveys, events, broadcasts, atlas)
