"""People, their profile and their roles in towns."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import service as audit
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Department, Municipality
from backend.core.users import cache as user_cache
from backend.core.users.cache import UserCache
from backend.core.users.models import IdentityLevel, Membership, Role, StaffInvite, User
from backend.db import utcnow
from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.i18n import N_
from backend.settings import SUPPORTED_LOCALES

# What each role is called where people see it (the administration's miniapp, the bot's
# reply to an invitation).
ROLE_TITLES: dict[Role, str] = {
    Role.RESIDENT: N_("Resident"),
    Role.ENTREPRENEUR: N_("Entrepreneur"),
    Role.INVESTOR: N_("Investor"),
    Role.MENTOR: N_("Mentor"),
    Role.TUTOR: N_("Tutor"),
    Role.CLERK: N_("Clerk"),
    Role.DEPARTMENT_HEAD: N_("Department head"),
    Role.HEAD: N_("Head of the municipality"),
    Role.ORGANIZER: N_("Organizer"),
    Role.ADMIN: N_("Administrator"),
}
# Roles the administration gives (everyone who joins a town is a resident by themselves).
GRANTABLE: frozenset[Role] = frozenset(Role) - {Role.RESIDENT}
# Roles that work in one department (a clerk's queue, a department head's appeals).
DEPARTMENT_ROLES: frozenset[Role] = frozenset({Role.CLERK, Role.DEPARTMENT_HEAD})
INVITE_PREFIX = "inv_"  # the /start payload of an invitation: inv_<code>
INVITE_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{16,60}$")


async def upsert_telegram_user(
    session: AsyncSession,
    *,
    telegram_id: int,
    first_name: str | None,
    last_name: str | None = None,
    username: str | None = None,
) -> tuple[User, bool]:
    """The person behind a Telegram account, created on first contact; returns (user, created).

    A steady chat costs no query: the row comes from the user cache when the Telegram profile
    fields are unchanged; they are refreshed only when they changed.
    """
    cache: UserCache | None = session.info.get("user_cache")
    row = await cache.get(telegram_id) if cache is not None else None
    if row is not None and not row["bot_blocked"] and (row["first_name"], row["last_name"], row["username"]) == (first_name, last_name, username):
        return user_cache.attach(session, row), False
    user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
    if user is None:
        user = User(telegram_id=telegram_id, first_name=first_name, last_name=last_name, username=username)
        session.add(user)
        await session.flush()
        return user, True
    user_cache.remember_after_commit(session, user)
    if (user.first_name, user.last_name, user.username) != (first_name, last_name, username):
        user.first_name, user.last_name, user.username = first_name, last_name, username
    if user.bot_blocked:
        user.bot_blocked = False
    return user, False


async def by_telegram_id(session: AsyncSession, *, telegram_id: int) -> User:
    """The person behind a Telegram account, as it is (the operator's tools name people who may
    not have written yet: they are created nameless, and a known one keeps their name)."""
    user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
    if user is None:
        user = User(telegram_id=telegram_id)
        session.add(user)
        await session.flush()
    return user


async def get(session: AsyncSession, *, user_id: int) -> User:
    """A person by id."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(N_("User not found."))
    return user


async def by_ids(session: AsyncSession, *, user_ids: Iterable[int]) -> list[User]:
    """People by id, in one query."""
    return list(await session.scalars(select(User).where(User.id.in_(list(user_ids)))))


async def memberships(session: AsyncSession, *, user_id: int) -> list[tuple[Membership, Municipality]]:
    """Every role the person holds, with its town."""
    rows = await session.execute(
        select(Membership, Municipality)
        .join(Municipality, Municipality.id == Membership.municipality_id)
        .where(Membership.user_id == user_id, Municipality.is_active.is_(True))
        .order_by(Municipality.name, Membership.role)
    )
    return [(m, t) for m, t in rows.all()]


async def roles_in(session: AsyncSession, *, user_id: int, municipality_id: int) -> set[Role]:
    """The person's roles in one town (empty when they are not a member)."""
    rows = await session.scalars(
        select(Membership.role).where(Membership.user_id == user_id, Membership.municipality_id == municipality_id)
    )
    return {Role(r) for r in rows}


async def require_role(
    session: AsyncSession, *, user_id: int, municipality_id: int, roles: Iterable[Role] | None = None
) -> set[Role]:
    """The person's roles in the town; NotFound for outsiders, so other towns stay invisible,
    Forbidden for members without any of `roles`."""
    held = await roles_in(session, user_id=user_id, municipality_id=municipality_id)
    if not held:
        raise NotFound(N_("Town not found."))
    if roles is not None and not held & set(roles):
        raise Forbidden(N_("You do not have access to this section."))
    return held


async def grant_role(
    session: AsyncSession,
    *,
    user_id: int,
    municipality_id: int,
    role: Role,
    actor_id: int | None = None,
    department_id: int | None = None,
) -> Membership:
    """Give a person a role in a town (idempotent)."""
    existing = await session.scalar(
        select(Membership).where(
            Membership.user_id == user_id,
            Membership.municipality_id == municipality_id,
            Membership.role == role.value,
        )
    )
    if existing is not None:
        if department_id is not None:
            existing.department_id = department_id
        return existing
    membership = Membership(
        user_id=user_id, municipality_id=municipality_id, role=role.value, department_id=department_id
    )
    session.add(membership)
    await session.flush()
    await audit.record(
        session,
        action="membership.grant",
        object_type="user",
        object_id=user_id,
        actor_id=actor_id,
        municipality_id=municipality_id,
        after={"role": role.value},
    )
    return membership


async def set_platform_admin(session: AsyncSession, *, user: User, on: bool, actor_id: int | None = None) -> bool:
    """Make a person a platform administrator (creates towns, appoints their first admins), or
    no longer one; False when nothing changed."""
    if user.is_platform_admin == on:
        return False
    user.is_platform_admin = on
    await session.flush()
    await audit.record(
        session, action="platform.admin", object_type="user", object_id=user.id, actor_id=actor_id,
        before={"is_platform_admin": not on}, after={"is_platform_admin": on},
    )
    return True


async def join_town(session: AsyncSession, *, user: User, municipality_id: int) -> None:
    """Make the town the person's current one, joining it as a resident if new there."""
    if not await roles_in(session, user_id=user.id, municipality_id=municipality_id):
        await grant_role(session, user_id=user.id, municipality_id=municipality_id, role=Role.RESIDENT, actor_id=user.id)
    user.current_municipality_id = municipality_id


async def set_locale(session: AsyncSession, *, user: User, locale: str) -> None:
    """Choose the interface language."""
    if locale not in SUPPORTED_LOCALES:
        raise Invalid(N_("This language is not supported."))
    user.locale = locale


_PHONE_RE = re.compile(r"^\+?\d{7,15}$")


async def set_verified_phone(session: AsyncSession, *, user: User, phone: str) -> None:
    """Store a phone number that Telegram vouched for (the contact button), raising the
    identity level; the caller must have checked the contact is the sender's own."""
    digits = re.sub(r"[\s()-]", "", phone)
    if not _PHONE_RE.match(digits):
        raise Invalid(N_("This does not look like a phone number."))
    user.phone = digits if digits.startswith("+") else f"+{digits}"
    if IdentityLevel(user.identity_level).rank < IdentityLevel.PHONE.rank:
        user.identity_level = IdentityLevel.PHONE.value
    await audit.record(
        session, action="user.phone_verified", object_type="user", object_id=user.id, actor_id=user.id
    )


@dataclass(frozen=True)
class StartOutcome:
    """Where `/start` leaves a person: in a town, or choosing among several."""

    town: Municipality | None
    choices: list[Municipality]


async def start(session: AsyncSession, *, user: User, payload: str | None) -> StartOutcome:
    """Resolve the town for `/start`: the deep-link slug, else the current town, else the
    only town, else a choice."""
    if payload:
        town = await towns.get_by_slug(session, slug=payload.split("__", 1)[0])
        if town is not None:
            await join_town(session, user=user, municipality_id=town.id)
            return StartOutcome(town=town, choices=[])
    if user.current_municipality_id is not None:
        town = await session.get(Municipality, user.current_municipality_id)
        if town is not None and town.is_active:
            return StartOutcome(town=town, choices=[])
    active = await towns.list_active(session)
    if len(active) == 1:
        await join_town(session, user=user, municipality_id=active[0].id)
        return StartOutcome(town=active[0], choices=[])
    return StartOutcome(town=None, choices=active)


async def current_town(session: AsyncSession, *, user: User) -> Municipality | None:
    """The person's current town, if they chose one."""
    if user.current_municipality_id is None:
        return None
    return await session.get(Municipality, user.current_municipality_id)


async def set_bot_blocked(session: AsyncSession, *, user: User, blocked: bool) -> None:
    """Remember that the person blocked (or unblocked) the bot, so nothing is sent in vain."""
    user.bot_blocked = blocked


# -- staff: the town's administration ---------------------------------------------------


async def staff(session: AsyncSession, *, municipality_id: int) -> list[tuple[User, list[Membership]]]:
    """People who hold a role besides resident in the town, with those roles, by name."""
    rows = await session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.municipality_id == municipality_id, Membership.role != Role.RESIDENT.value)
        .order_by(User.id, Membership.role)
    )
    out: dict[int, tuple[User, list[Membership]]] = {}
    for user, membership in rows.all():
        out.setdefault(user.id, (user, []))[1].append(membership)
    # By the name people see (SQLite cannot sort Cyrillic case-insensitively).
    return sorted(out.values(), key=lambda pair: ((pair[0].full_name or pair[0].display_name).casefold(), pair[0].id))


async def _admins(session: AsyncSession, *, municipality_id: int) -> set[int]:
    return set(await session.scalars(
        select(Membership.user_id).where(Membership.municipality_id == municipality_id, Membership.role == Role.ADMIN.value)
    ))


async def set_roles(
    session: AsyncSession, *, municipality_id: int, user_id: int, roles: Iterable[Role], department_id: int | None, actor_id: int
) -> list[Membership]:
    """Make the person's roles in the town (besides resident) exactly `roles`, clerks and
    department heads in `department_id`; the town always keeps an administrator, and nobody
    takes their own administrator role away."""
    wanted = set(roles)
    if not wanted <= GRANTABLE:
        raise Invalid(N_("This role cannot be given."))
    held = {Role(m.role): m for m in await session.scalars(
        select(Membership).where(Membership.user_id == user_id, Membership.municipality_id == municipality_id)
    )}
    if not held:
        raise NotFound(N_("User not found."))
    if department_id is not None:
        dept = await towns.get_department(session, municipality_id=municipality_id, department_id=department_id)
        if dept.archived_at is not None:
            raise Invalid(N_("The department is archived."))
    dropping = {r for r in held if r in GRANTABLE} - wanted
    if Role.ADMIN in dropping:
        if user_id == actor_id:
            raise Conflict(N_("You cannot take away your own administrator role: ask another administrator."))
        if await _admins(session, municipality_id=municipality_id) == {user_id}:
            raise Conflict(N_("The town must keep at least one administrator."))
    for role in sorted(dropping):
        await session.delete(held[role])
        await audit.record(
            session, action="membership.revoke", object_type="user", object_id=user_id, actor_id=actor_id,
            municipality_id=municipality_id, before={"role": role.value},
        )
    for role in sorted(wanted):
        dept_id = department_id if role in DEPARTMENT_ROLES else None
        if role in held:
            if held[role].department_id != dept_id:
                before = held[role].department_id
                held[role].department_id = dept_id
                await audit.record(
                    session, action="membership.department", object_type="user", object_id=user_id, actor_id=actor_id,
                    municipality_id=municipality_id, before={"role": role.value, "department_id": before},
                    after={"role": role.value, "department_id": dept_id},
                )
        else:
            await grant_role(session, user_id=user_id, municipality_id=municipality_id, role=role, actor_id=actor_id, department_id=dept_id)
    await session.flush()
    return list(await session.scalars(
        select(Membership).where(Membership.user_id == user_id, Membership.municipality_id == municipality_id).order_by(Membership.role)
    ))


# -- invitations: a one-time deep link that grants a role ---------------------------------


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def create_invite(
    session: AsyncSession, *, municipality_id: int, role: Role, actor_id: int, department_id: int | None = None,
    days: int = 7, now: datetime | None = None,
) -> tuple[StaffInvite, str]:
    """A new invitation and its code (shown once: only its hash is kept)."""
    if role not in GRANTABLE:
        raise Invalid(N_("This role cannot be given."))
    if not 1 <= days <= 30:
        raise Invalid(N_("An invitation is valid for 1 to 30 days."))
    if department_id is not None:
        if role not in DEPARTMENT_ROLES:
            department_id = None
        else:
            dept = await towns.get_department(session, municipality_id=municipality_id, department_id=department_id)
            if dept.archived_at is not None:
                raise Invalid(N_("The department is archived."))
    code = secrets.token_urlsafe(18)  # 24 characters: a /start payload allows 64 of [A-Za-z0-9_-]
    invite = StaffInvite(
        municipality_id=municipality_id, code_hash=_hash(code), role=role.value, department_id=department_id,
        created_by=actor_id, expires_at=(now or utcnow()) + timedelta(days=days),
    )
    session.add(invite)
    await session.flush()
    await audit.record(
        session, action="invite.create", object_type="staff_invite", object_id=invite.id, actor_id=actor_id,
        municipality_id=municipality_id, after={"role": role.value, "department_id": department_id, "days": days},
    )
    return invite, code


async def invites(session: AsyncSession, *, municipality_id: int, now: datetime | None = None) -> list[StaffInvite]:
    """The town's invitations still waiting to be used, newest first."""
    now = now or utcnow()
    return list(await session.scalars(
        select(StaffInvite)
        .where(
            StaffInvite.municipality_id == municipality_id, StaffInvite.used_at.is_(None),
            StaffInvite.revoked_at.is_(None), StaffInvite.expires_at > now,
        )
        .order_by(StaffInvite.id.desc())
    ))


async def revoke_invite(session: AsyncSession, *, municipality_id: int, invite_id: int, actor_id: int) -> None:
    """Revoke an unused invitation: its link no longer works."""
    invite = await session.get(StaffInvite, invite_id)
    if invite is None or invite.municipality_id != municipality_id:
        raise NotFound(N_("Invitation not found."))
    if invite.used_at is not None:
        raise Conflict(N_("This invitation has already been used."))
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        await audit.record(
            session, action="invite.revoke", object_type="staff_invite", object_id=invite.id, actor_id=actor_id,
            municipality_id=municipality_id, before={"role": invite.role},
        )


@dataclass(frozen=True)
class Redeemed:
    """What an invitation gave: a role in a town (and a department)."""

    town: Municipality
    role: Role
    department: Department | None


async def redeem_invite(session: AsyncSession, *, user: User, code: str, now: datetime | None = None) -> Redeemed:
    """Give the person the invitation's role and make its town theirs; the link then stops
    working for anyone else (the same person opening it again is told the same)."""
    now = now or utcnow()
    invite = None
    if INVITE_CODE_RE.match(code):
        # FOR UPDATE: two people racing on one link cannot both win it (PostgreSQL; SQLite
        # writes one transaction at a time anyway).
        invite = await session.scalar(select(StaffInvite).where(StaffInvite.code_hash == _hash(code)).with_for_update())
    if invite is None or invite.revoked_at is not None:
        raise NotFound(N_("This invitation link is not valid. Ask the administration for a new one."))
    if invite.used_at is not None and invite.used_by != user.id:
        raise Conflict(N_("This invitation link has already been used. Ask the administration for a new one."))
    if invite.used_at is None and invite.expires_at <= now:
        raise Conflict(N_("This invitation link has expired. Ask the administration for a new one."))
    town = await towns.get(session, municipality_id=invite.municipality_id)
    role = Role(invite.role)
    department = await session.get(Department, invite.department_id) if invite.department_id else None
    if invite.used_at is None:
        invite.used_at, invite.used_by = now, user.id
        await join_town(session, user=user, municipality_id=town.id)
        await grant_role(
            session, user_id=user.id, municipality_id=town.id, role=role, actor_id=invite.created_by,
            department_id=department.id if department else None,
        )
        await audit.record(
            session, action="invite.use", object_type="staff_invite", object_id=invite.id, actor_id=user.id,
            municipality_id=town.id, after={"role": role.value, "user_id": user.id},
        )
    else:
        user.current_municipality_id = town.id
    return Redeemed(town=town, role=role, department=department)
