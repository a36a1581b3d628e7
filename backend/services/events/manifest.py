"""Events, declared: the Glocal City Game, accelerator and investment sessions and public
events; registration with a waitlist in the bot, tickets with a QR code, check-in at the
door in the events miniapp."""

from __future__ import annotations

from backend.core.components.manifest import Manifest, PersonalData
from backend.i18n import N_
from backend.services.events import jobs, models, notices, permissions, queries, seed, service
from backend.services.events.api import router
from backend.services.events.settings import EventsSettings

MANIFEST = Manifest(
    slug=permissions.SLUG,
    title=N_("Events"),
    description=N_("Check-in at the door, participants and attendance"),
    icon="🎟",
    miniapp="events/",
    opens_for=permissions.CHECK_IN.roles,
    order=30,
    actions=permissions.ACTIONS,
    settings=EventsSettings,
    routers=(router,),
    jobs=jobs.JOBS,
    models=(models.Event, models.EventSession, models.EventTeam, models.EventRegistration, models.EventCheckIn),
    personal_data=PersonalData(export=queries.export_personal_data, erase=service.erase_personal_data),
    notices=notices.NOTICES,
    stats=queries.stats,
    seed=seed.seed,
)
