"""Who may perform an action of a service in a town: the manifest's default roles, unless
the town's administration chose others."""

from __future__ import annotations

from backend.core.components.manifest import Action
from backend.core.municipalities.models import Municipality
from backend.core.municipalities.settings import town_settings
from backend.core.users.models import Role


def effective_roles(town: Municipality, slug: str, action: Action) -> frozenset[Role]:
    """The roles that may perform `action` of service `slug` in `town`."""
    chosen = town_settings(town).permissions.get(f"{slug}.{action.name}")
    if chosen is None:
        return action.roles
    return frozenset(Role(r) for r in chosen if r in Role.__members__.values())
