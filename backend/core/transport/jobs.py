"""Forgetting handled updates once no redelivery can come, and sent reply batches."""

from __future__ import annotations

from backend.core.transport import service
from backend.db import unit_of_work, utcnow
from backend.runtime import Runtime
from backend.scheduler import Job


async def purge(runtime: Runtime) -> None:
    async with unit_of_work(runtime.sessionmaker) as session:
        await service.purge_handled(session, now=utcnow())


JOBS = (Job(id="transport.purge", func=purge, every_seconds=3600),)
