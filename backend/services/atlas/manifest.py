"""The Atlas of Happiness, declared: a town's public page (/atlas/<slug>) of the three factors
of happiness, every service's stats, participation, residents' stories and places; organizers
curate it in the atlas miniapp, residents share stories."""

from __future__ import annotations

from backend.core.components.manifest import Manifest, PersonalData
from backend.i18n import N_
from backend.services.atlas import models, notices, permissions, queries, seed, service
from backend.services.atlas.api import public_router, router
from backend.services.atlas.settings import AtlasSettings

MANIFEST = Manifest(
    slug=permissions.SLUG,
    title=N_("Atlas of Happiness"),
    description=N_("The town's public page: figures, stories, places"),
    icon="🌻",
    miniapp="atlas/",
    # The hub lists it for those who curate; residents reach it (to share a story) from the
    # bot's /atlas, beside the public page's link.
    opens_for=permissions.CURATE.roles,
    order=60,
    actions=permissions.ACTIONS,
    settings=AtlasSettings,
    routers=(router,),
    public_routers=(public_router,),
    models=(models.AtlasFigure, models.AtlasStory, models.AtlasPlace),
    personal_data=PersonalData(export=queries.export_personal_data, erase=service.erase_personal_data),
    files={service.PHOTO_OWNER: queries.may_see},
    notices=notices.NOTICES,
    seed=seed.seed,
)
