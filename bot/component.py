"""The bot's side of a component: what a service brings to the chat.

Each service's bot part lives in `bot/services/<slug>/` and declares one `BotComponent` in its
`__init__.py`: its router (built fresh per Dispatcher), its commands, its main-menu buttons
and how its notices look in Telegram (text, buttons, a follow-up prompt). The slug is the
backend manifest's, so a town that turns the service off loses its commands, its buttons
and its handlers together (they say the service is off).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiogram import Router
from aiogram.fsm.state import StatesGroup
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from backend.core.notifications.notices import Notice
from backend.settings import Settings


@dataclass(frozen=True)
class Rendered:
    """A notice as Telegram shows it: the text, its buttons, and an optional prompt sent after
    the text and any attachment (e.g. "rate the answer" under the answer's PDF)."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    prompt: str | None = None
    prompt_markup: InlineKeyboardMarkup | None = None


# `render(notice, settings)` in the current language (the channel sets it to the recipient's).
Renderer = Callable[[Notice, Settings], Rendered]


@dataclass(frozen=True)
class BotComponent:
    slug: str
    router: Callable[[], Router]
    commands: tuple[tuple[str, str], ...] = ()  # (command, description msgid)
    menu: Callable[[], list[list[InlineKeyboardButton]]] | None = None  # main-menu rows, in the current language
    renderers: dict[str, Renderer] = field(default_factory=dict)  # notice kind -> how it looks
    help: str | None = None  # msgid of its lines in /help
    # Its dialogs: one left half-way in a town that has since switched the service off is closed.
    dialogs: tuple[type[StatesGroup], ...] = ()

    def owns_state(self, state: str | None) -> bool:
        """Whether a dialog state (as stored, "Group:step") is one of this service's."""
        return state is not None and any(state in group.__all_states_names__ for group in self.dialogs)
