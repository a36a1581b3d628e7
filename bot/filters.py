"""Filters that match a translated button caption in any supported language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Router
from aiogram.filters import BaseFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from backend.i18n import translate
from backend.settings import SUPPORTED_LOCALES


class I18nText(BaseFilter):
    """Matches a message whose text is `msgid` in any language (reply-keyboard buttons)."""

    def __init__(self, msgid: str) -> None:
        self.variants = {translate(msgid, loc) for loc in SUPPORTED_LOCALES}

    async def __call__(self, message: Message) -> bool:
        return message.text in self.variants


def inline_magic_filters(router: Router) -> int:
    """Evaluate magic filters (`F.text`, `F.chat.type == "private"`, …) and states used as
    filters (`AppealForm.text`) on the event loop.

    aiogram runs every synchronous callable it calls, these included, through
    `asyncio.to_thread` (aiogram/dispatcher/event/handler.py, CallableObject.call): a thread hop
    per filter, per handler tried, per update, which on a router with dozens of handlers cost
    more than the rest of the update's handling. Both only compare attributes of the event and
    the state's name, so it is safe, and far cheaper, to run them inline. Returns how many were
    changed.
    """
    changed = 0
    for r in (router, *router.chain_tail):
        for observer in r.observers.values():
            handlers = [observer._handler, *observer.handlers]  # the observer's own filters, then each handler's
            for handler in handlers:
                for f in handler.filters or ():
                    if f.awaitable:
                        continue
                    if f.magic is not None:
                        f.callback = _inline(f.magic.resolve)
                    elif isinstance(f.callback, (State, StatesGroup)) or f.callback is StatesGroup:
                        f.callback = _inline(f.callback)
                    else:
                        continue
                    f.awaitable = True
                    changed += 1
    return changed


def _inline(resolve: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def resolved(*args: Any, **kwargs: Any) -> Any:
        return resolve(*args, **kwargs)

    return resolved
