"""Every model, so metadata is complete for Alembic and tests: core's, and each installed
service's (its manifest names them)."""

from backend.core.audit.models import AuditLog
from backend.core.bots.models import TownBot
from backend.core.dialogs.models import DialogState
from backend.core.documents.models import Document, DocumentLink, DocumentTemplate, RegistrySequence
from backend.core.files.models import StoredFile
from backend.core.municipalities.models import Department, Municipality, Region
from backend.core.notifications.models import OutboxMessage
from backend.core.privacy.models import Consent
from backend.core.search.models import SearchEntry
from backend.core.transport.models import InboundUpdate
from backend.core.users.models import Membership, StaffInvite, User
from backend.db import Base
from backend.services import INSTALLED

CORE_MODELS = (
    AuditLog, Consent, Department, DialogState, Document, DocumentLink, DocumentTemplate, InboundUpdate, Membership,
    Municipality, OutboxMessage, Region, RegistrySequence, SearchEntry, StaffInvite, StoredFile, TownBot, User,
)
SERVICE_MODELS = tuple(model for manifest in INSTALLED for model in manifest.models)

__all__ = ["CORE_MODELS", "SERVICE_MODELS", "Base"]
