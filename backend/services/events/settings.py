"""A town's settings of events (validated by the manifest)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backend.core.municipalities.models import Municipality
from backend.core.municipalities.settings import service_settings
from backend.i18n import N_


class EventsSettings(BaseModel):
    # Titles are msgids: the administration's miniapp renders this model as the service's form.
    model_config = ConfigDict(extra="forbid")

    # A freed place offered to the first of the waitlist is held this long for them to
    # confirm; then it goes to the next person.
    offer_confirm_hours: int = Field(default=12, ge=1, le=72, title=N_("Hours to confirm an offered place"))
    reminders: bool = Field(default=True, title=N_("Remind participants a day and an hour before"))


def of(town: Municipality) -> EventsSettings:
    """The town's events settings, defaults where it set nothing."""
    return service_settings(town, "events", EventsSettings)
