"""The town administration's API (role `admin` of the town; other members 403, outsiders
404) and the platform's (people with User.is_platform_admin): routes parse, call a service,
render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from backend.core.admin import service
from backend.core.admin.schemas import (
    AuditEntryOut,
    AuditPage,
    ComponentOut,
    ComponentPatch,
    CreatedTownOut,
    DepartmentIn,
    DepartmentOut,
    DepartmentPatch,
    InviteIn,
    InviteOut,
    IssuedInviteOut,
    PlatformTownIn,
    PlatformTownOut,
    RoleOut,
    SettingsOut,
    StaffIn,
    StaffOut,
    StaffRoleOut,
    TownPatch,
    TownSettingsOut,
)
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Department, Municipality
from backend.core.users import service as users
from backend.core.users.models import Membership, Role, StaffInvite, User
from backend.deps import CurrentUser, PlatformLaunchUser, RuntimeDep, SessionDep, SettingsDep, TownAccess, town_access
from backend.errors import Forbidden
from backend.fields import IdPath, IdQuery
from backend.i18n import N_
from backend.i18n import gettext as _
from backend.openapi import ERRORS
from backend.settings import Settings

router = APIRouter(prefix="/api/v1/municipalities/{municipality_id}/admin", tags=["administration"], responses=ERRORS)
platform_router = APIRouter(prefix="/api/v1/platform", tags=["platform"], responses=ERRORS)
AdminDep = Annotated[TownAccess, Depends(town_access(Role.ADMIN))]
ComponentSlug = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


def _roles() -> list[RoleOut]:
    return [RoleOut(value=r, title=_(users.ROLE_TITLES[r])) for r in Role]


def _department(d: Department, uses: dict[int, int]) -> DepartmentOut:
    return DepartmentOut(id=d.id, name=d.name, archived=d.archived_at is not None, uses=uses.get(d.id, 0))


def _staff(user: User, memberships: list[Membership]) -> StaffOut:
    return StaffOut(
        user_id=user.id, name=user.full_name or user.display_name, username=user.username,
        roles=[StaffRoleOut(role=Role(m.role), title=_(users.ROLE_TITLES[Role(m.role)]), department_id=m.department_id)
               for m in memberships if m.role != Role.RESIDENT.value],
    )


def _invite(i: StaffInvite) -> InviteOut:
    role = Role(i.role)
    return InviteOut(id=i.id, role=role, title=_(users.ROLE_TITLES[role]), department_id=i.department_id,
                     created_at=i.created_at, expires_at=i.expires_at)


def _issued(i: StaffInvite, code: str, settings: Settings) -> IssuedInviteOut:
    start = users.INVITE_PREFIX + code
    link = f"https://t.me/{settings.BOT_USERNAME}?start={start}" if settings.BOT_USERNAME else None
    return IssuedInviteOut(**_invite(i).model_dump(), start=start, link=link)


# -- settings -------------------------------------------------------------------------------------


@router.get("/settings", response_model=SettingsOut)
async def get_settings(access: AdminDep, runtime: RuntimeDep) -> SettingsOut:
    """The town's calendar, and every installed service: on or off, its settings with their
    schema, and who may perform each of its actions."""
    return SettingsOut(
        town=service.town_view(access.town),
        components=[service.component_view(access.town, m, runtime.registry) for m in runtime.registry],
        roles=_roles(),
    )


@router.patch("/town", response_model=TownSettingsOut)
async def patch_town(body: TownPatch, access: AdminDep, user: CurrentUser, session: SessionDep) -> TownSettingsOut:
    """Change the town's name, time zone, calendar or working days, days off and worked weekends."""
    return await service.update_town(session, town=access.town, changes=body, actor_id=user.id)


@router.patch("/components/{component}", response_model=ComponentOut)
async def patch_component(
    component: ComponentSlug, body: ComponentPatch, access: AdminDep, user: CurrentUser, session: SessionDep, runtime: RuntimeDep
) -> ComponentOut:
    """Switch a service on or off, replace its settings, or choose who may perform its actions."""
    return await service.update_component(
        session, town=access.town, registry=runtime.registry, slug=component, changes=body, actor_id=user.id
    )


# -- departments ------------------------------------------------------------------------------------


@router.get("/departments", response_model=list[DepartmentOut])
async def list_departments(access: AdminDep, session: SessionDep) -> list[DepartmentOut]:
    """Every department of the town, archived ones too, with how much refers to each."""
    rows = await towns.departments(session, municipality_id=access.town.id, include_archived=True)
    uses = await towns.department_uses(session, department_ids=[d.id for d in rows])
    return [_department(d, uses) for d in rows]


@router.post("/departments", response_model=DepartmentOut, status_code=201)
async def create_department(body: DepartmentIn, access: AdminDep, user: CurrentUser, session: SessionDep) -> DepartmentOut:
    """Add a department."""
    dept = await towns.create_department(session, municipality_id=access.town.id, name=body.name, actor_id=user.id)
    return _department(dept, {})


@router.patch("/departments/{department_id}", response_model=DepartmentOut)
async def patch_department(
    department_id: IdPath, body: DepartmentPatch, access: AdminDep, user: CurrentUser, session: SessionDep
) -> DepartmentOut:
    """Rename a department, archive it or bring it back."""
    dept = await towns.get_department(session, municipality_id=access.town.id, department_id=department_id)
    if body.name is not None:
        await towns.rename_department(session, department=dept, name=body.name, actor_id=user.id)
    if body.archived is not None:
        await towns.archive_department(session, department=dept, archived=body.archived, actor_id=user.id)
    return _department(dept, await towns.department_uses(session, department_ids=[dept.id]))


@router.delete("/departments/{department_id}", status_code=204)
async def delete_department(department_id: IdPath, access: AdminDep, user: CurrentUser, session: SessionDep) -> Response:
    """Delete a department nothing refers to (409 otherwise: archive it)."""
    dept = await towns.get_department(session, municipality_id=access.town.id, department_id=department_id)
    await towns.delete_department(session, department=dept, actor_id=user.id)
    return Response(status_code=204)


# -- staff and invitations ------------------------------------------------------------------------


@router.get("/staff", response_model=list[StaffOut])
async def list_staff(access: AdminDep, session: SessionDep) -> list[StaffOut]:
    """Everyone holding a role besides resident, with their roles and departments."""
    return [_staff(u, ms) for u, ms in await users.staff(session, municipality_id=access.town.id)]


@router.put("/staff/{user_id}", response_model=StaffOut)
async def put_staff(user_id: IdPath, body: StaffIn, access: AdminDep, user: CurrentUser, session: SessionDep) -> StaffOut:
    """Set the person's roles (besides resident) and the department of a clerk or department head."""
    memberships = await users.set_roles(
        session, municipality_id=access.town.id, user_id=user_id, roles=body.roles, department_id=body.department_id, actor_id=user.id
    )
    return _staff(await users.get(session, user_id=user_id), memberships)


@router.delete("/staff/{user_id}", status_code=204)
async def revoke_staff(user_id: IdPath, access: AdminDep, user: CurrentUser, session: SessionDep) -> Response:
    """Take away every role besides resident."""
    await users.set_roles(session, municipality_id=access.town.id, user_id=user_id, roles=(), department_id=None, actor_id=user.id)
    return Response(status_code=204)


@router.get("/invites", response_model=list[InviteOut])
async def list_invites(access: AdminDep, session: SessionDep) -> list[InviteOut]:
    """Invitations not used, revoked or expired yet (their links are not shown again)."""
    return [_invite(i) for i in await users.invites(session, municipality_id=access.town.id)]


@router.post("/invites", response_model=IssuedInviteOut, status_code=201)
async def create_invite(body: InviteIn, access: AdminDep, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> IssuedInviteOut:
    """A one-time link that gives its first user the role (copy it now: it is shown once)."""
    invite, code = await users.create_invite(
        session, municipality_id=access.town.id, role=body.role, department_id=body.department_id, days=body.days, actor_id=user.id
    )
    return _issued(invite, code, settings)


@router.delete("/invites/{invite_id}", status_code=204)
async def revoke_invite(invite_id: IdPath, access: AdminDep, user: CurrentUser, session: SessionDep) -> Response:
    """Revoke an unused invitation."""
    await users.revoke_invite(session, municipality_id=access.town.id, invite_id=invite_id, actor_id=user.id)
    return Response(status_code=204)


# -- the audit log ---------------------------------------------------------------------------------


@router.get("/audit", response_model=AuditPage)
async def audit_log(
    access: AdminDep, session: SessionDep, cursor: IdQuery | None = None, limit: Annotated[int, Query(ge=1, le=100)] = 30
) -> AuditPage:
    """What the administration changed in this town, newest first, a page at a time."""
    rows, next_cursor = await service.audit_page(session, municipality_id=access.town.id, cursor=cursor, limit=limit)
    return AuditPage(
        items=[
            AuditEntryOut(id=r.entry.id, at=r.entry.at, action=r.entry.action, title=service.action_title(r.entry.action), actor=r.actor,
                          subject=r.subject, object_type=r.entry.object_type, object_id=r.entry.object_id, before=r.entry.before,
                          after=r.entry.after)
            for r in rows
        ],
        next_cursor=next_cursor,
    )


# -- the platform -----------------------------------------------------------------------------------


async def _platform_admin(user: PlatformLaunchUser) -> User:
    if not user.is_platform_admin:
        raise Forbidden(N_("Only the platform's administrators may do this."))
    return user


PlatformAdmin = Annotated[User, Depends(_platform_admin)]


def _platform_town(t: Municipality, admins: int) -> PlatformTownOut:
    return PlatformTownOut(id=t.id, slug=t.slug, name=t.name, timezone=t.timezone, is_active=t.is_active, admins=admins)


@platform_router.get("/towns", response_model=list[PlatformTownOut])
async def platform_towns(admin: PlatformAdmin, session: SessionDep) -> list[PlatformTownOut]:
    """Every town of the installation, with how many administrators each has."""
    return [_platform_town(t, n) for t, n in await service.platform_towns(session)]


@platform_router.post("/towns", response_model=CreatedTownOut, status_code=201)
async def create_town(body: PlatformTownIn, admin: PlatformAdmin, session: SessionDep, settings: SettingsDep) -> CreatedTownOut:
    """A new town, and a one-time link that makes its first user the town's administrator."""
    town, invite, code = await service.create_town(session, slug=body.slug, name=body.name, timezone=body.timezone, actor_id=admin.id)
    return CreatedTownOut(town=_platform_town(town, 0), invite=_issued(invite, code, settings))


@platform_router.post("/towns/{municipality_id}/invites", response_model=IssuedInviteOut, status_code=201)
async def invite_admin(municipality_id: IdPath, admin: PlatformAdmin, session: SessionDep, settings: SettingsDep) -> IssuedInviteOut:
    """Another one-time link that makes its first user an administrator of the town."""
    town = await towns.get(session, municipality_id=municipality_id)
    invite, code = await users.create_invite(session, municipality_id=town.id, role=Role.ADMIN, actor_id=admin.id)
    return _issued(invite, code, settings)
