"""What a broadcast looks like to the channel: a typed notice (the bot renders its buttons and
the mute buttons under it)."""

from __future__ import annotations

from typing import Any

from backend.core.notifications.notices import Notice, Priority


class Post(Notice):
    """A broadcast's message. The text is Telegram HTML written by an organizer, shown as is
    (not a msgid)."""

    kind = "broadcasts.post"
    text = "{html}"
    priority = Priority.BULK

    broadcast_id: int
    municipality_id: int
    category: str
    html: str
    buttons: list[list[dict[str, Any]]] = []
    preview: bool = False  # the organizer's own copy: no mute buttons

    def render(self, locale: str | None = None) -> str:
        return self.html


NOTICES: list[type[Notice]] = [Post]
