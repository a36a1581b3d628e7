"""The demo town's surveys: the maturity audit's resident survey, open, with a few anonymous
answers, and a small identified survey about the town's festival, closed and published."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.components.manifest import SeedContext
from backend.core.privacy import service as privacy
from backend.services.surveys import queries, service
from backend.services.surveys.rules import Question
from backend.services.surveys.schemas import SurveyIn

# The demo's anonymous hashes need a key; the real one comes from the bot token at the edges.
DEMO_SECRET = b"glocal-demo-surveys"


async def seed(session: AsyncSession, ctx: SeedContext) -> None:
    """The audit survey (open) and a festival survey (closed, results published)."""
    organizer = ctx.people.get("organizer") or ctx.people["admin"]
    audit = await service.from_template(session, municipality_id=ctx.town.id, actor_id=organizer.id)
    await service.open_(session, survey=audit, actor_id=organizer.id)
    festival = await service.create(
        session, municipality_id=ctx.town.id, actor_id=organizer.id,
        data=SurveyIn(
            title="День города: как вам праздник?", description="Короткий опрос после Дня города.", anonymous=False,
            questions=[
                Question.model_validate({"key": "mark", "kind": "scale", "text": "Оцените праздник от 1 до 5"}),
                Question.model_validate({"key": "best", "kind": "single", "text": "Что понравилось больше всего?", "options": [
                    {"key": "concert", "label": "Концерт"}, {"key": "fair", "label": "Ярмарка"}, {"key": "kids", "label": "Детская площадка"},
                ]}),
                Question.model_validate({"key": "idea", "kind": "text", "required": False, "text": "Что добавить в следующем году?"}),
            ],
        ),
    )
    await service.open_(session, survey=festival, actor_id=organizer.id)
    resident = ctx.people["resident"]
    await privacy.give_consent(session, user_id=resident.id, channel="demo")
    await service.submit(session, survey=festival, user=resident, secret=DEMO_SECRET, source="demo",
                         answers={"mark": 5, "best": "fair", "idea": "Больше мастер-классов для детей"})
    await service.close(session, survey=festival, actor_id=organizer.id)
    await service.publish(session, survey=festival, actor_id=organizer.id, results=await queries.results(session, survey=festival))
