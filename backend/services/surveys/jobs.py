"""Closing surveys when their time comes, so the bot and the miniapp stop offering them and
organizers may publish results."""

from __future__ import annotations

from backend.db import unit_of_work, utcnow
from backend.runtime import Runtime
from backend.scheduler import Job
from backend.services.surveys import service


async def close_due(runtime: Runtime) -> None:
    """Close every open survey past its closing time."""
    async with unit_of_work(runtime.sessionmaker) as session:
        await service.close_due(session, now=utcnow())


JOBS = (Job("surveys.close_due", close_due, 60),)
