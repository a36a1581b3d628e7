"""Connecting a town's own bot, switching it off and on, disconnecting it; audited. The token is
validated with getMe, kept encrypted (vault.py) and never written anywhere else."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import service as audit
from backend.core.bots import telegram
from backend.core.bots.models import TownBot
from backend.core.bots.vault import Cipher, hint
from backend.db import utcnow
from backend.errors import Conflict, DomainError, InvalidFields, NotFound
from backend.i18n import N_, gettext


class BotApiUnavailable(DomainError):
    """The Bot API server could not be asked: nothing is changed."""

    status = 502
    code = "bot_api_unavailable"


def _bad_token(message: str) -> InvalidFields:
    return InvalidFields(N_("Check the bot's token: {problem}"), fields=["token"], problem=gettext(message))


async def get(session: AsyncSession, *, municipality_id: int) -> TownBot | None:
    """The town's bot, if it has one."""
    return await session.scalar(select(TownBot).where(TownBot.municipality_id == municipality_id))


async def for_towns(session: AsyncSession, *, municipality_ids: list[int]) -> dict[int, TownBot]:
    """The bots of these towns, by town."""
    if not municipality_ids:
        return {}
    rows = await session.scalars(select(TownBot).where(TownBot.municipality_id.in_(municipality_ids)))
    return {r.municipality_id: r for r in rows}


async def connect(
    session: AsyncSession, *, municipality_id: int, token: str, api_url: str, cipher: Cipher, platform_bot_id: int | None,
    actor_id: int,
) -> TownBot:
    """Give the town its own bot (replacing the one it had): the token must be a bot's that
    getMe knows, not the platform's and not another town's."""
    token = token.strip()
    match = telegram.TOKEN_RE.match(token)
    if match is None:
        raise _bad_token(N_("it looks like 123456789:AAE… (copy it from @BotFather)"))
    bot_id = int(match.group(1))
    if bot_id == platform_bot_id:
        raise Conflict(N_("This is the platform's own bot: a town needs a bot of its own."))
    try:
        me = await telegram.get_me(api_url, token)
    except telegram.TokenRefused:
        raise _bad_token(N_("Telegram does not accept it (revoked or mistyped?)")) from None
    except telegram.BotApiUnreachable:
        raise BotApiUnavailable(N_("Telegram could not be asked about the token just now. Try again in a minute.")) from None
    if me.id != bot_id:
        raise _bad_token(N_("Telegram does not accept it (revoked or mistyped?)"))
    taken = await session.get(TownBot, bot_id)
    if taken is not None and taken.municipality_id != municipality_id:
        raise Conflict(N_("This bot already serves another town."))
    previous = await get(session, municipality_id=municipality_id)
    before = {"bot_id": previous.id, "username": previous.username, "enabled": previous.enabled} if previous else None
    if previous is not None:
        await session.delete(previous)
        await session.flush()
    row = TownBot(
        id=bot_id, municipality_id=municipality_id, username=me.username, token_encrypted=cipher.seal(token),
        token_hint=hint(token), enabled=True, connected_at=utcnow(), connected_by=actor_id,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session, action="town.bot_connect", object_type="town_bot", object_id=bot_id, actor_id=actor_id,
        municipality_id=municipality_id, before=before, after={"bot_id": bot_id, "username": me.username, "enabled": True},
    )
    return row


async def set_enabled(session: AsyncSession, *, municipality_id: int, enabled: bool, actor_id: int) -> TownBot:
    """Switch the town's bot off (the platform's bot serves the town; the token is kept) or on."""
    row = await get(session, municipality_id=municipality_id)
    if row is None:
        raise NotFound(N_("This town has no bot of its own."))
    if row.enabled != enabled:
        await audit.record(
            session, action="town.bot_enabled", object_type="town_bot", object_id=row.id, actor_id=actor_id,
            municipality_id=municipality_id, before={"enabled": row.enabled}, after={"enabled": enabled},
        )
        row.enabled = enabled
        await session.flush()
    return row


async def disconnect(session: AsyncSession, *, municipality_id: int, actor_id: int) -> None:
    """Forget the town's bot and its token: the platform's bot serves the town again."""
    row = await get(session, municipality_id=municipality_id)
    if row is None:
        raise NotFound(N_("This town has no bot of its own."))
    await audit.record(
        session, action="town.bot_disconnect", object_type="town_bot", object_id=row.id, actor_id=actor_id,
        municipality_id=municipality_id, before={"bot_id": row.id, "username": row.username, "enabled": row.enabled},
    )
    await session.delete(row)
    await session.flush()
