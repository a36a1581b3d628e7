"""A town's settings of surveys (validated by the manifest)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backend.core.municipalities.models import Municipality
from backend.core.municipalities.settings import service_settings
from backend.i18n import N_


class SurveysSettings(BaseModel):
    # Titles are msgids: the administration's miniapp renders this model as the service's form.
    model_config = ConfigDict(extra="forbid")

    # Anonymous by default: residents answer more frankly, and nothing personal is kept.
    anonymous_by_default: bool = Field(default=True, title=N_("New surveys are anonymous by default"))
    # How many text answers the results page lists per question (the export has them all).
    text_answers_shown: int = Field(default=200, ge=10, le=2000, title=N_("Text answers shown per question in results"))
    # The Atlas shows published results only from this many respondents up, so that a
    # handful of answers cannot be traced back to the people who gave them.
    atlas_min_respondents: int = Field(default=5, ge=1, le=1000, title=N_("Fewest respondents for results on the Atlas"))


def of(town: Municipality) -> SurveysSettings:
    """The town's surveys settings, defaults where it set nothing."""
    return service_settings(town, "surveys", SurveysSettings)
