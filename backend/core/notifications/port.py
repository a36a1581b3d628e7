"""The port through which the backend reaches people, and the recipients it addresses.

The backend defines it; the bot implements it (one channel, Telegram); the composition root
wires them. A channel gets a recipient (a person with their language and their address on
that channel) and a typed notice, and renders and sends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from backend.core.notifications.notices import Notice
from backend.core.notifications.pacing import Rate


@dataclass(frozen=True)
class Attachment:
    filename: str
    mime: str
    data: bytes


@dataclass(frozen=True)
class Recipient:
    """A person as a channel sees them."""

    user_id: int
    locale: str
    addresses: Mapping[str, str] = field(default_factory=dict)  # channel name -> address on it
    municipality_id: int | None = None  # the town the message is about (which bot speaks for it)


class Unreachable(Exception):
    """The person cannot be reached on this channel (blocked the bot, no account): don't retry."""


class RetryLater(Exception):
    """The channel asked us to wait (Telegram's 429 with retry_after): pause, then go on."""

    def __init__(self, seconds: float, account: str) -> None:
        super().__init__(f"retry after {seconds}s on {account}")
        self.seconds = seconds
        self.account = account


class Channel(Protocol):
    name: str

    def rates(self, recipient: Recipient) -> list[Rate]:
        """The pacing limits a message to this recipient counts against."""

    async def deliver(self, *, recipient: Recipient, notice: Notice, attachment: Attachment | None = None) -> None:
        """Render and send; raise Unreachable when retrying is pointless, RetryLater when asked to wait."""


class Poster(Protocol):
    """A channel that also sends posts: one formatted message (the notice's text as the
    channel's markup, an optional photo, buttons) per call, for broadcasts to many. It says
    which message the post became; paced by the caller (`account_of` names the budget it spends)."""

    name: str

    def account_of(self, recipient: Recipient) -> str:
        """The key of the sending account's budget (Telegram: the bot's), also the key a
        RetryLater pauses."""

    async def post(
        self, *, recipient: Recipient, notice: Notice, photo: Attachment | None = None, paid: bool = False,
    ) -> str:
        """Send it; returns the message's id on the channel. Raises Unreachable, RetryLater, or
        another error when it was refused."""


class NullChannel:
    """Used when no messenger is configured: notices stay in the outbox, undelivered."""

    name = "none"

    def rates(self, recipient: Recipient) -> list[Rate]:
        return []

    async def deliver(self, *, recipient: Recipient, notice: Notice, attachment: Attachment | None = None) -> None:
        raise ConnectionError("no messenger is configured")

    def account_of(self, recipient: Recipient) -> str:
        return self.name

    async def post(
        self, *, recipient: Recipient, notice: Notice, photo: Attachment | None = None, paid: bool = False,
    ) -> str:
        raise ConnectionError("no messenger is configured")
