"""The manifest: the one place an applied service is declared (after Decidim's component
manifests).

A service lives in `backend/services/<slug>/` and declares a `Manifest` in its `manifest.py`:
its titles and miniapp, the actions it offers and which roles may perform them by default,
its typed per-town settings, its API routers and scheduled jobs, its models, its personal
data (for /mydata and /forget), who may see the files and documents it owns, its stats for
the Atlas and dashboards, and its demo seed. `backend/services/__init__.py:INSTALLED` lists
the manifests; the app, the migrations' metadata, the scheduler, the demo, privacy and files
iterate over that list and over nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.municipalities.models import Municipality
from backend.core.municipalities.settings import service_settings
from backend.core.notifications.notices import Notice
from backend.core.users.models import Role

if TYPE_CHECKING:
    from backend.scheduler import Job

ALL_ROLES: frozenset[Role] = frozenset(Role)


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a person, the town they look from and the roles they hold there."""

    user_id: int
    municipality_id: int
    roles: frozenset[Role]


# `check(session, viewer, object_id)`: whether the viewer may see that object (its files, the
# documents made from it). Objects of another town never pass.
AccessCheck = Callable[[AsyncSession, Viewer, int], Awaitable[bool]]
Exporter = Callable[[AsyncSession, int], Awaitable[Any]]
Eraser = Callable[[AsyncSession, int], Awaitable[None]]


# -- stats for the Atlas and dashboards ----------------------------------------------------
# A service's `stats(session, municipality_id, now)` answers a `StatsReport`: named figures
# and optional series (one chart each), each with a stable key for open data. A plain
# `{"key": number}` dict, the first form of the hook, is still accepted (`as_report` reads it).

Factor = Literal["employment", "leisure", "expectations"]
"""The three factors of a town's happiness (DOMAIN.md): employment, quality of leisure,
positive expectations. A figure or series tagged with one is shown under that factor."""

FACTORS: tuple[Factor, ...] = ("employment", "leisure", "expectations")


@dataclass(frozen=True)
class Figure:
    """One number: `title` and `unit` are msgids; `subject` is data shown as it is (a
    category's name, a survey's question), so the same title can repeat per subject."""

    key: str
    title: str
    value: float | int
    unit: str = ""
    subject: str = ""
    factor: Factor | None = None


@dataclass(frozen=True)
class Point:
    """A bar of a chart: `label` is data (an option, a category) unless `msgid` says it is one."""

    label: str
    value: float | int
    msgid: bool = False


@dataclass(frozen=True)
class Series:
    """A chart: labelled values of one measure (`title`, `unit` msgids; `subject` data)."""

    key: str
    title: str
    points: tuple[Point, ...]
    unit: str = ""
    subject: str = ""
    factor: Factor | None = None


@dataclass(frozen=True)
class StatsReport:
    """What a service tells the Atlas: its figures, its charts, and how many distinct people
    took part in it (for participation per 1,000 residents; None: it cannot tell)."""

    figures: tuple[Figure, ...] = ()
    series: tuple[Series, ...] = ()
    participants: int | None = None

    def as_dict(self) -> dict[str, float | int]:
        """The figures as the first form of the hook gave them: key -> value."""
        return {f.key: f.value for f in self.figures}


Stats = Callable[[AsyncSession, int, datetime], Awaitable["StatsReport | dict[str, float | int]"]]


def as_report(raw: StatsReport | Mapping[str, float | int]) -> StatsReport:
    """A service's stats as a report; a plain dict's keys become figures titled by their key."""
    if isinstance(raw, StatsReport):
        return raw
    figures = tuple(
        Figure(key=str(k), title=str(k).replace("_", " ").capitalize(), value=v)
        for k, v in raw.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    )
    participants = raw.get("participants")
    return StatsReport(figures=figures, participants=participants if isinstance(participants, int) and not isinstance(participants, bool) else None)


@dataclass(frozen=True)
class Action:
    """Something a person may do in the service; `roles` may do it unless the town says otherwise."""

    name: str
    title: str  # msgid
    roles: frozenset[Role]


@dataclass(frozen=True)
class PersonalData:
    """How the service answers a 152-FZ request: what it stores about a person, and how it
    erases it (keeping, anonymized, what the law requires it to keep)."""

    export: Exporter
    erase: Eraser


@dataclass(frozen=True)
class SeedContext:
    """What the demo seed gets: the demo town, its departments by name, its people by key."""

    town: Municipality
    departments: Mapping[str, int]
    people: Mapping[str, Any]  # key -> User


Seed = Callable[[AsyncSession, SeedContext], Awaitable[None]]

# `members(session, municipality_id, ref)`: the ids of the people in one group the service keeps.
AudienceMembers = Callable[[AsyncSession, int, int], Awaitable[list[int]]]


@dataclass(frozen=True)
class Audience:
    """A kind of group of a town's people that a service keeps and others may address (an
    event's registrants, a survey's audience, a team, a cohort): broadcasts resolve one when
    they start, without importing the service that keeps it. `ref` names the group (the
    event's id, the team's id)."""

    name: str  # unique across services, "<slug>.<what>", e.g. "events.registrants"
    title: str  # msgid
    members: AudienceMembers


@dataclass(frozen=True)
class Manifest:
    slug: str
    title: str  # msgid
    description: str  # msgid
    icon: str  # an emoji: no icon font or image to ship
    miniapp: str | None = None  # path under /app/, e.g. "appeals/"
    opens_for: frozenset[Role] = ALL_ROLES  # whose hub shows the miniapp
    order: int = 100
    always_on: bool = False  # core pages a town cannot switch off (the profile)
    actions: tuple[Action, ...] = ()
    settings: type[BaseModel] | None = None  # the town's settings of this service
    routers: tuple[APIRouter, ...] = ()  # under /api/v1/municipalities/{municipality_id}: 404 when off
    public_routers: tuple[APIRouter, ...] = ()  # own prefixes (e.g. Open311); they check `is_on` themselves
    jobs: tuple[Job, ...] = ()
    models: tuple[type, ...] = ()  # mapped classes, so migrations and tests see every table
    personal_data: PersonalData | None = None
    files: Mapping[str, AccessCheck] = field(default_factory=lambda: MappingProxyType({}))  # owner_type ->
    documents: Mapping[str, AccessCheck] = field(default_factory=lambda: MappingProxyType({}))  # origin_type ->
    notices: tuple[type[Notice], ...] = ()  # the typed notices it sends people
    stats: Stats | None = None
    seed: Seed | None = None
    audiences: tuple[Audience, ...] = ()  # groups of people it lets other services address

    def __post_init__(self) -> None:
        if not self.slug.isidentifier() or self.slug != self.slug.lower():
            raise ValueError(f"a service slug is a lowercase identifier, not {self.slug!r}")
        if len({a.name for a in self.actions}) != len(self.actions):
            raise ValueError(f"{self.slug}: two actions share a name")

    def action(self, name: str) -> Action:
        """The declared action `name` (a typo is a programming error, not a 403)."""
        for a in self.actions:
            if a.name == name:
                return a
        raise KeyError(f"{self.slug} declares no action {name!r}")

    def roles_for(self, name: str) -> frozenset[Role]:
        """The roles that may perform an action."""
        return self.action(name).roles

    def settings_for(self, town: Municipality) -> Any:
        """The town's settings of this service, validated; defaults where the town set nothing."""
        return None if self.settings is None else service_settings(town, self.slug, self.settings)

    def validate_settings(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Check new settings for this service; returns them normalised (raises ValidationError)."""
        if self.settings is None:
            if raw:
                raise ValueError(f"{self.slug} has no settings")
            return {}
        return self.settings.model_validate(raw).model_dump(mode="json", exclude_defaults=True)
