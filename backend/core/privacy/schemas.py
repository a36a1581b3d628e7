from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class PolicyOut(BaseModel):
    version: str
    text: str
    accepted: bool
    given_at: datetime | None = None
    accepted_version: str | None = None  # the version the person accepted (may be older)
