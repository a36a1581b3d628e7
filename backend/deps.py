"""FastAPI dependencies: one session (one transaction) per request, the calling person from
Mini App launch data, and town-scoped role checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import initdata
from backend.core.auth import service as auth
from backend.core.downloads import service as downloads
from backend.core.components.permissions import effective_roles
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Municipality
from backend.core.users import service as users
from backend.core.users.models import Role, User
from backend.db import unit_of_work
from backend.errors import Forbidden, NotFound, Unauthorized
from backend.fields import IdPath
from backend.i18n import N_, normalize_locale, set_locale
from backend.runtime import Runtime
from backend.settings import Settings


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(request: Request) -> Settings:
    return request.app.state.runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    # scope="function" below: the commit runs when the endpoint returns, before the response
    # is sent, so a failed commit is a 500 and never a silent loss.
    async with unit_of_work(runtime.sessionmaker) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


# Documented in the OpenAPI as a security scheme, so generated clients send the header.
launch_data = APIKeyHeader(
    name="Authorization",
    scheme_name="TelegramLaunchData",
    description="`tma <initData>`: the Mini App's launch data as Telegram gives it, signed with the bot's token.",
    auto_error=False,
)


async def get_current_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Security(launch_data)] = None,
) -> User:
    grant = downloads.granted(request.scope)
    if grant is not None:  # a signed download link: the GET it grants, as the person it names
        user = await downloads.person(session, grant=grant)
        locale = user.locale or normalize_locale(request.headers.get("accept-language"), settings.DEFAULT_LOCALE)
        set_locale(locale)
        request.state.locale = locale
        return user
    if not authorization or not authorization.startswith("tma "):
        raise Unauthorized(N_("Open this app from the bot: launch data is missing."))
    user, data = await _authenticate(request, session, settings, authorization[4:])
    # The profile's language, else the Telegram client's (as in the bot), else the browser's.
    telegram_language = data.user.language_code
    locale = user.locale or normalize_locale(
        telegram_language or request.headers.get("accept-language"), settings.DEFAULT_LOCALE
    )
    set_locale(locale)
    request.state.locale = locale
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]

TOWN_SCOPED = N_("Open this from the platform's bot: the town's own bot cannot be used for it.")


async def _authenticate(request: Request, session: AsyncSession, settings: Settings, raw: str) -> tuple[User, initdata.InitData]:
    """Launch data signed by the platform's bot, else by a town's own bot (backend/core/bots).

    A town's bot token is held by the town (it made the bot at @BotFather), so whoever holds it
    can sign launch data for anyone: such launch data is good only inside that town
    (`request.state.launch_town`; another town's routes are a 404, see `town_access`) and not
    for what reaches beyond it (`PlatformLaunchUser`)."""
    request.state.launch_town = None
    try:
        return await auth.authenticate(session, init_data=raw, token=settings.signing_token, max_age=settings.AUTH_MAX_AGE)
    except Unauthorized:
        if initdata.signature_valid(settings.signing_token, raw):
            raise  # the platform's, but expired or malformed
        runtime: Runtime = request.app.state.runtime
        entry = next((e for e in (await runtime.town_bots.entries()).values() if initdata.signature_valid(e.token, raw)), None)
        if entry is None:
            raise
    scope = request.path_params.get("municipality_id")
    if scope is not None and str(scope) != str(entry.municipality_id):
        raise NotFound(N_("Town not found."))
    request.state.launch_town = entry.municipality_id
    return await auth.authenticate(session, init_data=raw, token=entry.token, max_age=settings.AUTH_MAX_AGE)


async def platform_launch_user(request: Request, user: CurrentUser) -> User:
    """The calling person, when their launch data comes from the platform's bot (or a download
    link): what reaches beyond one town (the person's whole data, the platform) needs it."""
    if getattr(request.state, "launch_town", None) is not None:
        raise Forbidden(TOWN_SCOPED)
    return user


PlatformLaunchUser = Annotated[User, Depends(platform_launch_user)]


@dataclass(frozen=True)
class TownAccess:
    town: Municipality
    roles: frozenset[Role]


def town_access(*roles: Role) -> Callable[..., Coroutine[Any, Any, TownAccess]]:
    """A dependency for routes under /municipalities/{municipality_id}/: outsiders get 404,
    members without one of `roles` (when given) get 403."""

    async def dependency(
        session: SessionDep, user: CurrentUser, municipality_id: IdPath
    ) -> TownAccess:
        held = await users.require_role(
            session, user_id=user.id, municipality_id=municipality_id, roles=roles or None
        )
        town = await towns.get(session, municipality_id=municipality_id)
        return TownAccess(town=town, roles=frozenset(held))

    return dependency


MemberDep = Annotated[TownAccess, Depends(town_access())]


def can(slug: str, action: str) -> Callable[..., Coroutine[Any, Any, TownAccess]]:
    """A dependency for a service's routes under /municipalities/{municipality_id}/: outsiders,
    and towns that have the service off, get 404; members whose roles may not perform the
    service's `action` in this town get 403."""

    async def dependency(
        request: Request, session: SessionDep, user: CurrentUser, municipality_id: IdPath
    ) -> TownAccess:
        registry = request.app.state.runtime.registry
        held = await users.require_role(session, user_id=user.id, municipality_id=municipality_id)
        town = await towns.get(session, municipality_id=municipality_id)
        if not registry.is_on(slug, town):
            raise NotFound(N_("This service is not available in this town."))
        if not held & effective_roles(town, slug, registry.get(slug).action(action)):
            raise Forbidden(N_("You do not have access to this section."))
        return TownAccess(town=town, roles=frozenset(held))

    return dependency


def component_gate(slug: str) -> Callable[..., Coroutine[Any, Any, None]]:
    """A router dependency: every route of the service `slug` under a town answers 404 when
    that town has the service off."""

    async def dependency(request: Request, session: SessionDep, municipality_id: IdPath) -> None:
        town = await towns.get(session, municipality_id=municipality_id)
        if not request.app.state.runtime.registry.is_on(slug, town):
            raise NotFound(N_("This service is not available in this town."))

    return dependency
