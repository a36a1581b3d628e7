"""The profile page: a core component every member sees, and no town can switch off."""

from backend.core.components.manifest import Manifest
from backend.i18n import N_

PROFILE = Manifest(
    slug="profile",
    title=N_("Profile"),
    description=N_("Language, town, consent, your data"),
    icon="👤",
    miniapp="profile/",
    order=1000,
    always_on=True,
)
