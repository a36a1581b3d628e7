"""Who is calling: Mini App launch data turned into a known person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import initdata
from backend.core.users import service as users
from backend.core.users.models import User


async def authenticate(
    session: AsyncSession, *, init_data: str, token: str, max_age: int, now: datetime | None = None
) -> tuple[User, initdata.InitData]:
    """Verify launch data and return the person (created on first contact) and the data."""
    data = initdata.verify(init_data, token=token, max_age=max_age, now=now)
    u = data.user
    user, _created = await users.upsert_telegram_user(
        session,
        telegram_id=data.telegram_id,
        first_name=u.first_name,
        last_name=u.last_name,
        username=u.username,
    )
    return user, data
