"""The calling person: profile, towns, language, data export and erasure."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.downloads import api as downloads
from backend.core.downloads import service as links
from backend.core.downloads.schemas import DownloadLinkOut
from backend.core.municipalities import service as towns
from backend.core.municipalities.schemas import TownOut
from backend.core.privacy import service as privacy
from backend.core.users import service
from backend.core.users.models import User
from backend.core.users.schemas import ConsentOut, MembershipOut, MeOut, MeUpdate
from backend.deps import CurrentUser, PlatformLaunchUser, RuntimeDep, SessionDep, SettingsDep
from backend.errors import NotFound
from backend.openapi import errors
from backend.i18n import N_, get_locale, set_locale

router = APIRouter(prefix="/api/v1", tags=["me"], responses=errors(401))


async def _me(session: AsyncSession, user: User) -> MeOut:
    rows = await service.memberships(session, user_id=user.id)
    current = next((t for _, t in rows if t.id == user.current_municipality_id), None)
    if current is None and rows:
        current = rows[0][1]
    consent = await privacy.active_consent(session, user_id=user.id)
    return MeOut(
        id=user.id,
        telegram_id=user.telegram_id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        locale=get_locale(),
        identity_level=user.identity_level,
        phone_verified=user.phone is not None,
        current_municipality=TownOut.model_validate(current) if current else None,
        memberships=[MembershipOut(municipality=TownOut.model_validate(t), role=m.role) for m, t in rows],
        consent=ConsentOut(version=consent.version, given_at=consent.given_at) if consent else None,
        is_platform_admin=user.is_platform_admin,
    )


@router.get("/me", response_model=MeOut)
async def get_me(session: SessionDep, user: CurrentUser) -> MeOut:
    """The person, their roles in every town, and their consent."""
    return await _me(session, user)


@router.patch("/me", response_model=MeOut, responses=errors(404, 422))
async def update_me(body: MeUpdate, request: Request, session: SessionDep, user: CurrentUser) -> MeOut:
    """Change language or current town."""
    if body.locale is not None:
        await service.set_locale(session, user=user, locale=body.locale)
        set_locale(body.locale)
        request.state.locale = body.locale
    if body.municipality_id is not None:
        if getattr(request.state, "launch_town", None) not in (None, body.municipality_id):
            raise NotFound(N_("Town not found."))
        town = await towns.get(session, municipality_id=body.municipality_id)
        await service.join_town(session, user=user, municipality_id=town.id)
    await session.flush()
    return await _me(session, user)


EXPORT_NAME = "glocal-my-data.json"


@router.get("/me/export", responses=errors(403))
async def export_me(session: SessionDep, user: PlatformLaunchUser, runtime: RuntimeDep) -> Response:
    """Everything stored about the person, as a JSON file."""
    data = await privacy.export_user_data(session, user_id=user.id, registry=runtime.registry)
    return Response(
        content=json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{EXPORT_NAME}"'},
    )


@router.post("/me/export" + links.SUFFIX, response_model=DownloadLinkOut, responses=errors(403))
async def export_me_link(request: Request, user: PlatformLaunchUser, settings: SettingsDep) -> DownloadLinkOut:
    """A signed link that downloads the person's data for a few minutes without Authorization."""
    return downloads.link(request, settings, user_id=user.id, filename=EXPORT_NAME)


@router.delete("/me", status_code=204, responses=errors(403))
async def forget_me(session: SessionDep, user: PlatformLaunchUser, runtime: RuntimeDep) -> Response:
    """Erase the person's personal data."""
    await privacy.forget_user(session, user_id=user.id, registry=runtime.registry)
    return Response(status_code=204)
