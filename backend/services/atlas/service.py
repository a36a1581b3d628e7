"""The Atlas's writes: figures, places and communities, residents' stories and their photos,
moderation, the town's Atlas settings, erasure. Reading is in `queries.py`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.admin import service as admin
from backend.core.admin.schemas import ComponentPatch
from backend.core.audit import service as audit
from backend.core.components.registry import Registry
from backend.core.files import service as files
from backend.core.files.models import StoredFile
from backend.core.municipalities.models import Municipality
from backend.core.notifications import service as outbox
from backend.db import utcnow
from backend.errors import Conflict, Invalid, InvalidFields, NotFound
from backend.i18n import N_
from backend.services.atlas import notices
from backend.services.atlas.models import AtlasFigure, AtlasPlace, AtlasStory
from backend.services.atlas.schemas import MAX_PHOTOS, FigureIn, ModerateIn, PlaceIn, StoryIn
from backend.services.atlas.settings import AtlasSettings

PHOTO_OWNER = "atlas_story"
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
# The whole request is at most 1 MiB (backend/guard.py); the miniapp scales photos down first.
MAX_PHOTO_BYTES = 1_000_000
MAX_PENDING = 5  # stories one person may have waiting for moderation


async def _owned(session: AsyncSession, model: type, *, municipality_id: int, object_id: int) -> Any:
    row = await session.get(model, object_id)
    if row is None or row.municipality_id != municipality_id:
        raise NotFound(N_("Not found."))
    return row


async def save_settings(
    session: AsyncSession, *, town: Municipality, registry: Registry, values: AtlasSettings, actor_id: int
) -> AtlasSettings:
    """Replace the town's Atlas settings (population, tagline, sections), audited as the
    administration's own changes are."""
    await admin.update_component(
        session, town=town, registry=registry, slug="atlas", changes=ComponentPatch(settings=values.model_dump(mode="json")), actor_id=actor_id,
    )
    return values


async def add_figure(session: AsyncSession, *, municipality_id: int, data: FigureIn, actor_id: int) -> AtlasFigure:
    """A figure for one factor of happiness, with its source and date."""
    figure = AtlasFigure(municipality_id=municipality_id, **data.model_dump())
    session.add(figure)
    await session.flush()
    await audit.record(session, action="atlas.figure.create", object_type="atlas_figure", object_id=figure.id, actor_id=actor_id,
                       municipality_id=municipality_id, after=data.model_dump(mode="json"))
    return figure


async def update_figure(session: AsyncSession, *, municipality_id: int, figure_id: int, data: FigureIn, actor_id: int) -> AtlasFigure:
    """Replace a figure (a new value, source or date)."""
    figure = await _owned(session, AtlasFigure, municipality_id=municipality_id, object_id=figure_id)
    before = FigureIn.model_validate(figure, from_attributes=True).model_dump(mode="json")
    for key, value in data.model_dump().items():
        setattr(figure, key, value)
    await session.flush()
    await audit.record(session, action="atlas.figure.update", object_type="atlas_figure", object_id=figure.id, actor_id=actor_id,
                       municipality_id=municipality_id, before=before, after=data.model_dump(mode="json"))
    return figure


async def delete_figure(session: AsyncSession, *, municipality_id: int, figure_id: int, actor_id: int) -> None:
    """Remove a figure from the Atlas."""
    figure = await _owned(session, AtlasFigure, municipality_id=municipality_id, object_id=figure_id)
    await session.delete(figure)
    await audit.record(session, action="atlas.figure.delete", object_type="atlas_figure", object_id=figure_id, actor_id=actor_id,
                       municipality_id=municipality_id, before={"title": figure.title})


def _point_whole(data: PlaceIn) -> None:
    if (data.lat is None) != (data.lon is None):
        raise InvalidFields(N_("A point needs both its latitude and its longitude, or neither."), fields=["lat", "lon"])


async def add_place(session: AsyncSession, *, municipality_id: int, data: PlaceIn, actor_id: int) -> AtlasPlace:
    """A place or a community of the town (a pin on the map when it has a point)."""
    _point_whole(data)
    place = AtlasPlace(municipality_id=municipality_id, **data.model_dump())
    session.add(place)
    await session.flush()
    await audit.record(session, action="atlas.place.create", object_type="atlas_place", object_id=place.id, actor_id=actor_id,
                       municipality_id=municipality_id, after={"kind": data.kind, "name": data.name})
    return place


async def update_place(session: AsyncSession, *, municipality_id: int, place_id: int, data: PlaceIn, actor_id: int) -> AtlasPlace:
    """Replace a place's or community's details."""
    _point_whole(data)
    place = await _owned(session, AtlasPlace, municipality_id=municipality_id, object_id=place_id)
    for key, value in data.model_dump().items():
        setattr(place, key, value)
    await session.flush()
    await audit.record(session, action="atlas.place.update", object_type="atlas_place", object_id=place.id, actor_id=actor_id,
                       municipality_id=municipality_id, after={"kind": data.kind, "name": data.name})
    return place


async def delete_place(session: AsyncSession, *, municipality_id: int, place_id: int, actor_id: int) -> None:
    """Remove a place or community."""
    place = await _owned(session, AtlasPlace, municipality_id=municipality_id, object_id=place_id)
    await session.delete(place)
    await audit.record(session, action="atlas.place.delete", object_type="atlas_place", object_id=place_id, actor_id=actor_id,
                       municipality_id=municipality_id, before={"name": place.name})


async def submit_story(session: AsyncSession, *, municipality_id: int, author_id: int, data: StoryIn) -> AtlasStory:
    """A resident's story, pending until an organizer approves it."""
    pending = await session.scalar(
        select(func.count()).select_from(AtlasStory)
        .where(AtlasStory.municipality_id == municipality_id, AtlasStory.author_id == author_id, AtlasStory.status == "pending")
    ) or 0
    if pending >= MAX_PENDING:
        raise Conflict(N_("You already have {n} stories waiting for moderation. Please wait until they are reviewed."), n=MAX_PENDING)
    story = AtlasStory(municipality_id=municipality_id, author_id=author_id, status="pending", **data.model_dump())
    session.add(story)
    await session.flush()
    return story


async def add_photo(
    session: AsyncSession, *, root: Path, municipality_id: int, story_id: int, author_id: int, data: bytes, mime: str,
) -> StoredFile:
    """A photo for the author's own story while it waits for moderation (at most MAX_PHOTOS)."""
    story = await _owned(session, AtlasStory, municipality_id=municipality_id, object_id=story_id)
    if story.author_id != author_id:
        raise NotFound(N_("Not found."))
    if story.status != "pending":
        raise Conflict(N_("Photos can be added only while the story waits for moderation."))
    media = mime.split(";")[0].strip().lower()
    if media not in PHOTO_TYPES:
        raise Invalid(N_("Send a photo: JPEG, PNG or WebP."))
    if len(data) > MAX_PHOTO_BYTES:
        raise Invalid(N_("The photo is larger than 1 MB."))
    count = len(await files.of_owner(session, owner_type=PHOTO_OWNER, owner_id=story.id))
    if count >= MAX_PHOTOS:
        raise Conflict(N_("A story has at most {n} photos."), n=MAX_PHOTOS)
    return await files.save(
        session, root=root, municipality_id=municipality_id, data=data, filename=f"story-{story.id}-{count + 1}",
        mime=media, owner_type=PHOTO_OWNER, owner_id=story.id, created_by=author_id,
    )


async def moderate(
    session: AsyncSession, *, municipality_id: int, story_id: int, decision: ModerateIn, actor_id: int, page_url: str,
) -> AtlasStory:
    """Approve a story (it and its photos become public) or decline it with a reason; the
    author hears of it after the commit (outbox). An approved story can be withdrawn later."""
    story = await _owned(session, AtlasStory, municipality_id=municipality_id, object_id=story_id)
    target = "approved" if decision.decision == "approve" else "rejected"
    if story.status == target:
        return story
    before = story.status
    story.status, story.moderated_by, story.moderated_at = target, actor_id, utcnow()
    story.reject_reason = decision.reason or None if target == "rejected" else None
    await session.flush()
    await audit.record(session, action="atlas.story.moderate", object_type="atlas_story", object_id=story.id, actor_id=actor_id,
                       municipality_id=municipality_id, before={"status": before}, after={"status": target})
    if story.author_id is not None and story.author_id != actor_id:
        notice = (
            notices.StoryPublished(title=story.title, url=f"{page_url}#story-{story.id}") if target == "approved"
            else notices.StoryDeclined(title=story.title, reason=story.reject_reason or "")
        )
        await outbox.enqueue(session, user_id=story.author_id, notice=notice, municipality_id=municipality_id)
    return story


async def withdraw_story(session: AsyncSession, *, municipality_id: int, story_id: int, author_id: int) -> None:
    """The author takes their story back (published or not): it is deleted with its photos."""
    story = await _owned(session, AtlasStory, municipality_id=municipality_id, object_id=story_id)
    if story.author_id != author_id:
        raise NotFound(N_("Not found."))
    await _delete_stories(session, [story.id])


async def _delete_stories(session: AsyncSession, ids: list[int]) -> None:
    # Photos lose their owner, so nothing serves them any more; the files' orphan job
    # (backend/core/files/jobs.py) removes the bytes and rows.
    if not ids:
        return
    await session.execute(
        update(StoredFile).where(StoredFile.owner_type == PHOTO_OWNER, StoredFile.owner_id.in_(ids)).values(owner_id=None)
    )
    await session.execute(delete(AtlasStory).where(AtlasStory.id.in_(ids)))


async def erase_personal_data(session: AsyncSession, user_id: int) -> None:
    """152-FZ erasure: a person's stories are their own words and photos, so they go whole."""
    await _delete_stories(session, list(await session.scalars(select(AtlasStory.id).where(AtlasStory.author_id == user_id))))
