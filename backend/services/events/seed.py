"""The demo town's Glocal City Game: three days of teams around residents' ideas, a schedule,
a registration form, and a few registrations so the organizer's check-in is not empty."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.components.manifest import SeedContext
from backend.db import utcnow
from backend.services.events import service
from backend.services.events.rules import Kind
from backend.services.events.schemas import EventIn, Question, SessionIn

TERMS = (
    "Участник проходит все три дня игры, работает в команде над идеей жителей города и соглашается "
    "на фото- и видеосъёмку на площадке. Права на идеи команды закрепляются за её участниками."
)
DAYS = (
    ("День 1. Идеи жителей и сбор команд", "Большой зал"),
    ("День 2. Проектирование решений с наставниками", "Коворкинг"),
    ("День 3. Защита проектов перед инвесторами и комиссией", "Большой зал"),
)


async def seed(session: AsyncSession, ctx: SeedContext) -> None:
    """A Glocal City Game two weeks from now, with its three days, and the demo resident registered."""
    tz = ZoneInfo(ctx.town.timezone)
    first = (utcnow().astimezone(tz) + timedelta(days=14)).date()

    def at(day: int, hour: int) -> datetime:
        return datetime.combine(first + timedelta(days=day), time(hour), tz)

    game = await service.create_event(session, town=ctx.town, actor_id=getattr(ctx.people.get("organizer"), "id", None), data=EventIn(
        kind=Kind.GAME, title="Glocal City Game", description=(
            "Трёхдневная проектная игра: направления цифрового предпринимательства, идеи жителей, городские "
            "команды; комиссия выбирает приоритетные решения, лучшие идут в акселератор."
        ),
        venue_name="Центр молодёжных инициатив", venue_address="ул. Советская, 10", lat=56.1290, lon=40.4070,
        starts_at=at(0, 10), ends_at=at(2, 18), capacity=60, reserved=5,
        registration_closes_at=at(0, 9), terms=TERMS,
        questions=[
            Question(id="direction", text="Какое направление вам ближе?", options=["Туризм", "Городская среда", "Местный бизнес", "Образование"]),
            Question(id="idea", text="Есть ли у вас своя идея для города? Опишите её в двух словах.", required=False),
        ],
        team_min=3, team_max=6,
        sessions=[SessionIn(title=title, starts_at=at(i, 10), ends_at=at(i, 18), place=place) for i, (title, place) in enumerate(DAYS)],
    ))
    resident = ctx.people.get("resident")
    if resident is not None:
        await service.register(session, event=game, user=resident, answers={"direction": "Туризм"}, accepted_terms=True)
