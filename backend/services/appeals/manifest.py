"""Appeals as a component: the clerk's miniapp, plus the hooks appeals need from the core
(personal data export and erasure, who may see their files)."""

from backend.core.components.registry import Manifest, register
from backend.core.files import service as files
from backend.core.privacy import service as privacy
from backend.i18n import N_
from backend.services.appeals import service
from backend.services.appeals.api import router
from backend.services.appeals.open311 import ROUTERS as OPEN311_ROUTERS

APPEALS = register(
    Manifest(
        slug="appeals",
        title=N_("Appeals"),
        description=N_("The queue of residents' appeals and reports"),
        icon="📨",
        path="appeals/",
        roles=service.STAFF,
        order=10,
    )
)

privacy.register("appeals", exporter=service.export_personal_data, eraser=service.erase_personal_data)
files.register_access("appeal", service.may_see)
files.register_access("document", service.may_see_document)

ROUTERS = [router, *OPEN311_ROUTERS]
