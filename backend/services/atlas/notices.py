"""What the Atlas tells people: the author of a story hears when it is published or declined."""

from __future__ import annotations

from backend.core.notifications.notices import Notice
from backend.i18n import N_


class StoryPublished(Notice):
    kind = "atlas.story_published"
    text = N_("Your story «{title}» is now on the town's Atlas of Happiness: {url}")
    title: str
    url: str


class StoryDeclined(Notice):
    kind = "atlas.story_declined"
    text = N_("Your story «{title}» will not be published on the Atlas. {reason}")
    title: str
    reason: str


NOTICES = (StoryPublished, StoryDeclined)
