"""The profile page is a core component every member sees."""

from backend.core.components.registry import Manifest, register
from backend.i18n import N_

PROFILE = register(
    Manifest(
        slug="profile",
        title=N_("Profile"),
        description=N_("Language, town, consent, your data"),
        icon="👤",
        path="profile/",
        order=1000,
        always_on=True,
    )
)
