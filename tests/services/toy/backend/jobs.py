"""The toy's scheduled work: forgetting old notes, each town by its own setting."""

from __future__ import annotations

from backend.core.municipalities import service as towns
from backend.db import unit_of_work, utcnow
from backend.runtime import Runtime
from backend.scheduler import Job
from tests.services.toy.backend import service


async def tidy(runtime: Runtime) -> None:
    manifest = runtime.registry.get(service.SLUG)
    async with unit_of_work(runtime.sessionmaker) as session:
        keep = {t.id: manifest.settings_for(t).keep_days for t in await towns.list_active(session)}
        await service.forget_old(session, now=utcnow(), keep_days=keep)


JOBS = (Job(id="toy.tidy", func=tidy, every_seconds=3600),)
