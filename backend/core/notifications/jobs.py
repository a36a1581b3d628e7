"""Delivering the outbox every few seconds."""

from __future__ import annotations

from backend.core.notifications import service
from backend.core.notifications.port import NullChannel
from backend.runtime import Runtime
from backend.scheduler import Job


async def deliver(runtime: Runtime) -> None:
    if isinstance(runtime.channel, NullChannel):
        return  # no messenger: notices wait in the outbox until one is configured
    await service.deliver_pending(
        runtime.sessionmaker, runtime.channel, notices=runtime.notices, pacer=runtime.pacer,
        files_root=runtime.settings.files_dir, default_locale=runtime.settings.DEFAULT_LOCALE,
    )


JOBS = [Job(id="notifications.deliver", func=deliver, every_seconds=2)]
