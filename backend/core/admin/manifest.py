"""The town's administration: a core page its administrators see, and no town can switch off."""

from backend.core.components.manifest import Manifest
from backend.core.users.models import Role
from backend.i18n import N_

ADMIN = Manifest(
    slug="admin",
    title=N_("Administration"),
    description=N_("Departments, staff, services and settings of the town"),
    icon="🏛",
    miniapp="admin/",
    opens_for=frozenset({Role.ADMIN}),
    order=900,
    always_on=True,
)
