"""Factories for broadcasts, through the real services."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.municipalities.models import Municipality
from backend.core.notifications.notices import Notice
from backend.core.notifications.port import Attachment, Recipient
from backend.core.users.models import Membership, Role, User
from backend.installed import registry
from backend.services.broadcasts import service
from backend.services.broadcasts.models import Broadcast
from backend.services.broadcasts.schemas import BroadcastIn
from tests.factories import FakeClock, make_user

_tg = itertools.count(7_000_000)


async def make_residents(session: AsyncSession, town: Municipality, n: int, *, roles: tuple[Role, ...] = (Role.RESIDENT,)) -> list[User]:
    """`n` people of the town, inserted in bulk (as many as a town has, quickly)."""
    rows = [{"telegram_id": next(_tg), "first_name": f"Житель{i}", "current_municipality_id": town.id} for i in range(n)]
    users = list(await session.scalars(insert(User).returning(User), rows))
    await session.execute(insert(Membership), [
        {"user_id": u.id, "municipality_id": town.id, "role": role.value} for u in users for role in roles
    ])
    return users


async def make_broadcast(
    session: AsyncSession, town: Municipality, author: User, *, text: str = "<b>Субботник</b> в субботу в 10:00", start: bool = True,
    **fields: Any,
) -> Broadcast:
    fields.setdefault("segment", {"roles": ["resident"]})  # the residents, not the organizer
    data = BroadcastIn(text=text, **fields)
    b = await service.create(session, town=town, registry=registry(), author_id=author.id, data=data, may_pay=True)
    if start:
        await service.start(session, town=town, registry=registry(), broadcast=b)
    return b


class FakeTime:
    """A fake clock for the pacer and a fake `now` for leases and retries: both move only when
    the engine sleeps (its waits), so pacing is checked without sleeping."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.clock.now - 1000.0)

    async def sleep(self, seconds: float) -> None:
        self.clock.advance(max(seconds, 1e-6))
        await asyncio.sleep(0)


@dataclass
class RecordingPoster:
    """A stand-in channel at the port (what Telegram would receive), stamping each post with the
    fake clock; `refuse(chat_id)` may raise what the channel would."""

    clock: Callable[[], float]
    account: str = "tg:1"
    posts: list[tuple[float, int, Notice]] = field(default_factory=list)
    refuse: Callable[[int], None] | None = None
    name: str = "telegram"

    def account_of(self, recipient: Recipient) -> str:
        return self.account

    async def post(self, *, recipient: Recipient, notice: Notice, photo: Attachment | None = None, paid: bool = False) -> str:
        chat = int(recipient.addresses["telegram"])
        if self.refuse is not None:
            self.refuse(chat)
        self.posts.append((self.clock(), chat, notice))
        await asyncio.sleep(0)
        return str(len(self.posts))
