"""The town's administration: its calendar and name, which services are on, each service's
settings and who may perform its actions; the audit log of these changes; and the
platform's towns. Everything a service declares is read from its manifest, so a new
service's settings and actions appear here without touching this module."""

from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.admin import validation
from backend.core.admin.schemas import ActionOut, ComponentOut, ComponentPatch, TownPatch, TownSettingsOut
from backend.core.audit import service as audit
from backend.core.audit.models import AuditLog
from backend.core.components.manifest import Manifest
from backend.core.components.permissions import effective_roles
from backend.core.components.registry import Registry
from backend.core.municipalities import service as towns
from backend.core.municipalities.models import Municipality
from backend.core.municipalities.settings import TownSettings, town_settings
from backend.core.users import service as users
from backend.core.users.models import Membership, Role, StaffInvite, User
from backend.errors import InvalidFields, NotFound
from backend.i18n import N_, gettext

# The audit log's entries that are the administration's own doing (the appeals themselves
# have their history on their cards): actions by these prefixes.
ADMIN_ACTIONS = ("town.", "department.", "membership.", "invite.", "appeal_category.", "open311_key.")
ACTION_TITLES = {
    "town.create": N_("Town created"),
    "town.settings": N_("Town settings changed"),
    "town.component": N_("Service settings changed"),
    "department.create": N_("Department created"),
    "department.rename": N_("Department renamed"),
    "department.archive": N_("Department archived"),
    "department.restore": N_("Department restored"),
    "department.delete": N_("Department deleted"),
    "membership.grant": N_("Role given"),
    "membership.revoke": N_("Role taken away"),
    "membership.department": N_("Department of a role changed"),
    "invite.create": N_("Invitation created"),
    "invite.use": N_("Invitation used"),
    "invite.revoke": N_("Invitation revoked"),
    "appeal_category.create": N_("Category created"),
    "appeal_category.update": N_("Category changed"),
    "appeal_category.template": N_("Answer template changed"),
    "open311_key.issue": N_("Open311 key issued"),
    "open311_key.revoke": N_("Open311 key revoked"),
    "town.bot_connect": N_("Town's own bot connected"),
    "town.bot_enabled": N_("Town's own bot switched on or off"),
    "town.bot_disconnect": N_("Town's own bot disconnected"),
}


def _fail(field: str, label: str, message: str) -> InvalidFields:
    """A 422 naming one field: its label and what is wrong, in the current language."""
    text = gettext(validation.FIELD_PROBLEM).format(field=gettext(label), problem=gettext(message))
    return InvalidFields(validation.CHECK_FIELDS, fields=[field], problems=text)


def _store(town: Municipality, values: TownSettings) -> None:
    # A new dict, so the JSON column is seen as changed.
    town.settings = values.model_dump(mode="json", exclude_defaults=True)


# -- the town: name, time zone, calendar ----------------------------------------------------


TOWN_FIELDS = {
    "name": N_("Name of the town"),
    "timezone": N_("Time zone"),
    "calendar_days": N_("Terms in calendar days"),
    "holidays": N_("Days off"),
    "working_weekends": N_("Worked weekends"),
    "slug": N_("Address in links"),
    "enabled": N_("Switched on"),
    "settings": N_("Settings"),
}


def town_view(town: Municipality) -> TownSettingsOut:
    """The town's own settings as the administration edits them."""
    s = town_settings(town)
    return TownSettingsOut(
        name=town.name, timezone=town.timezone, calendar_days=s.calendar_days,
        holidays=sorted(s.holidays), working_weekends=sorted(s.working_weekends),
    )


def _town_problem(field: str, message: str) -> InvalidFields:
    return _fail(field, TOWN_FIELDS[field], message)


async def update_town(session: AsyncSession, *, town: Municipality, changes: TownPatch, actor_id: int) -> TownSettingsOut:
    """Change the town's name, time zone or calendar; the terms of new appeals follow it."""
    before = town_view(town)
    values = town_settings(town)
    if changes.name is not None:
        name = " ".join(changes.name.split())
        if not name:
            raise _town_problem("name", N_("is required"))
        town.name = name
    if changes.timezone is not None:
        try:
            ZoneInfo(changes.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise _town_problem("timezone", N_("is not a known time zone (e.g. Europe/Moscow)")) from None
        town.timezone = changes.timezone
    if changes.calendar_days is not None:
        values.calendar_days = changes.calendar_days
    if changes.holidays is not None:
        values.holidays = sorted(set(changes.holidays))
    if changes.working_weekends is not None:
        weekdays = [d for d in changes.working_weekends if d.weekday() < 5]
        if weekdays:
            raise _town_problem("working_weekends", N_("may hold only Saturdays and Sundays"))
        values.working_weekends = sorted(set(changes.working_weekends))
    if set(values.holidays) & set(values.working_weekends):
        raise _town_problem("working_weekends", N_("cannot hold a day that is also a day off"))
    _store(town, values)
    after = town_view(town)
    changed = {k for k, v in after.model_dump(mode="json").items() if before.model_dump(mode="json")[k] != v}
    if changed:
        await audit.record(
            session, action="town.settings", object_type="municipality", object_id=town.id, actor_id=actor_id,
            municipality_id=town.id, before={k: v for k, v in before.model_dump(mode="json").items() if k in changed},
            after={k: v for k, v in after.model_dump(mode="json").items() if k in changed},
        )
    return after


# -- the services: on or off, their settings, who may do what ----------------------------------


def _translated(schema: Any) -> Any:
    """A JSON schema with its titles, descriptions and option labels in the current language."""
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key in ("title", "description") and isinstance(value, str):
                out[key] = gettext(value)
            elif key == "x-options" and isinstance(value, dict):
                out[key] = {k: gettext(v) for k, v in value.items()}
            else:
                out[key] = _translated(value)
        return out
    if isinstance(schema, list):
        return [_translated(v) for v in schema]
    return schema


def _schema(model: type[BaseModel] | None) -> dict[str, Any] | None:
    return None if model is None else _translated(model.model_json_schema())


def component_view(town: Municipality, manifest: Manifest, registry: Registry) -> ComponentOut:
    """One installed component as the administration sees it."""
    overrides = town_settings(town).permissions
    current = manifest.settings_for(town)
    return ComponentOut(
        slug=manifest.slug, title=gettext(manifest.title), description=gettext(manifest.description), icon=manifest.icon,
        always_on=manifest.always_on, enabled=registry.is_on(manifest.slug, town),
        settings=current.model_dump(mode="json") if current is not None else {},
        settings_schema=_schema(manifest.settings),
        actions=[
            ActionOut(
                name=a.name, title=gettext(a.title), default_roles=_ordered(a.roles), roles=_ordered(effective_roles(town, manifest.slug, a)),
                overridden=f"{manifest.slug}.{a.name}" in overrides,
            )
            for a in manifest.actions
        ],
    )


def _ordered(roles: Iterable[Role]) -> list[Role]:
    """Roles in the order Role declares them (residents first, administrators last)."""
    order = list(Role)
    return sorted(roles, key=order.index)


def _component(registry: Registry, slug: str) -> Manifest:
    if slug not in registry:
        raise NotFound(N_("This service is not installed."))
    return registry.get(slug)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


async def update_component(
    session: AsyncSession, *, town: Municipality, registry: Registry, slug: str, changes: ComponentPatch, actor_id: int
) -> ComponentOut:
    """Switch a service on or off in the town, replace its settings (validated by its
    manifest's model) or choose who may perform its actions."""
    manifest = _component(registry, slug)
    values = town_settings(town)
    before = component_view(town, manifest, registry)
    if changes.enabled is not None and changes.enabled != before.enabled:
        if manifest.always_on:
            raise _town_problem("enabled", N_("this page cannot be switched off"))
        installed = [m.slug for m in registry if not m.always_on]
        on = set(installed if values.components is None else values.components)
        on = on | {slug} if changes.enabled else on - {slug}
        # Unknown slugs the town had stay as they were (a service installed again later).
        values.components = sorted(on)
    if changes.settings is not None:
        if _has_nul(changes.settings):
            raise InvalidFields(N_("Text cannot contain the NUL character."), fields=["settings"])
        try:
            normalised = manifest.validate_settings(changes.settings)
        except ValidationError as exc:
            raise validation.invalid_fields(exc, model=manifest.settings, prefix="settings") from None
        except ValueError:
            raise _town_problem("settings", N_("this service has no settings")) from None
        values.services = {**values.services, slug: normalised}
    if changes.permissions is not None:
        declared = {a.name for a in manifest.actions}
        unknown = sorted(set(changes.permissions) - declared)
        if unknown:
            raise InvalidFields(
                validation.CHECK_FIELDS, fields=[f"permissions.{n}"[:100] for n in unknown][:20],
                problems="; ".join(gettext(validation.FIELD_PROBLEM).format(field=n[:64], problem=gettext(N_("is not an action of this service"))) for n in unknown[:20]),
            )
        empty = sorted(n for n, roles in changes.permissions.items() if roles == [])
        if empty:
            raise InvalidFields(
                validation.CHECK_FIELDS, fields=[f"permissions.{n}" for n in empty],
                problems="; ".join(gettext(validation.FIELD_PROBLEM).format(
                    field=gettext(manifest.action(n).title), problem=gettext(N_("choose at least one role"))) for n in empty),
            )
        permissions = dict(values.permissions)
        for name, roles in changes.permissions.items():
            key = f"{slug}.{name}"
            if roles is None or set(roles) == manifest.roles_for(name):
                permissions.pop(key, None)
            else:
                permissions[key] = sorted(r.value for r in set(roles))
        values.permissions = permissions
    _store(town, values)
    after = component_view(town, manifest, registry)
    diff_before, diff_after = _diff(before.model_dump(mode="json"), after.model_dump(mode="json"), ("enabled", "settings", "actions"))
    if diff_after or diff_before:
        await audit.record(
            session, action="town.component", object_type="component", object_id=slug, actor_id=actor_id,
            municipality_id=town.id, before=diff_before, after=diff_after,
        )
    return after


def _diff(before: dict[str, Any], after: dict[str, Any], keys: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What changed between two views: settings and actions compared entry by entry."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key in keys:
        a, b = before[key], after[key]
        if key == "settings":
            changed = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
            if changed:
                old["settings"], new["settings"] = {k: a.get(k) for k in changed}, {k: b.get(k) for k in changed}
        elif key == "actions":
            was = {x["name"]: x["roles"] for x in a}
            now = {x["name"]: x["roles"] for x in b}
            changed = sorted(k for k in now if was.get(k) != now[k])
            if changed:
                old["permissions"], new["permissions"] = {k: was.get(k) for k in changed}, {k: now[k] for k in changed}
        elif a != b:
            old[key], new[key] = deepcopy(a), deepcopy(b)
    return old, new


# -- the audit log --------------------------------------------------------------------------------


async def audit_page(
    session: AsyncSession, *, municipality_id: int, cursor: int | None, limit: int
) -> tuple[list[AuditRow], int | None]:
    """The administration's entries in the town's audit log, newest first, one keyset page
    (entries with ids below `cursor`), with the names of the actor and of the person concerned."""
    stmt = (
        select(AuditLog, User)
        .outerjoin(User, User.id == AuditLog.actor_id)
        .where(AuditLog.municipality_id == municipality_id, or_(*(AuditLog.action.startswith(p) for p in ADMIN_ACTIONS)))
        .order_by(AuditLog.id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        stmt = stmt.where(AuditLog.id < cursor)
    rows = (await session.execute(stmt)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    # Entries about a person (roles) name them: the administration sees its own staff.
    people = {int(e.object_id) for e, _ in rows if e.object_type == "user" and (e.object_id or "").isdigit()}
    names = {u.id: _name(u) for u in await users.by_ids(session, user_ids=people)} if people else {}
    out = [
        AuditRow(entry=entry, actor=_name(user) if user is not None else None,
                 subject=names.get(int(entry.object_id)) if entry.object_type == "user" and (entry.object_id or "").isdigit() else None)
        for entry, user in rows
    ]
    return out, (rows[-1][0].id if more else None)


def _name(user: User) -> str | None:
    return user.full_name or user.display_name or None


@dataclass(frozen=True)
class AuditRow:
    """An audit entry with the names of who did it and whom it was about."""

    entry: AuditLog
    actor: str | None
    subject: str | None


def action_title(action: str) -> str:
    """What an audit entry's action is called, in the current language."""
    msgid = ACTION_TITLES.get(action)
    return gettext(msgid) if msgid else action


# -- the platform: towns and their first administrators ---------------------------------------------


async def platform_towns(session: AsyncSession) -> list[tuple[Municipality, int]]:
    """Every town with how many administrators it has."""
    counts = dict((await session.execute(
        select(Membership.municipality_id, func.count()).where(Membership.role == Role.ADMIN.value).group_by(Membership.municipality_id)
    )).all())
    return [(t, counts.get(t.id, 0)) for t in await towns.list_all(session)]


async def create_town(
    session: AsyncSession, *, slug: str, name: str, timezone: str, actor_id: int
) -> tuple[Municipality, StaffInvite, str]:
    """A new town and an invitation for its first administrator."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _town_problem("timezone", N_("is not a known time zone (e.g. Europe/Moscow)")) from None
    if not " ".join(name.split()):
        raise _town_problem("name", N_("is required"))
    slug = slug.strip().lower()
    if not towns.SLUG_RE.match(slug):
        raise _town_problem("slug", N_("must be 2-63 lowercase Latin letters, digits or hyphens"))
    town = await towns.create(session, slug=slug, name=" ".join(name.split()), timezone=timezone)
    await audit.record(
        session, action="town.create", object_type="municipality", object_id=town.id, actor_id=actor_id,
        municipality_id=town.id, after={"slug": town.slug, "name": town.name},
    )
    invite, code = await users.create_invite(session, municipality_id=town.id, role=Role.ADMIN, actor_id=actor_id)
    return town, invite, code

