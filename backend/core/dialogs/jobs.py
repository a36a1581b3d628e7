"""Forgetting dialogs nobody touched for FSM_TTL (an abandoned draft)."""

from __future__ import annotations

from datetime import timedelta

from backend.core.dialogs import service
from backend.db import unit_of_work, utcnow
from backend.runtime import Runtime
from backend.scheduler import Job


async def purge(runtime: Runtime) -> None:
    async with unit_of_work(runtime.sessionmaker) as session:
        await service.purge_idle(session, now=utcnow(), idle=timedelta(seconds=runtime.settings.FSM_TTL))


JOBS = (Job(id="dialogs.purge", func=purge, every_seconds=3600),)
