"""What people do with events, and which roles may do it unless a town decides otherwise."""

from __future__ import annotations

from backend.core.components.manifest import ALL_ROLES, Action
from backend.core.components.permissions import effective_roles
from backend.core.municipalities.models import Municipality
from backend.core.users.models import Role
from backend.i18n import N_

SLUG = "events"
_ORGANIZERS = frozenset({Role.ORGANIZER, Role.ADMIN})

REGISTER = Action("register", N_("Register for events"), ALL_ROLES)
MANAGE = Action("manage", N_("Create events, their schedule and see the participants"), _ORGANIZERS)
CHECK_IN = Action("check_in", N_("Check participants in at the door"), _ORGANIZERS)

ACTIONS = (REGISTER, MANAGE, CHECK_IN)


def roles(town: Municipality, action: Action) -> frozenset[Role]:
    """Who may perform `action` in this town."""
    return effective_roles(town, SLUG, action)
