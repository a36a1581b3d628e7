"""The installed components: the core pages and every applied service in INSTALLED.

Core cannot import applied services; this module, above both, puts them in one registry for
the runtime. Tests and tools may add components of their own.
"""

from __future__ import annotations

from collections.abc import Iterable

from backend.core.admin.manifest import ADMIN
from backend.core.components.manifest import Manifest
from backend.core.components.registry import Registry
from backend.core.users.manifest import PROFILE
from backend.services import INSTALLED

CORE: tuple[Manifest, ...] = (PROFILE, ADMIN)


def registry(extra: Iterable[Manifest] = ()) -> Registry:
    """Core pages, the installed services and any `extra` ones."""
    return Registry([*CORE, *INSTALLED, *extra])
