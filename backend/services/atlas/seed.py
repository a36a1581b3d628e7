"""The demo town's Atlas: figures for the three factors with their sources, a few places and
communities on the map, and one approved and one pending story, so the page and the curation
miniapp are not empty on first sight."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.components.manifest import SeedContext
from backend.services.atlas import service
from backend.services.atlas.schemas import FigureIn, ModerateIn, PlaceIn, StoryIn
from backend.services.atlas.settings import AtlasSettings

FIGURES = (
    ("employment", "Средняя зарплата", 48_200, "₽ в месяц", "Росстат, мониторинг зарплат", date(2026, 7, 1)),
    ("employment", "Малых и семейных предприятий", 412, "", "Реестр МСП ФНС", date(2026, 8, 10)),
    ("leisure", "Досуговых расходов жителей тратится в городе", 38, "%", "Опрос жителей", date(2026, 6, 1)),
    ("expectations", "Выпускников вернулись после учёбы", 27, "%", "Опрос жителей", date(2026, 6, 1)),
    ("expectations", "Миграционный отток за год", -1.4, "%", "Росстат, оценка численности", date(2026, 1, 1)),
)
PLACES = (
    ("place", "Набережная и сквер у реки", "Главное место прогулок и летних концертов", 56.1310, 40.4090),
    ("place", "Коворкинг при библиотеке", "Рабочие места для фрилансеров и предпринимателей", 56.1285, 40.4010),
    ("community", "Клуб «Соседи»", "Жители, которые благоустраивают дворы", 56.1268, 40.4052),
    ("community", "Молодёжный совет", "Проекты и мероприятия для молодёжи", None, None),
)


async def seed(session: AsyncSession, ctx: SeedContext) -> None:
    """Figures, places, communities and two stories of the demo resident."""
    actor = ctx.people.get("organizer") or ctx.people["admin"]
    # The population makes participation per 1,000 residents show; a new dict, so the JSON
    # column is seen as changed.
    current = dict(ctx.town.settings or {})
    services = dict(current.get("services") or {})
    services["atlas"] = AtlasSettings(population=42_000, tagline="Город у реки, где возвращаются домой").model_dump(mode="json", exclude_defaults=True)
    ctx.town.settings = {**current, "services": services}
    for factor, title, value, unit, source, as_of in FIGURES:
        await service.add_figure(session, municipality_id=ctx.town.id, actor_id=actor.id,
                                 data=FigureIn(factor=factor, title=title, value=value, unit=unit, source=source, as_of=as_of))
    for kind, name, description, lat, lon in PLACES:
        await service.add_place(session, municipality_id=ctx.town.id, actor_id=actor.id,
                                data=PlaceIn(kind=kind, name=name, description=description, lat=lat, lon=lon))
    resident = ctx.people["resident"]
    published = await service.submit_story(session, municipality_id=ctx.town.id, author_id=resident.id, data=StoryIn(
        title="Как мы открыли пекарню на первом этаже",
        body="Пять лет назад мы с мужем вернулись из Москвы и открыли семейную пекарню. Теперь у нас работают шесть соседей, "
             "а по субботам очередь за круассанами стоит до угла.",
        signature="Анна, пекарь",
    ))
    await service.moderate(session, municipality_id=ctx.town.id, story_id=published.id, decision=ModerateIn(decision="approve"),
                           actor_id=actor.id, page_url=f"/atlas/{ctx.town.slug}")
    await service.submit_story(session, municipality_id=ctx.town.id, author_id=resident.id, data=StoryIn(
        title="Двор, который мы сделали сами",
        body="Всем подъездом собрали деньги на лавочки и качели, а город помог с освещением. Теперь летом во дворе до ночи играют дети.",
        signature="Мария",
    ))
