"""What people do with surveys, and which roles may do it unless a town decides otherwise."""

from __future__ import annotations

from backend.core.components.manifest import ALL_ROLES, Action
from backend.core.users.models import Role
from backend.i18n import N_

SLUG = "surveys"
_ORGANIZERS = frozenset({Role.ORGANIZER, Role.HEAD, Role.ADMIN})

ANSWER = Action("answer", N_("Answer surveys"), ALL_ROLES)
MANAGE = Action("manage", N_("Build, open and close surveys"), _ORGANIZERS)
RESULTS = Action("results", N_("See and export survey results"), _ORGANIZERS)
PUBLISH = Action("publish", N_("Publish survey results to respondents"), _ORGANIZERS)

ACTIONS = (ANSWER, MANAGE, RESULTS, PUBLISH)
