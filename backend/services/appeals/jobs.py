"""Deadline reminders for appeals, every ten minutes."""

from __future__ import annotations

from backend.db import unit_of_work
from backend.runtime import Runtime
from backend.scheduler import Job
from backend.services.appeals import service


async def remind(runtime: Runtime) -> None:
    async with unit_of_work(runtime.sessionmaker) as session:
        await service.send_reminders(session)


JOBS = [Job(id="appeals.reminders", func=remind, every_seconds=600)]
