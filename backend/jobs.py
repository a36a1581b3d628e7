"""Every scheduled job: core's, then each installed component's (from its manifest)."""

from __future__ import annotations

from backend.core.components.registry import Registry
from backend.core.dialogs.jobs import JOBS as DIALOG_JOBS
from backend.core.files.jobs import JOBS as FILE_JOBS
from backend.core.notifications.jobs import JOBS as NOTIFICATION_JOBS
from backend.core.privacy.jobs import JOBS as PRIVACY_JOBS
from backend.core.transport.jobs import JOBS as TRANSPORT_JOBS
from backend.scheduler import Job

CORE_JOBS: tuple[Job, ...] = (*NOTIFICATION_JOBS, *PRIVACY_JOBS, *FILE_JOBS, *TRANSPORT_JOBS, *DIALOG_JOBS)


def all_jobs(registry: Registry) -> list[Job]:
    """Core jobs and the installed components' jobs."""
    return [*CORE_JOBS, *(job for m in registry for job in m.jobs)]
