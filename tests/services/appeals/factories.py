"""Factories for appeals, through the real services."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Municipality
from backend.core.users.models import Role, User
from backend.services.appeals import service as appeals
from backend.services.appeals.models import Appeal, AppealCategory
from backend.services.appeals.rules import Kind
from backend.services.appeals.schemas import AppealDraft
from tests.factories import make_town, make_user


def appeals_settings(**values: object) -> dict:
    """A town's settings with these appeals settings (the rest default)."""
    return {"services": {"appeals": values}}


async def make_category(session: AsyncSession, town: Municipality, *, code: str = "roads", name: str = "Дороги") -> AppealCategory:
    dept = await towns.add_department(session, municipality_id=town.id, name=f"Отдел «{name}»")
    return await appeals.create_category(session, municipality_id=town.id, code=code, name=name, department_id=dept.id)


async def make_resident(session: AsyncSession, town: Municipality, *, telegram_id: int | None = None, first_name: str = "Анна") -> User:
    user = await make_user(session, telegram_id=telegram_id, first_name=first_name, town=town)
    user.phone, user.identity_level, user.full_name = "+79990001122", "phone", f"Жителева {first_name}"
    return user


async def make_appeal(
    session: AsyncSession,
    town: Municipality,
    category: AppealCategory,
    author: User | None,
    *,
    kind: Kind = Kind.COMPLAINT,
    text: str = "Не вывозят мусор во дворе дома 5 по улице Мира.",
    now: datetime | None = None,
    lat: float | None = None,
    lon: float | None = None,
    full_name: str | None = "Жителева Анна",
    reply_address: str | None = "anna@example.ru",
) -> Appeal:
    draft = AppealDraft(kind=kind, category_id=category.id, text=text, full_name=full_name, reply_address=reply_address, lat=lat, lon=lon)
    return await appeals.submit(session, town=town, draft=draft, author=author, now=now)


async def make_world(session: AsyncSession) -> dict:
    """Two towns, each with a category, a clerk and a resident with one appeal."""
    out: dict = {}
    for key in ("a", "b"):
        town = await make_town(session, slug=f"town-{key}", name=f"Город {key.upper()}")
        town.settings = appeals_settings(reg_prefix="TA" if key == "a" else "TB")
        cat = await make_category(session, town)
        clerk = await make_user(session, first_name=f"Клерк{key}", town=town, roles=(Role.CLERK,))
        clerk.full_name = f"Клерков {key.upper()}"
        resident = await make_resident(session, town)
        appeal = await make_appeal(session, town, cat, resident)
        out[key] = {"town": town, "category": cat, "clerk": clerk, "resident": resident, "appeal": appeal}
    return out
