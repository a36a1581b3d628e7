"""People, their profile and their roles in towns."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import service as audit
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Municipality
from backend.core.users import cache as user_cache
from backend.core.users.cache import UserCache
from backend.core.users.models import IdentityLevel, Membership, Role, User
from backend.errors import Forbidden, Invalid, NotFound
from backend.i18n import N_
from backend.settings import SUPPORTED_LOCALES


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
