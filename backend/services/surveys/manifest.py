"""Surveys, declared: organizers build them in the surveys miniapp, residents answer in chat
or in the miniapp (anonymous or identified), results are charted, exported and published."""

from __future__ import annotations

from backend.core.components.manifest import Manifest, PersonalData
from backend.i18n import N_
from backend.services.surveys import jobs, models, notices, permissions, queries, seed, service
from backend.services.surveys.api import router
from backend.services.surveys.settings import SurveysSettings

MANIFEST = Manifest(
    slug=permissions.SLUG,
    title=N_("Surveys"),
    description=N_("Surveys of residents: built by organizers, answered in chat"),
    icon="📊",
    miniapp="surveys/",
    # The hub shows it to organizers; residents reach it from the bot's survey list (a
    # Mini App button), so a resident's hub stays the services they use every day.
    opens_for=permissions.MANAGE.roles,
    order=30,
    actions=permissions.ACTIONS,
    settings=SurveysSettings,
    routers=(router,),
    jobs=jobs.JOBS,
    models=(models.Survey, models.SurveyVersion, models.SurveyResponse, models.SurveyVoter),
    personal_data=PersonalData(export=queries.export_personal_data, erase=service.erase_personal_data),
    files={service.FILE_OWNER: queries.may_see},
    notices=notices.NOTICES,
    stats=queries.stats,
    seed=seed.seed,
)
