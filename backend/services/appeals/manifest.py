"""Appeals, declared: residents write to their town (59-FZ appeals and problem reports), clerks
handle the queue in the appeals miniapp, dashboards read reports over Open311."""

from __future__ import annotations

from backend.core.components.manifest import Manifest, PersonalData
from backend.i18n import N_
from backend.services.appeals import jobs, models, notices, permissions, queries, seed, service
from backend.services.appeals.api import router
from backend.services.appeals.open311.api import keys_router
from backend.services.appeals.open311.api import router as open311_router
from backend.services.appeals.settings import AppealsSettings

MANIFEST = Manifest(
    slug=permissions.SLUG,
    title=N_("Appeals"),
    description=N_("The queue of residents' appeals and reports"),
    icon="📨",
    miniapp="appeals/",
    opens_for=permissions.HANDLE.roles,
    order=10,
    actions=permissions.ACTIONS,
    settings=AppealsSettings,
    routers=(router, keys_router),
    public_routers=(open311_router,),
    jobs=jobs.JOBS,
    models=(
        models.AppealCategory, models.Appeal, models.AppealComment, models.AppealLink, models.AppealReminder, models.Open311Key,
        models.AppealAnswerDraft, models.AppealStatusCount,
    ),
    personal_data=PersonalData(export=queries.export_personal_data, erase=service.erase_personal_data),
    files={"appeal": queries.may_see},
    documents={"appeal": queries.may_see},
    notices=notices.NOTICES,
    stats=queries.stats,
    seed=seed.seed,
)
