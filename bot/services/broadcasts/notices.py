"""How a broadcast looks in Telegram: the organizer's HTML, their buttons, and the mute row."""

from __future__ import annotations

from backend.core.notifications.notices import Notice
from backend.services.broadcasts import notices
from backend.settings import Settings
from bot.component import Rendered, Renderer
from bot.services.broadcasts import keyboards


def post(notice: Notice, settings: Settings) -> Rendered:
    assert isinstance(notice, notices.Post)
    markup = keyboards.post(notice.buttons, town=notice.municipality_id, category=notice.category, settings=settings, preview=notice.preview)
    return Rendered(notice.html, markup=markup)


RENDERERS: dict[str, Renderer] = {notices.Post.kind: post}
