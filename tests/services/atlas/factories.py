"""Factories for the Atlas, through the real services."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.municipalities.models import Municipality
from backend.services.atlas import service as atlas
from backend.services.atlas.models import AtlasFigure, AtlasPlace, AtlasStory
from backend.services.atlas.schemas import FigureIn, ModerateIn, PlaceIn, StoryIn



def jpeg(width: int = 24, height: int = 16) -> bytes:
    """A small real JPEG: what a resident's photo looks like to the file store."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 60)).save(out, format="JPEG")
    return out.getvalue()


def atlas_settings(**values: object) -> dict:
    """A town's settings with these Atlas settings (the rest default)."""
    return {"services": {"atlas": values}}


async def make_figure(session: AsyncSession, town: Municipality, *, actor_id: int, factor: str = "employment", title: str = "Средняя зарплата",
                      value: float = 48200, unit: str = "₽", source: str = "Росстат", as_of: date = date(2026, 7, 1)) -> AtlasFigure:
    return await atlas.add_figure(session, municipality_id=town.id, actor_id=actor_id,
                                  data=FigureIn(factor=factor, title=title, value=value, unit=unit, source=source, as_of=as_of))


async def make_place(session: AsyncSession, town: Municipality, *, actor_id: int, kind: str = "place", name: str = "Сквер",
                     lat: float | None = 56.13, lon: float | None = 40.40) -> AtlasPlace:
    return await atlas.add_place(session, municipality_id=town.id, actor_id=actor_id, data=PlaceIn(kind=kind, name=name, lat=lat, lon=lon))


async def make_story(session: AsyncSession, town: Municipality, *, author_id: int, title: str = "Наша пекарня",
                     body: str = "Мы вернулись в город и открыли семейную пекарню у вокзала.", approve_by: int | None = None) -> AtlasStory:
    story = await atlas.submit_story(session, municipality_id=town.id, author_id=author_id, data=StoryIn(title=title, body=body, signature="Анна"))
    if approve_by is not None:
        await atlas.moderate(session, municipality_id=town.id, story_id=story.id, decision=ModerateIn(decision="approve"),
                             actor_id=approve_by, page_url=f"/atlas/{town.slug}")
    return story
