"""The one error handler: domain errors get a localized reply; anything else an apology and a
log line with the update_id. Nothing is dropped silently.

It runs after the update's transaction rolled back, so nothing the failed handler asked to
send goes out; its own reply is sent at once (it reports no saved fact)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from backend.errors import DomainError
from backend.i18n import gettext as _
from backend.runtime import Runtime
from bot.inbox import Requeue

log = logging.getLogger("bot.errors")


async def on_error(event: ErrorEvent, runtime: Runtime) -> None:
    update, exc = event.update, event.exception
    if isinstance(exc, DomainError):
        text = exc.render()
    else:
        runtime.metrics.update_errors.labels(update.event_type).inc()
        log.error("update %s failed: %s", update.update_id, exc, exc_info=exc)
        text = _("Sorry, something went wrong on our side. We have logged it; please try again a bit later.")
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.message is not None and update.message.chat.type == "private":
        await update.message.answer(text)


def create_router() -> Router:
    """The errors router, built fresh for each Dispatcher. A `Requeue` is not an error: it
    passes through to the inbox, which queues the update behind its chat."""
    r = Router(name="errors")
    r.errors.register(on_error, ~ExceptionTypeFilter(Requeue))
    return r
