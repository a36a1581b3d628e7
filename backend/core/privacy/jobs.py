"""Daily destruction of personal data after consent was withdrawn (152-FZ art. 21 p. 5)."""

from __future__ import annotations

import logging

from backend.core.privacy import service
from backend.db import unit_of_work, utcnow
from backend.runtime import Runtime
from backend.scheduler import Job

log = logging.getLogger(__name__)


async def purge_withdrawn(runtime: Runtime) -> None:
    async with unit_of_work(runtime.sessionmaker) as session:
        count = await service.purge_withdrawn(session, now=utcnow())
    if count:
        log.info("purged personal data of %d people who withdrew consent", count)


JOBS = [Job(id="privacy.purge_withdrawn", func=purge_withdrawn, every_seconds=3600)]
