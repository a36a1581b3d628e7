"""What people do with the Atlas of Happiness, and which roles may do it unless a town decides otherwise."""

from __future__ import annotations

from backend.core.components.manifest import ALL_ROLES, Action
from backend.core.users.models import Role
from backend.i18n import N_

SLUG = "atlas"

CURATE = Action("curate", N_("Curate the Atlas: figures, places, stories, sections"), frozenset({Role.ORGANIZER, Role.HEAD, Role.ADMIN}))
SHARE_STORY = Action("share_story", N_("Share a story for the Atlas"), ALL_ROLES)

ACTIONS = (CURATE, SHARE_STORY)
