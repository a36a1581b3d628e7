"""A town's own bot, for the platform's administrators: see it, connect it (the token checked
with getMe), switch it off or on, disconnect it. The token is never in an answer."""

from __future__ import annotations

from fastapi import APIRouter, Response

from backend.core.admin.api import PlatformAdmin
from backend.core.bots import service
from backend.core.bots.models import TownBot
from backend.core.bots.schemas import TownBotIn, TownBotOut, TownBotPatch
from backend.core.municipalities import service as towns
from backend.db import after_commit
from backend.deps import RuntimeDep, SessionDep
from backend.fields import IdPath
from backend.openapi import ERRORS, errors

router = APIRouter(prefix="/api/v1/platform/towns/{municipality_id}/bot", tags=["platform"], responses=ERRORS)


def _out(row: TownBot) -> TownBotOut:
    return TownBotOut(
        bot_id=row.id, username=row.username, token_hint=row.token_hint, enabled=row.enabled, connected_at=row.connected_at,
        link=f"https://t.me/{row.username}",
    )


@router.get("", response_model=TownBotOut | None)
async def get_town_bot(municipality_id: IdPath, admin: PlatformAdmin, session: SessionDep) -> TownBotOut | None:
    """The town's own bot, or null when the platform's bot serves it."""
    town = await towns.get(session, municipality_id=municipality_id)
    row = await service.get(session, municipality_id=town.id)
    return _out(row) if row is not None else None


@router.put("", response_model=TownBotOut, responses=errors(502))
async def connect_town_bot(
    municipality_id: IdPath, body: TownBotIn, admin: PlatformAdmin, session: SessionDep, runtime: RuntimeDep
) -> TownBotOut:
    """Connect the town's own bot by its @BotFather token (replacing one it had); the running
    app starts serving it at once."""
    town = await towns.get(session, municipality_id=municipality_id)
    settings = runtime.settings
    platform_id = int(settings.signing_token.split(":", 1)[0]) if settings.bot_enabled else None
    row = await service.connect(
        session, municipality_id=town.id, token=body.token, api_url=settings.TELEGRAM_API_URL,
        cipher=runtime.town_bots.cipher, platform_bot_id=platform_id, actor_id=admin.id,
    )
    after_commit(session, runtime.town_bots.changed)
    return _out(row)


@router.patch("", response_model=TownBotOut)
async def patch_town_bot(
    municipality_id: IdPath, body: TownBotPatch, admin: PlatformAdmin, session: SessionDep, runtime: RuntimeDep
) -> TownBotOut:
    """Switch the town's bot off (the platform's bot serves the town again, the token is kept) or on."""
    town = await towns.get(session, municipality_id=municipality_id)
    row = await service.set_enabled(session, municipality_id=town.id, enabled=body.enabled, actor_id=admin.id)
    after_commit(session, runtime.town_bots.changed)
    return _out(row)


@router.delete("", status_code=204)
async def disconnect_town_bot(municipality_id: IdPath, admin: PlatformAdmin, session: SessionDep, runtime: RuntimeDep) -> Response:
    """Disconnect the town's bot and forget its token: the platform's bot serves the town again."""
    town = await towns.get(session, municipality_id=municipality_id)
    await service.disconnect(session, municipality_id=town.id, actor_id=admin.id)
    after_commit(session, runtime.town_bots.changed)
    return Response(status_code=204)
