"""Input and output shapes of the town's administration and of the platform's towns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from backend.core.municipalities.schemas import TownOut
from backend.core.users.models import Role
from backend.fields import Id, Text


class RoleOut(BaseModel):
    value: Role
    title: str


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    archived: bool = False
    uses: int = Field(default=0, description="Rows that refer to it (categories, staff, appeals): when above 0 it can only be archived")


class DepartmentIn(BaseModel):
    name: Text(200, min_length=1)


class DepartmentPatch(BaseModel):
    name: Text(200, min_length=1) | None = None
    archived: bool | None = None


class StaffRoleOut(BaseModel):
    role: Role
    title: str
    department_id: int | None


class StaffOut(BaseModel):
    user_id: int
    name: str
    username: str | None
    roles: list[StaffRoleOut]


class StaffIn(BaseModel):
    roles: list[Role] = Field(max_length=len(Role), description="Every role besides resident the person is to hold; [] takes them all away")
    department_id: Id | None = Field(default=None, description="For clerks and department heads")


class InviteIn(BaseModel):
    role: Role
    department_id: Id | None = Field(default=None, description="For clerks and department heads")
    days: int = Field(default=7, ge=1, le=30, description="How long the link works")


class InviteOut(BaseModel):
    id: int
    role: Role
    title: str
    department_id: int | None
    created_at: datetime
    expires_at: datetime


class IssuedInviteOut(InviteOut):
    start: str = Field(description="The /start payload, inv_<code>; shown this once, only its hash is kept")
    link: str | None = Field(description="t.me/<bot>?start=inv_<code> when BOT_USERNAME is configured")


class TownSettingsOut(BaseModel):
    name: str
    timezone: str
    calendar_days: bool
    holidays: list[date]
    working_weekends: list[date]


class TownPatch(BaseModel):
    name: Text(200, min_length=1) | None = None
    timezone: Text(64) | None = None
    calendar_days: bool | None = None
    holidays: list[date] | None = Field(default=None, max_length=400)
    working_weekends: list[date] | None = Field(default=None, max_length=100)


class ActionOut(BaseModel):
    name: str
    title: str
    default_roles: list[Role]
    roles: list[Role]
    overridden: bool


class ComponentOut(BaseModel):
    slug: str
    title: str
    description: str
    icon: str
    always_on: bool
    enabled: bool
    settings: dict[str, Any] = Field(description="The town's values, defaults filled in")
    settings_schema: dict[str, Any] | None = Field(description="The JSON schema of the service's settings, titles in the person's language")
    actions: list[ActionOut]


class ComponentPatch(BaseModel):
    enabled: bool | None = None
    settings: dict[Text(64), Any] | None = Field(default=None, max_length=100, description="All of the service's settings; checked by its manifest")
    permissions: dict[Text(64), list[Role] | None] | None = Field(
        default=None, max_length=100, description="action -> the roles that may perform it here; null: the service's default"
    )


class SettingsOut(BaseModel):
    town: TownSettingsOut
    components: list[ComponentOut]
    roles: list[RoleOut]


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    action: str
    title: str
    actor: str | None
    subject: str | None = Field(default=None, description="The person an entry about roles is about")
    object_type: str
    object_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: int | None


class PlatformTownOut(TownOut):
    is_active: bool
    admins: int


class PlatformTownIn(BaseModel):
    slug: Text(63, min_length=2)
    name: Text(200, min_length=1)
    timezone: Text(64) = "Europe/Moscow"


class CreatedTownOut(BaseModel):
    town: PlatformTownOut
    invite: IssuedInviteOut
