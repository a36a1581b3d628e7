"""The installed components, as the composition root hands them over.

Core cannot import applied services, so nothing here lists them: the composition root builds
one `Registry` from `backend.services.INSTALLED` (plus the core pages) and puts it in the
runtime, and every consumer (the app, the hub, privacy, files, the scheduler, the demo) reads
it from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from backend.core.components.manifest import AccessCheck, Audience, Manifest
from backend.core.municipalities.models import Municipality
from backend.core.municipalities.settings import is_enabled
from backend.core.users.models import Role


class Registry:
    def __init__(self, manifests: Iterable[Manifest]) -> None:
        self._by_slug: dict[str, Manifest] = {}
        for m in manifests:
            if m.slug in self._by_slug:
                raise ValueError(f"component {m.slug!r} installed twice")
            self._by_slug[m.slug] = m
        self._audiences: dict[str, Audience] = {}
        for m in self._by_slug.values():
            for audience in m.audiences:
                if audience.name in self._audiences:
                    raise ValueError(f"audience {audience.name!r} declared by two components")
                self._audiences[audience.name] = audience
        self._files: dict[str, AccessCheck] = {}
        self._documents: dict[str, AccessCheck] = {}
        for m in self._by_slug.values():
            for owner_type, check in m.files.items():
                if owner_type in self._files:
                    raise ValueError(f"files of {owner_type!r} claimed by two components")
                self._files[owner_type] = check
            for origin_type, check in m.documents.items():
                if origin_type in self._documents:
                    raise ValueError(f"documents from {origin_type!r} claimed by two components")
                self._documents[origin_type] = check

    def __iter__(self) -> Iterator[Manifest]:
        return iter(sorted(self._by_slug.values(), key=lambda m: (m.order, m.slug)))

    def __contains__(self, slug: object) -> bool:
        return slug in self._by_slug

    def get(self, slug: str) -> Manifest:
        return self._by_slug[slug]

    def is_on(self, slug: str, town: Municipality) -> bool:
        """Whether the component is installed and the town has it switched on."""
        m = self._by_slug.get(slug)
        return m is not None and (m.always_on or is_enabled(town, slug))

    def enabled(self, town: Municipality) -> list[Manifest]:
        """The components the town has on."""
        return [m for m in self if m.always_on or is_enabled(town, m.slug)]

    def available(self, *, roles: Iterable[Role], town: Municipality) -> list[Manifest]:
        """Miniapps a person with `roles` may open in `town`."""
        held = set(roles)
        return [m for m in self.enabled(town) if m.miniapp and held & m.opens_for]

    def file_access(self, owner_type: str) -> AccessCheck | None:
        """Who may see files owned by objects of `owner_type`."""
        return self._files.get(owner_type)

    def document_access(self, origin_type: str) -> AccessCheck | None:
        """Who may see documents made from objects of `origin_type`."""
        return self._documents.get(origin_type)

    def audiences(self, town: Municipality) -> list[Audience]:
        """The groups of people the town's enabled components let others address."""
        return [a for m in self.enabled(town) for a in m.audiences]

    def audience(self, name: str) -> Audience | None:
        """The audience kind `name`, whoever declares it."""
        return self._audiences.get(name)
