"""Removing uploads that never became part of anything."""

from __future__ import annotations

from backend.core.files import service
from backend.db import unit_of_work
from backend.runtime import Runtime
from backend.scheduler import Job


async def delete_orphans(runtime: Runtime) -> None:
    async with unit_of_work(runtime.sessionmaker) as session:
        await service.delete_orphans(session, root=runtime.settings.files_dir)


JOBS = [Job(id="files.delete_orphans", func=delete_orphans, every_seconds=3600)]
