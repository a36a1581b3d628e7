"""Applied services as pluggable components (after Decidim's component manifests).

Each service declares a manifest: its slug, a translatable title, the roles that may open
it and where its miniapp lives. A town turns components on or off in its settings
(`settings["components"]`, a list of slugs; absent means all). The hub shows a person the
components their roles in the current town allow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from backend.core.users.models import Role

ALL_ROLES: frozenset[Role] = frozenset(Role)


@dataclass(frozen=True)
class Manifest:
    slug: str
    title: str  # msgid
    description: str  # msgid
    icon: str  # an emoji: no icon font or image to ship
    path: str  # miniapp path under /app/
    roles: frozenset[Role] = ALL_ROLES
    order: int = 100
    always_on: bool = False  # core pages a town cannot switch off (profile)


_registry: dict[str, Manifest] = {}


def register(manifest: Manifest) -> Manifest:
    """Add a component; registering the same slug twice is a programming error."""
    if manifest.slug in _registry and _registry[manifest.slug] != manifest:
        raise ValueError(f"component {manifest.slug!r} registered twice")
    _registry[manifest.slug] = manifest
    return manifest


def all_components() -> list[Manifest]:
    return sorted(_registry.values(), key=lambda m: (m.order, m.slug))


def available(*, roles: Iterable[Role], town_settings: dict) -> list[Manifest]:
    """Components a person with `roles` may open in a town with `town_settings`."""
    held = set(roles)
    enabled = town_settings.get("components")
    return [
        m
        for m in all_components()
        if (m.always_on or enabled is None or m.slug in enabled) and held & m.roles
    ]
