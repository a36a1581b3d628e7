"""The platform API's view of a town's bot: never its token, only a masked hint."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.fields import Text


class TownBotIn(BaseModel):
    token: Text(200, min_length=1) = Field(description="The bot's token from @BotFather (checked with getMe, then kept encrypted)")


class TownBotPatch(BaseModel):
    enabled: bool = Field(description="Off: the town is served by the platform's bot again, the token is kept")


class TownBotOut(BaseModel):
    bot_id: int
    username: str = Field(description="The bot's @username without the @")
    token_hint: str = Field(description="The bot's id and the token's last four characters")
    enabled: bool
    connected_at: datetime
    link: str = Field(description="t.me/<username>")
