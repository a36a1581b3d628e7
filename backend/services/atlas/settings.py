"""A town's settings of the Atlas (validated by the manifest): its population, a line under
its name, and which sections the public page shows."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backend.core.municipalities.models import Municipality
from backend.core.municipalities.settings import service_settings
from backend.fields import NO_NUL
from backend.i18n import N_

# The page's sections in their order, and their titles (msgids).
SECTIONS: dict[str, str] = {
    "factors": N_("The three factors of happiness"),
    "appeals": N_("Appeals to the administration"),
    "participation": N_("Participation"),
    "services": N_("Surveys, events and other services"),
    "stories": N_("Residents' stories"),
    "map": N_("Places and communities"),
    "data": N_("Open data"),
}


class AtlasSettings(BaseModel):
    # Titles are msgids: the administration's miniapp renders this model as the service's form.
    model_config = ConfigDict(extra="forbid")

    # Participation is counted per 1,000 residents; without a population it is not shown.
    population: int | None = Field(default=None, ge=1, le=50_000_000, title=N_("Population of the town"))
    tagline: str | None = Field(default=None, max_length=300, pattern=NO_NUL, title=N_("A line under the town's name"))
    show_factors: bool = Field(default=True, title=N_("Show the three factors of happiness"))
    show_appeals: bool = Field(default=True, title=N_("Show appeal statistics"))
    show_participation: bool = Field(default=True, title=N_("Show participation"))
    show_services: bool = Field(default=True, title=N_("Show figures of surveys, events and other services"))
    show_stories: bool = Field(default=True, title=N_("Show residents' stories"))
    show_map: bool = Field(default=True, title=N_("Show places and communities"))
    show_data: bool = Field(default=True, title=N_("Offer the figures as open data (CSV)"))

    def shows(self, section: str) -> bool:
        """Whether the public page shows `section` (a key of SECTIONS)."""
        return bool(getattr(self, f"show_{section}"))


def of(town: Municipality) -> AtlasSettings:
    """The town's Atlas settings, defaults where it set nothing."""
    return service_settings(town, "atlas", AtlasSettings)
