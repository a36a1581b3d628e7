"""What people do with broadcasts, and which roles may do it unless a town decides otherwise."""

from __future__ import annotations

from backend.core.components.manifest import Action
from backend.core.components.permissions import effective_roles
from backend.core.municipalities.models import Municipality
from backend.core.users.models import Role
from backend.i18n import N_

SLUG = "broadcasts"

SEND = Action("send", N_("Compose and send announcements to residents"), frozenset({Role.ORGANIZER, Role.HEAD, Role.ADMIN}))
PAID = Action("send_paid", N_("Send paid broadcasts (up to 1,000 messages a second, billed in Stars)"), frozenset({Role.HEAD, Role.ADMIN}))

ACTIONS = (SEND, PAID)


def roles(town: Municipality, action: Action) -> frozenset[Role]:
    """Who may perform `action` in this town."""
    return effective_roles(town, SLUG, action)
