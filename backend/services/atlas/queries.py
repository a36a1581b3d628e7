"""The Atlas's reads: the public page's content (the town's figures, every installed service's
stats, participation, approved stories, places), its open data, the curation view, and who
may see a story's photos. Nothing here writes."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.components.manifest import FACTORS, Series, Viewer, as_report
from backend.core.components.permissions import effective_roles
from backend.core.components.registry import Registry
from backend.core.files.models import StoredFile
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Municipality
from backend.core.users.models import Membership
from backend.errors import NotFound
from backend.i18n import N_, gettext
from backend.services.atlas import permissions
from backend.services.atlas.models import AtlasFigure, AtlasPlace, AtlasStory
from backend.services.atlas.schemas import CurationOut, FigureOut, MineOut, PlaceOut, SectionOut, StoryOut
from backend.services.atlas.service import PHOTO_OWNER
from backend.services.atlas.settings import SECTIONS, AtlasSettings
from backend.services.atlas.settings import of as settings_of

log = logging.getLogger(__name__)

FACTOR_TITLES = {
    "employment": N_("Employment"),
    "leisure": N_("Quality of leisure"),
    "expectations": N_("Positive expectations"),
}
FACTOR_HINTS = {
    "employment": N_("Income growth of residents, the value of their assets, work in the town"),
    "leisure": N_("How much of residents' leisure is spent in the town rather than elsewhere"),
    "expectations": N_("Fewer people leaving, residents investing in the town, the young coming back, new family businesses"),
}


# -- the public page ------------------------------------------------------------------------


async def public_town(session: AsyncSession, *, slug: str, registry: Registry) -> Municipality:
    """The town whose Atlas is at /atlas/<slug>; unknown, inactive and atlas-off towns do not exist here."""
    town = await towns.get_by_slug(session, slug=slug)
    if town is None or not registry.is_on(permissions.SLUG, town):
        raise NotFound(N_("Town not found."))
    return town


@dataclass(frozen=True)
class Row:
    """One figure, as the page shows it and the CSV gives it. `msgid`: title and unit are
    msgids (a service's), else data (what the town typed)."""

    section: str
    service: str
    key: str
    title: str
    value: float | int
    unit: str = ""
    subject: str = ""
    source: str = ""
    as_of: date | None = None
    msgid: bool = True
    subject_msgid: bool = False  # the subject is a msgid too (a factor's or a service's title)


@dataclass(frozen=True)
class Chart:
    section: str
    service: str
    key: str
    title: str  # msgid
    points: tuple[tuple[str, bool, float | int], ...]  # label, label is a msgid, value
    unit: str = ""
    subject: str = ""


@dataclass
class Block:
    """One installed service's stats on the page."""

    slug: str
    title: str  # msgid
    icon: str
    section: str
    rows: list[Row] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    participants: int | None = None
    factor_rows: list[tuple[str, Row]] = field(default_factory=list)
    factor_charts: list[tuple[str, Chart]] = field(default_factory=list)


@dataclass
class Page:
    town: Municipality
    settings: AtlasSettings
    generated_at: datetime
    factors: dict[str, list[Row]]
    factor_charts: dict[str, list[Chart]]
    blocks: list[Block]
    participation: list[Row]
    participation_chart: Chart | None
    stories: list[tuple[AtlasStory, list[int]]]
    places: list[AtlasPlace]
    communities: list[AtlasPlace]

    def shows(self, section: str) -> bool:
        return self.settings.shows(section)

    def rows(self) -> list[Row]:
        """Every figure the page shows, in its order (the open data)."""
        out: list[Row] = []
        if self.shows("factors"):
            for factor in FACTORS:
                out += self.factors[factor]
        for block in self.blocks:
            if self.shows(block.section):
                out += block.rows
        if self.shows("participation"):
            out += self.participation
        return out

    def charts(self) -> list[Chart]:
        out: list[Chart] = []
        if self.shows("factors"):
            for factor in FACTORS:
                out += self.factor_charts[factor]
        for block in self.blocks:
            if self.shows(block.section):
                out += block.charts
        return out


async def _town_figures(session: AsyncSession, municipality_id: int) -> list[AtlasFigure]:
    return list(await session.scalars(
        select(AtlasFigure).where(AtlasFigure.municipality_id == municipality_id)
        .order_by(AtlasFigure.factor, AtlasFigure.sort, AtlasFigure.id)
    ))


async def _places(session: AsyncSession, municipality_id: int) -> list[AtlasPlace]:
    return list(await session.scalars(
        select(AtlasPlace).where(AtlasPlace.municipality_id == municipality_id).order_by(AtlasPlace.sort, AtlasPlace.id)
    ))


async def _photos(session: AsyncSession, story_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    if story_ids:
        for file_id, owner_id in await session.execute(
            select(StoredFile.id, StoredFile.owner_id)
            .where(StoredFile.owner_type == PHOTO_OWNER, StoredFile.owner_id.in_(story_ids)).order_by(StoredFile.id)
        ):
            out[owner_id].append(file_id)
    return out


def _chart(section: str, slug: str, s: Series) -> Chart:
    return Chart(section=section, service=slug, key=s.key, title=s.title, unit=s.unit, subject=s.subject,
                 points=tuple((p.label, p.msgid, p.value) for p in s.points))


async def _service_blocks(session: AsyncSession, *, town: Municipality, registry: Registry, now: datetime) -> list[Block]:
    blocks = []
    for manifest in registry.enabled(town):
        if manifest.stats is None or manifest.slug == permissions.SLUG:
            continue
        try:
            # A savepoint: one service's failing stats leave the page (and PostgreSQL's
            # transaction) usable; the failure is logged, the block left out.
            async with session.begin_nested():
                report = as_report(await manifest.stats(session, town.id, now))
        except Exception:
            log.exception("atlas: stats of %s failed for town %s", manifest.slug, town.id)
            continue
        section = "appeals" if manifest.slug == "appeals" else "services"
        block = Block(slug=manifest.slug, title=manifest.title, icon=manifest.icon, section=section, participants=report.participants)
        # What a service tags with a factor of happiness is shown under that factor instead.
        for f in report.figures:
            row = Row(section="factors" if f.factor else section, service=manifest.slug, key=f.key, title=f.title,
                      value=f.value, unit=f.unit, subject=f.subject)
            if f.factor:
                block.factor_rows.append((f.factor, row))
            else:
                block.rows.append(row)
        for s in report.series:
            if s.factor:
                block.factor_charts.append((s.factor, _chart("factors", manifest.slug, s)))
            else:
                block.charts.append(_chart(section, manifest.slug, s))
        blocks.append(block)
    return blocks


def _per_thousand(people: int, population: int) -> float:
    return round(1000 * people / population, 1)


async def page(session: AsyncSession, *, town: Municipality, registry: Registry, now: datetime) -> Page:
    """Everything the town's public Atlas shows, as numbers (the template formats them)."""
    s = settings_of(town)
    factors: dict[str, list[Row]] = {f: [] for f in FACTORS}
    factor_charts: dict[str, list[Chart]] = {f: [] for f in FACTORS}
    figures = await _town_figures(session, town.id)
    for fig in figures:
        factors[fig.factor].append(Row(
            section="factors", service=permissions.SLUG, key=f"figure_{fig.id}", title=fig.title, value=fig.value, unit=fig.unit,
            subject=FACTOR_TITLES[fig.factor], source=fig.source, as_of=fig.as_of, msgid=False, subject_msgid=True,
        ))
    blocks = await _service_blocks(session, town=town, registry=registry, now=now)
    for block in blocks:
        for factor, row in block.factor_rows:
            factors[factor].append(row)
        for factor, chart in block.factor_charts:
            factor_charts[factor].append(chart)
    blocks = [b for b in blocks if b.rows or b.charts or b.participants is not None]

    # Participation: people of the town on the platform, and in each service that can tell.
    on_platform = await session.scalar(
        select(func.count(func.distinct(Membership.user_id))).where(Membership.municipality_id == town.id)
    ) or 0
    counted = [("platform", N_("Residents who joined the town on the platform"), on_platform)]
    counted += [(b.slug, b.title, b.participants) for b in blocks if b.participants is not None]
    participation: list[Row] = []
    points = []
    for slug, title, people in counted:
        participation.append(Row(section="participation", service=slug if slug != "platform" else permissions.SLUG,
                                 key=f"{slug}_participants", title=N_("People"), value=people, subject=title, subject_msgid=True))
        if s.population:
            per = _per_thousand(people, s.population)
            participation.append(Row(section="participation", service=slug if slug != "platform" else permissions.SLUG,
                                     key=f"{slug}_per_1000", title=N_("Per 1,000 residents"), value=per, subject=title, subject_msgid=True))
            points.append((title, True, per))
    if s.population:
        participation.insert(0, Row(section="participation", service=permissions.SLUG, key="population", title=N_("Population"), value=s.population))
    chart = Chart(section="participation", service=permissions.SLUG, key="participation_per_1000",
                  title=N_("Participation per 1,000 residents"), points=tuple(points)) if points else None

    stories = list(await session.scalars(
        select(AtlasStory).where(AtlasStory.municipality_id == town.id, AtlasStory.status == "approved")
        .order_by(AtlasStory.moderated_at.desc(), AtlasStory.id.desc()).limit(30)
    ))
    photos = await _photos(session, [st.id for st in stories])
    places = await _places(session, town.id)
    return Page(
        town=town, settings=s, generated_at=now, factors=factors, factor_charts=factor_charts, blocks=blocks,
        participation=participation, participation_chart=chart,
        stories=[(st, photos.get(st.id, [])) for st in stories],
        places=[p for p in places if p.kind == "place"], communities=[p for p in places if p.kind == "community"],
    )


async def public_photo(session: AsyncSession, *, town: Municipality, file_id: int) -> StoredFile:
    """A photo of an approved story of the town; anything else is not found."""
    stored = await session.get(StoredFile, file_id)
    if stored is None or stored.municipality_id != town.id or stored.owner_type != PHOTO_OWNER or stored.owner_id is None:
        raise NotFound(N_("File not found."))
    story = await session.get(AtlasStory, stored.owner_id)
    if story is None or story.municipality_id != town.id or story.status != "approved":
        raise NotFound(N_("File not found."))
    return stored


# -- curation, residents, access ------------------------------------------------------------


def _story_out(story: AtlasStory, photos: list[int], *, viewer_id: int | None) -> StoryOut:
    return StoryOut(
        id=story.id, title=story.title, body=story.body, signature=story.signature, status=story.status,  # type: ignore[arg-type]
        created_at=story.created_at, moderated_at=story.moderated_at, reject_reason=story.reject_reason,
        photos=photos, mine=viewer_id is not None and story.author_id == viewer_id,
    )


async def story(session: AsyncSession, *, municipality_id: int, story_id: int, viewer_id: int | None = None) -> StoryOut:
    """One story with its photos."""
    row = await session.get(AtlasStory, story_id)
    if row is None or row.municipality_id != municipality_id:
        raise NotFound(N_("Not found."))
    return _story_out(row, (await _photos(session, [row.id])).get(row.id, []), viewer_id=viewer_id)


async def curation(session: AsyncSession, *, town: Municipality, page_url: str, viewer_id: int) -> CurationOut:
    """The curation miniapp's view: settings, sections, figures, places and every story (pending first)."""
    s = settings_of(town)
    stories = list(await session.scalars(
        select(AtlasStory).where(AtlasStory.municipality_id == town.id).order_by(AtlasStory.id.desc()).limit(200)
    ))
    order = {"pending": 0, "approved": 1, "rejected": 2}
    stories.sort(key=lambda st: (order.get(st.status, 3), -st.id))
    photos = await _photos(session, [st.id for st in stories])
    return CurationOut(
        page_url=page_url,
        settings=s.model_dump(mode="json"),
        sections=[SectionOut(key=k, title=gettext(t), shown=s.shows(k)) for k, t in SECTIONS.items()],
        figures=[FigureOut.model_validate(f, from_attributes=True) for f in await _town_figures(session, town.id)],
        places=[PlaceOut.model_validate(p, from_attributes=True) for p in await _places(session, town.id)],
        stories=[_story_out(st, photos.get(st.id, []), viewer_id=viewer_id) for st in stories],
    )


async def mine(session: AsyncSession, *, town: Municipality, user_id: int, page_url: str, may_curate: bool) -> MineOut:
    """A resident's own stories in the town, and the page's address."""
    stories = list(await session.scalars(
        select(AtlasStory).where(AtlasStory.municipality_id == town.id, AtlasStory.author_id == user_id).order_by(AtlasStory.id.desc())
    ))
    photos = await _photos(session, [st.id for st in stories])
    return MineOut(page_url=page_url, may_curate=may_curate, stories=[_story_out(st, photos.get(st.id, []), viewer_id=user_id) for st in stories])


async def may_see(session: AsyncSession, viewer: Viewer, story_id: int) -> bool:
    """A story's photos: everyone of the town once approved; before, its author and curators."""
    story = await session.get(AtlasStory, story_id)
    if story is None or story.municipality_id != viewer.municipality_id:
        return False
    if story.status == "approved" or story.author_id == viewer.user_id:
        return True
    town = await session.get(Municipality, viewer.municipality_id)
    return town is not None and bool(viewer.roles & effective_roles(town, permissions.SLUG, permissions.CURATE))


async def export_personal_data(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """A person's stories, for /mydata."""
    stories = list(await session.scalars(select(AtlasStory).where(AtlasStory.author_id == user_id).order_by(AtlasStory.id)))
    photos = await _photos(session, [st.id for st in stories])
    return [
        {"id": st.id, "municipality_id": st.municipality_id, "title": st.title, "body": st.body, "signature": st.signature,
         "status": st.status, "created_at": st.created_at.isoformat(), "photos": photos.get(st.id, [])}
        for st in stories
    ]
