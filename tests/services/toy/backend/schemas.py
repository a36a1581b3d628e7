"""The toy's API shapes: bounded fields (backend/fields.py), so bad input is a 422."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from backend.fields import Text


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text(200, min_length=1)


class NoteOut(BaseModel):
    id: int
    text: str
    created_at: datetime
