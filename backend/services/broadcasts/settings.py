"""A town's settings of broadcasts (validated by the manifest)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from backend.core.municipalities.models import Municipality
from backend.core.municipalities.settings import service_settings
from backend.i18n import N_


class BroadcastsSettings(BaseModel):
    # Titles are msgids: the administration's miniapp renders this model as the service's form.
    model_config = ConfigDict(extra="forbid")

    # Telegram bills paid broadcasts in Stars from the bot's balance: a town opts in.
    paid_enabled: bool = Field(
        default=False, title=N_("Allow paid broadcasts"),
        description=N_("Up to 1,000 messages a second, each billed in Telegram Stars"),
    )
    paid_rate: int = Field(default=1000, ge=1, le=1000, title=N_("Paid broadcast rate, messages a second"))


def settings_of(town: Municipality) -> BroadcastsSettings:
    """The town's settings of broadcasts, defaults where it set nothing."""
    return service_settings(town, "broadcasts", BroadcastsSettings)
