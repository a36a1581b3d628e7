from __future__ import annotations

from pydantic import BaseModel, Field


class DownloadLinkOut(BaseModel):
    url: str = Field(description="An absolute URL that downloads the file without Authorization, for a few minutes")
    filename: str = Field(description="The name to save the file under")
