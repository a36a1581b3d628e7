"""The toy's per-town settings: the administration's miniapp renders and checks this model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backend.i18n import N_


class ToySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keep_days: int = Field(default=30, ge=1, le=365, title=N_("Keep notes, days"))
    max_notes: int = Field(default=3, ge=1, le=50, title=N_("Notes per person"))
