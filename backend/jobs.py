"""Every scheduled job, collected for the scheduler."""

from backend.core.files.jobs import JOBS as FILE_JOBS
from backend.core.notifications.jobs import JOBS as NOTIFICATION_JOBS
from backend.core.privacy.jobs import JOBS as PRIVACY_JOBS
from backend.scheduler import Job
from backend.services.appeals.jobs import JOBS as APPEAL_JOBS

ALL_JOBS: list[Job] = [*NOTIFICATION_JOBS, *PRIVACY_JOBS, *FILE_JOBS, *APPEAL_JOBS]
