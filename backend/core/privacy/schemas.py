from __future__ import annotations

from pydantic import BaseModel


class PolicyOut(BaseModel):
    version: str
    text: str
    accepted: bool
