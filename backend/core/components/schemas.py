from __future__ import annotations

from pydantic import BaseModel


class ComponentOut(BaseModel):
    slug: str
    title: str
    description: str
    icon: str
    path: str
