"""Broadcasts, declared: organizers announce to a town's residents (or to a group another
service keeps), delivered within Telegram's limits and never twice; residents mute them."""

from __future__ import annotations

from backend.core.components.manifest import Manifest, PersonalData
from backend.i18n import N_
from backend.services.broadcasts import jobs, models, notices, permissions, queries, service
from backend.services.broadcasts.api import router
from backend.services.broadcasts.settings import BroadcastsSettings

MANIFEST = Manifest(
    slug=permissions.SLUG,
    title=N_("Broadcasts"),
    description=N_("Announcements to residents: compose, choose who gets them, follow delivery"),
    icon="📣",
    miniapp="broadcasts/",
    opens_for=permissions.SEND.roles,
    order=40,
    actions=permissions.ACTIONS,
    settings=BroadcastsSettings,
    routers=(router,),
    jobs=jobs.JOBS,
    models=(models.Broadcast, models.BroadcastRecipient, models.BroadcastMute),
    personal_data=PersonalData(export=queries.export_personal_data, erase=service.erase_personal_data),
    files={"broadcast": queries.may_see},
    notices=tuple(notices.NOTICES),
)
