"""Every model, imported in one place so metadata is complete for Alembic and tests."""

from backend.core.audit.models import AuditLog
from backend.core.documents.models import Document, DocumentLink, DocumentTemplate, RegistrySequence
from backend.core.files.models import StoredFile
from backend.core.municipalities.models import Department, Municipality, Region
from backend.core.notifications.models import OutboxMessage
from backend.core.privacy.models import Consent
from backend.core.users.models import Membership, User
from backend.db import Base
from backend.services.appeals.models import (
    Appeal,
    AppealCategory,
    AppealComment,
    AppealLink,
    AppealReminder,
    Open311Key,
)

__all__ = [
    "Appeal", "AppealCategory", "AppealComment", "AppealLink", "AppealReminder", "AuditLog", "Base", "Consent",
    "Department", "Document", "DocumentLink", "DocumentTemplate", "Membership", "Municipality", "Open311Key",
    "OutboxMessage", "Region", "RegistrySequence", "StoredFile", "User",
]
