"""Settings every town has, validated; each applied service keeps its own typed settings
under `services.<slug>` (declared by its manifest, validated by it)."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from backend.core.municipalities.models import Municipality

M = TypeVar("M", bound=BaseModel)


class Requisites(BaseModel):
    """The administration's requisites for the letterhead of its outgoing documents (ГОСТ Р
    7.0.97-2016: the body's name and its reference data). Kept with the town, not with one
    service: every outgoing document of the town carries the same ones."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The body's full name as its charter gives it, e.g. "Администрация городского округа
    # Коломна"; when empty, "Администрация муниципального образования «<town>»".
    administration: str | None = Field(default=None, min_length=3, max_length=300)
    address: str | None = Field(default=None, min_length=5, max_length=300)  # postal, with the index
    phone: str | None = Field(default=None, min_length=5, max_length=64, pattern=r"^[0-9+()\- ,.;доб]+$")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    website: str | None = Field(default=None, max_length=200, pattern=r"^\S+\.\S+$")


class TownSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Terms in calendar days (the default reading of 59-FZ) or in working days.
    calendar_days: bool = True
    holidays: list[date] = Field(default_factory=list, max_length=400)
    working_weekends: list[date] = Field(default_factory=list, max_length=100)
    # Which applied services are on; None means every installed one.
    components: list[str] | None = Field(default=None, max_length=100)
    services: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Who may perform a service's action here, when the town differs from the manifest's
    # default: "<slug>.<action>" -> role names.
    permissions: dict[str, list[str]] = Field(default_factory=dict)
    requisites: Requisites = Field(default_factory=Requisites)


def validated(model: type[M], raw: dict[str, Any]) -> M:
    """`raw` as `model`; a stored value that no longer validates (a field removed or narrowed
    since it was written; writes are validated) falls back to its default field by field
    rather than breaking the town."""
    try:
        return model.model_validate(raw)
    except ValidationError:
        good = {}
        for name in model.model_fields:
            if name in raw:
                try:
                    model.model_validate({name: raw[name]})
                except ValidationError:
                    continue
                good[name] = raw[name]
        return model.model_validate(good)


def town_settings(town: Municipality) -> TownSettings:
    """The town's own settings."""
    return validated(TownSettings, town.settings or {})


def service_settings(town: Municipality, slug: str, model: type[M]) -> M:
    """The town's settings of one service, as its manifest types them."""
    return validated(model, town_settings(town).services.get(slug, {}))


def is_enabled(town: Municipality, slug: str) -> bool:
    """Whether the town has switched the service `slug` on."""
    enabled = (town.settings or {}).get("components")
    return enabled is None or slug in enabled
