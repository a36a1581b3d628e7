"""Factories for test data, through the real services."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import initdata
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Municipality
from backend.core.users import service as users
from backend.core.users.models import Role, User
from backend.core.notifications import service as outbox
from backend.core.notifications.pacing import MemoryPacer
from backend.db import unit_of_work, utcnow
from backend.runtime import Runtime

_seq = itertools.count(1)


async def make_town(session: AsyncSession, *, slug: str | None = None, name: str | None = None, **kw: Any) -> Municipality:
    n = next(_seq)
    return await towns.create(session, slug=slug or f"town-{n}", name=name or f"Город {n}", **kw)


async def make_user(
    session: AsyncSession, *, telegram_id: int | None = None, first_name: str = "Мария", town: Municipality | None = None, roles: tuple[Role, ...] = (Role.RESIDENT,)
) -> User:
    user, _ = await users.upsert_telegram_user(session, telegram_id=telegram_id or 5_000_000 + next(_seq), first_name=first_name)
    if town is not None:
        for role in roles:
            await users.grant_role(session, user_id=user.id, municipality_id=town.id, role=role)
        user.current_municipality_id = town.id
    await session.flush()
    return user


async def seed(runtime: Runtime, fn):  # noqa: ANN001, ANN201
    """Run `fn(session)` in its own committed transaction and return its result."""
    async with unit_of_work(runtime.sessionmaker) as session:
        return await fn(session)


def tma(runtime: Runtime, user: User | dict[str, Any], *, auth_date: int | None = None, token: str | None = None) -> dict[str, str]:
    """The Authorization header a miniapp of this person sends."""
    tg = user if isinstance(user, dict) else {"id": user.telegram_id, "first_name": user.first_name or "X"}
    data = initdata.sign(
        {"query_id": "AAHtest", "user": tg, "auth_date": auth_date if auth_date is not None else int(time.time())},
        token=token or runtime.settings.signing_token,
    )
    return {"Authorization": f"tma {data}"}


class FakeClock:
    """A monotonic clock that moves only when told (for the pacer)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def deliver_outbox(rt: Runtime, *, passes: int = 10) -> int:
    """Deliver the outbox through the runtime's channel as the scheduler does, pass after
    pass, moving a fake clock on so the per-chat pace lets each next message go; returns
    how many went out."""
    clock = FakeClock()
    pacer = MemoryPacer(clock=clock)
    now = utcnow()
    total = 0
    for _ in range(passes):
        sent = await outbox.deliver_pending(
            rt.sessionmaker, rt.channel, notices=rt.notices, pacer=pacer, files_root=rt.settings.files_dir,
            default_locale=rt.settings.DEFAULT_LOCALE, now=now,
        )
        total += sent
        if not sent:
            break
        clock.advance(2)
        now += timedelta(seconds=2)
    return total
