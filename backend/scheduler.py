"""Scheduled jobs on APScheduler, safe with several replicas.

Jobs are declared by domains (`jobs.py`) as `Job`s with a period. Every replica runs the
same scheduler; before a run, the replica claims the run's time slot in the key-value
engine (Redis `SET NX EX` when configured), so a slot fires once across replicas. A job's
work is derived from the database state, so a run missed during a restart is made up by the
next one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from backend.runtime import Runtime

log = logging.getLogger(__name__)

JobFunc = Callable[[Runtime], Awaitable[object]]


@dataclass(frozen=True)
class Job:
    id: str
    func: JobFunc
    every_seconds: int


async def run_job(runtime: Runtime, job: Job, *, now: float | None = None) -> bool:
    """Run one slot of a job unless another replica already claimed it; True when it ran."""
    slot = int((now if now is not None else time.time()) // job.every_seconds)
    if not await runtime.kv.claim(f"job:{job.id}:{slot}", ttl=job.every_seconds * 2):
        runtime.metrics.job_runs.labels(job.id, "skipped").inc()
        return False
    try:
        await job.func(runtime)
    except Exception:
        runtime.metrics.job_runs.labels(job.id, "error").inc()
        log.exception("job %s failed", job.id)
        return True
    runtime.metrics.job_runs.labels(job.id, "ok").inc()
    return True


def make_scheduler(runtime: Runtime, jobs: list[Job]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs:
        scheduler.add_job(
            run_job, "interval", seconds=job.every_seconds, args=(runtime, job), id=job.id,
            coalesce=True, max_instances=1, misfire_grace_time=job.every_seconds,
        )
    return scheduler
