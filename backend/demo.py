"""The demo town: seeded on first run so a newcomer sees a working app at once, and signed
launch links for its demo people so the miniapps open in a plain browser.

The links carry the same `#tgWebAppData=...` Telegram puts in a Mini App URL, signed with the
configured token (or the local development one): the API verifies them like any other.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import initdata
from backend.core.components.manifest import SeedContext
from backend.core.components.registry import Registry
from backend.core.municipalities import service as towns
from backend.core.users import service as users
from backend.core.users.models import Role
from backend.settings import Settings

DEMO_SLUG = "glocalsk"
DEPARTMENTS = ("Отдел благоустройства", "Отдел ЖКХ", "Отдел транспорта", "Отдел экономического развития")


@dataclass(frozen=True)
class DemoPerson:
    key: str
    telegram_id: int
    first_name: str
    last_name: str
    roles: tuple[Role, ...]


PEOPLE = (
    DemoPerson("resident", 1_000_001, "Анна", "Жителева", (Role.RESIDENT,)),
    DemoPerson("clerk", 1_000_002, "Борис", "Клерков", (Role.RESIDENT, Role.CLERK)),
    DemoPerson("organizer", 1_000_003, "Вера", "Организаторова", (Role.RESIDENT, Role.ORGANIZER)),
    # The town's administrator, and the platform's: creates towns in the administration miniapp.
    DemoPerson("admin", 1_000_004, "Галина", "Админова", (Role.RESIDENT, Role.ADMIN)),
)

# Telegram's default light theme, so the demo looks as it will inside the app.
THEME = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#999999",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
}


# The demo town's letterhead and the signer of its answers, so its answer letters look real.
DEMO_SETTINGS = {
    "requisites": {
        "administration": "Администрация городского округа Глокальск",
        "address": "123456, Демонстрационная область, г. Глокальск, ул. Советская, д. 1",
        "phone": "+7 (800) 000-00-00",
        "email": "admin@glocalsk.example",
        "website": "glocalsk.example",
    },
    "services": {"appeals": {
        "reg_prefix": "GLZ", "signer_name": "Главин Иван Иванович", "signer_position": "Глава городского округа Глокальск",
    }},
}


async def seed(session: AsyncSession, registry: Registry) -> bool:
    """Create the demo region, towns, departments and people, then let every installed
    component seed its own demo data; False when the demo town is already there."""
    if await towns.get_by_slug(session, slug=DEMO_SLUG) is not None:
        return False
    region = await towns.ensure_region(session, code="demo", name="Демонстрационная область")
    town = await towns.create(
        session, slug=DEMO_SLUG, name="Глокальск", region_id=region.id, settings=DEMO_SETTINGS,
    )
    await towns.create(session, slug="sosedsk", name="Соседск", region_id=region.id)
    departments = {}
    for name in DEPARTMENTS:
        departments[name] = (await towns.add_department(session, municipality_id=town.id, name=name)).id
    people = {}
    for person in PEOPLE:
        user, _ = await users.upsert_telegram_user(
            session, telegram_id=person.telegram_id, first_name=person.first_name, last_name=person.last_name
        )
        user.full_name = f"{person.last_name} {person.first_name}"
        for role in person.roles:
            dept = departments["Отдел благоустройства"] if role is Role.CLERK else None
            await users.grant_role(session, user_id=user.id, municipality_id=town.id, role=role, department_id=dept)
        user.current_municipality_id = town.id
        people[person.key] = user
    people["admin"].is_platform_admin = True
    resident = people["resident"]
    resident.phone, resident.identity_level = "+79990000001", "phone"
    resident.email = "anna@example.ru"
    ctx = SeedContext(town=town, departments=departments, people=people)
    for component in registry:
        if component.seed is not None:
            await component.seed(session, ctx)
    return True


def launch_url(
    settings: Settings, person: DemoPerson, *, page: str = "hub/", theme: dict[str, str] | None = None, now: int | None = None
) -> str:
    """A Mini App URL for a demo person, with signed launch data in the hash."""
    data = initdata.sign(
        {
            "query_id": "AAH" + secrets.token_urlsafe(12),
            "user": {
                "id": person.telegram_id,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "language_code": "ru",
                "allows_write_to_pm": True,
            },
            "auth_date": now if now is not None else int(time.time()),
        },
        token=settings.signing_token,
    )
    params = {
        "tgWebAppData": data,
        "tgWebAppVersion": "8.0",
        "tgWebAppPlatform": "web",
        "tgWebAppThemeParams": json.dumps(theme or THEME, separators=(",", ":")),
    }
    fragment = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return f"{settings.local_url}/app/{page}#{fragment}"


def launch_links(settings: Settings) -> list[tuple[str, str]]:
    """(who, url) for each demo person; valid for AUTH_MAX_AGE seconds."""
    return [(p.key, launch_url(settings, p)) for p in PEOPLE]
