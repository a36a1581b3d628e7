"""Every scheduled job, collected for the scheduler."""

from backend.core.privacy.jobs import JOBS as PRIVACY_JOBS
from backend.scheduler import Job

ALL_JOBS: list[Job] = [*PRIVACY_JOBS]
