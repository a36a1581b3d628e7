from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from backend.core.municipalities.schemas import TownOut
from backend.fields import Id


class MembershipOut(BaseModel):
    municipality: TownOut
    role: str


class ConsentOut(BaseModel):
    version: str
    given_at: datetime


class MeOut(BaseModel):
    id: int
    telegram_id: int | None
    first_name: str | None
    last_name: str | None
    username: str | None
    locale: str
    identity_level: str
    phone_verified: bool
    current_municipality: TownOut | None
    memberships: list[MembershipOut]
    consent: ConsentOut | None
    is_platform_admin: bool = False


class MeUpdate(BaseModel):
    locale: Literal["ru", "en"] | None = None
    municipality_id: Id | None = None
