"""A town's settings of appeals (validated by the manifest), and what follows from them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from backend.core.calendar import service as calendars
from backend.core.municipalities.models import Municipality
from backend.core.municipalities.settings import service_settings
from backend.i18n import N_
from backend.services.appeals import rules
from backend.services.appeals.rules import Kind


SIGNER_WHOLE = N_("the signer's name and position are given together, or neither")


class AppealsSettings(BaseModel):
    # Titles are msgids: the administration's miniapp renders this model as the service's form.
    model_config = ConfigDict(extra="forbid")

    # Prefix of registration numbers (GLZ-2026-000123); from the town's slug when not set.
    reg_prefix: str | None = Field(
        default=None, pattern=r"^[A-Z0-9]{2,8}$", title=N_("Prefix of registration numbers"),
        description=N_("2 to 8 capital Latin letters or digits; empty: from the town's address"),
    )
    # 59-FZ art. 12 p. 1: at most 30 days; a town may promise less.
    answer_days: int = Field(
        default=30, ge=1, le=30, title=N_("Answer term for appeals, days"), description=N_("59-FZ: at most 30 days"),
    )
    # The informal channel: ПОС asks for an answer within 10 working days.
    report_answer_days: int = Field(default=10, ge=1, le=60, title=N_("Answer term for problem reports, days"))
    # What identifies a citizen for a formal appeal (547-FZ): see core/identity.
    identity: Literal["telegram", "phone", "esia"] = Field(
        default="phone", title=N_("Who may file a formal appeal"),
        json_schema_extra={"x-options": {
            "telegram": N_("Anyone with Telegram"),
            "phone": N_("Those with a verified phone"),
            "esia": N_("Those identified via Gosuslugi"),
        }},
    )
    # Ask the name and reply address up front; when off, art. 11 decides what happens without them.
    require_contacts: bool = Field(default=True, title=N_("Ask for the name and reply address up front"))
    max_chars: int = Field(default=10_000, ge=10, le=50_000, title=N_("Longest appeal text, characters"))
    # Clerks see only their own department's appeals (department heads and the head see all).
    clerks_see_own_department_only: bool = Field(default=False, title=N_("Clerks see only their department's appeals"))
    # Who Open311 clients should contact, shown in discovery.
    open311_contact: str | None = Field(default=None, max_length=200, title=N_("Contact for Open311 clients"))
    # Who signs answers (59-FZ art. 10 p. 3: the head of the body, an official or a person
    # authorised to sign), as the signature block prints them: "Главин Иван Иванович",
    # "Глава городского округа". Both or neither; with neither, the clerk who answers signs
    # under a position read from their role. Here rather than in the town's requisites: other
    # kinds of documents have other signers.
    signer_name: str | None = Field(default=None, min_length=3, max_length=120, title=N_("Who signs answers"))
    signer_position: str | None = Field(default=None, min_length=3, max_length=200, title=N_("Their position"))

    @model_validator(mode="after")
    def _signer_whole(self) -> AppealsSettings:
        if (self.signer_name is None) != (self.signer_position is None):
            raise PydanticCustomError("glocal_message", SIGNER_WHOLE)
        return self


def of(town: Municipality) -> AppealsSettings:
    """The town's appeals settings, defaults where it set nothing."""
    return service_settings(town, "appeals", AppealsSettings)


def policy_for(town: Municipality, *, kind: Kind = Kind.STATEMENT) -> rules.DeadlinePolicy:
    """The town's reading of 59-FZ terms on its calendar; informal reports have their own term."""
    s = of(town)
    return rules.DeadlinePolicy(
        answer_days=s.answer_days if kind.is_formal else s.report_answer_days,
        calendar=calendars.for_town(town),
    )


def reg_prefix(town: Municipality) -> str:
    """The town's registration prefix, else one from its slug."""
    prefix = of(town).reg_prefix
    if prefix:
        return prefix
    letters = re.sub(r"[^a-z0-9]", "", town.slug.lower())
    return (letters[:3] or "APL").upper().ljust(2, "X")


def text_limit(town: Municipality) -> int:
    return of(town).max_chars
