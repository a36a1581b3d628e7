"""The toy, declared: the one place the rest of the house learns about it."""

from __future__ import annotations

from backend.core.components.manifest import ALL_ROLES, Action, Manifest, PersonalData
from backend.i18n import N_
from tests.services.toy.backend import jobs, models, notices, seed, service
from tests.services.toy.backend.api import router
from tests.services.toy.backend.settings import ToySettings

WRITE = Action("write", N_("Keep notes"), ALL_ROLES)

MANIFEST = Manifest(
    slug=service.SLUG,
    title=N_("Toy notes"),
    description=N_("Short notes a resident keeps"),
    icon="🧸",
    miniapp="toy/",
    order=50,
    actions=(WRITE,),
    settings=ToySettings,
    routers=(router,),
    jobs=jobs.JOBS,
    models=(models.ToyNote,),
    personal_data=PersonalData(export=service.export_personal_data, erase=service.erase_personal_data),
    notices=notices.NOTICES,
    seed=seed.seed,
)
