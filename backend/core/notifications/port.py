"""The port through which the backend reaches people (reminders, status changes).

The backend defines it; the bot implements it; the composition root wires them. Messages
are gettext msgids with parameters, translated by the adapter into each person's language.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Notifier(Protocol):
    async def notify(self, *, user_id: int, message: str, params: dict[str, Any] | None = None) -> bool:
        """Deliver a message to a person; False when they cannot be reached."""


class NullNotifier:
    """Used when no messenger is configured: the message is logged, not lost silently."""

    async def notify(self, *, user_id: int, message: str, params: dict[str, Any] | None = None) -> bool:
        log.info("no messenger configured; notification for user %s not delivered: %s", user_id, message)
        return False
