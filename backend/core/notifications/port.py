"""The port through which the backend reaches people (reminders, status changes, answers).

The backend defines it; the bot implements it; the composition root wires them. Messages
are gettext msgids with parameters, translated by the adapter into each person's language;
`action` names something the person can do next (the adapter turns it into buttons).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    mime: str
    data: bytes


class Unreachable(Exception):
    """The person cannot be reached on this channel (blocked the bot, no account): don't retry."""


class Notifier(Protocol):
    async def notify(
        self,
        *,
        telegram_id: int,
        locale: str,
        text: str,
        attachment: Attachment | None = None,
        action: dict[str, Any] | None = None,
    ) -> None:
        """Deliver an already translated text; raise Unreachable when retrying is pointless."""


class NullNotifier:
    """Used when no messenger is configured: messages stay in the outbox, undelivered."""

    async def notify(self, **kwargs: Any) -> None:
        raise ConnectionError("no messenger is configured")
