"""Routers, assembled explicitly and in order by `bot.dispatcher`."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import CallbackQuery, Message


def from_menu(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[None]]:
    """A menu button that does what a command does: answer the press, then run the command's
    handler on the button's message with the workflow data it asks for."""
    wanted = set(inspect.signature(handler).parameters) - {"message"}

    async def on_press(query: CallbackQuery, **data: Any) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        await handler(query.message, **{k: v for k, v in data.items() if k in wanted})

    on_press.__name__ = f"{handler.__name__}_from_menu"
    return on_press
