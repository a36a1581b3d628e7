"""What people do with appeals, and which roles may do it unless a town decides otherwise."""

from __future__ import annotations

from backend.core.components.manifest import ALL_ROLES, Action
from backend.core.components.permissions import effective_roles
from backend.core.municipalities.models import Municipality
from backend.core.users.models import Role
from backend.i18n import N_

SLUG = "appeals"
_STAFF = frozenset({Role.CLERK, Role.DEPARTMENT_HEAD, Role.HEAD, Role.ADMIN})

FILE = Action("file", N_("Write to the administration"), ALL_ROLES)
HANDLE = Action("handle", N_("Handle appeals in the queue"), _STAFF)
MANAGE_TEMPLATES = Action("manage_templates", N_("Edit answer templates"), frozenset({Role.DEPARTMENT_HEAD, Role.HEAD, Role.ADMIN}))
SEE_ALL_DEPARTMENTS = Action(
    "see_all_departments", N_("See every department's appeals when the town limits clerks to their own"),
    frozenset({Role.DEPARTMENT_HEAD, Role.HEAD, Role.ADMIN}),
)
STOP_CORRESPONDENCE = Action("stop_correspondence", N_("Stop correspondence on repeated appeals"), frozenset({Role.HEAD, Role.ADMIN}))
ISSUE_OPEN311_KEYS = Action("issue_open311_keys", N_("Issue Open311 API keys"), frozenset({Role.ADMIN}))
MANAGE_CATEGORIES = Action("manage_categories", N_("Add, change and archive categories of appeals"), frozenset({Role.ADMIN}))

ACTIONS = (FILE, HANDLE, MANAGE_TEMPLATES, SEE_ALL_DEPARTMENTS, STOP_CORRESPONDENCE, ISSUE_OPEN311_KEYS, MANAGE_CATEGORIES)


def roles(town: Municipality, action: Action) -> frozenset[Role]:
    """Who may perform `action` in this town."""
    return effective_roles(town, SLUG, action)
