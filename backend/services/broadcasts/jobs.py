"""Scheduled work of broadcasts: start those whose time came, and keep a delivery worker
running in this process while any broadcast runs.

The scheduler fires a slot once across replicas, but every replica should deliver: the job
only starts this process's worker when it has none, and the worker keeps running on its own
(sharing the rows with other replicas' workers through their leases) until no broadcast has
work left. So each replica joins within a few slots of a broadcast starting.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import exists, select

from backend.core.notifications.port import NullChannel
from backend.db import unit_of_work
from backend.runtime import Runtime
from backend.scheduler import Job
from backend.services.broadcasts import service
from backend.services.broadcasts.engine import Engine, EngineConfig
from backend.services.broadcasts.models import Broadcast
from backend.services.broadcasts.rules import Status

log = logging.getLogger(__name__)
_workers: dict[int, asyncio.Task[object]] = {}  # by runtime: one worker per process and runtime


def config_of(runtime: Runtime) -> EngineConfig:
    """The engine's limits from the settings."""
    s = runtime.settings
    return EngineConfig(
        bot_rate=s.BROADCAST_BOT_RATE, share=s.BROADCAST_SHARE, senders=s.BROADCAST_SENDERS, lease=float(s.BROADCAST_LEASE),
    )


async def tick(runtime: Runtime) -> None:
    async with unit_of_work(runtime.sessionmaker) as session:
        started = await service.start_due(session, registry=runtime.registry)
    if started:
        log.info("scheduled broadcasts started: %s", started)
    await ensure_worker(runtime)


async def ensure_worker(runtime: Runtime) -> asyncio.Task[object] | None:
    """Start this process's delivery worker when a broadcast runs and none is running here."""
    if isinstance(runtime.channel, NullChannel) or not hasattr(runtime.channel, "post"):
        return None  # no messenger: broadcasts wait until one is configured
    task = _workers.get(id(runtime))
    if task is not None and not task.done():
        return task
    async with unit_of_work(runtime.sessionmaker) as session:
        running = await session.scalar(select(exists().where(Broadcast.status == Status.RUNNING.value)))
    if not running:
        return None
    engine = Engine(
        runtime.sessionmaker, runtime.channel, runtime.pacer, files_root=runtime.settings.files_dir,  # type: ignore[arg-type]
        default_locale=runtime.settings.DEFAULT_LOCALE, config=config_of(runtime),
    )
    task = asyncio.create_task(engine.run())
    task.add_done_callback(lambda t: _workers.pop(id(runtime), None) if _workers.get(id(runtime)) is t else None)
    _workers[id(runtime)] = task
    return task


JOBS = (Job(id="broadcasts.tick", func=tick, every_seconds=2),)
