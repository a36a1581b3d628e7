"""The demo town's appeals: categories routed to its departments, and a few residents' appeals
so the clerk's queue is not empty on first sight."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.components.manifest import SeedContext
from backend.services.appeals import service
from backend.services.appeals.rules import Kind
from backend.services.appeals.schemas import AppealDraft

CATEGORIES = (
    ("landscaping", "Благоустройство и озеленение", "Отдел благоустройства"),
    ("roads", "Дороги и общественный транспорт", "Отдел транспорта"),
    ("housing", "ЖКХ: отопление, вода, подъезды", "Отдел ЖКХ"),
    ("business", "Поддержка предпринимательства", "Отдел экономического развития"),
)
SAMPLES = (
    (Kind.REPORT, "roads", "Яма на дороге у остановки «Школа № 2», машины объезжают по встречной.", 56.1287, 40.4066),
    (Kind.REPORT, "landscaping", "Сломана скамейка в сквере на Советской улице.", 56.1301, 40.4012),
    (Kind.COMPLAINT, "housing", "Третью неделю нет горячей воды в доме 12 по улице Ленина, управляющая компания не отвечает.", None, None),
    (Kind.PROPOSAL, "business", "Предлагаю открыть в городе коворкинг для начинающих предпринимателей при библиотеке.", None, None),
)


async def seed(session: AsyncSession, ctx: SeedContext) -> None:
    """Categories and four appeals from the demo resident."""
    categories = {}
    for code, name, dept in CATEGORIES:
        categories[code] = await service.create_category(
            session, municipality_id=ctx.town.id, code=code, name=name, department_id=ctx.departments.get(dept)
        )
    resident = ctx.people["resident"]
    for kind, code, text, lat, lon in SAMPLES:
        await service.submit(
            session, town=ctx.town, author=resident,
            draft=AppealDraft(kind=kind, category_id=categories[code].id, text=text, lat=lat, lon=lon,
                              full_name=resident.full_name, reply_address=resident.email),
        )
