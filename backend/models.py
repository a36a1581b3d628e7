"""Every model, imported in one place so metadata is complete for Alembic and tests."""

from backend.core.audit.models import AuditLog
from backend.core.municipalities.models import Department, Municipality, Region
from backend.core.privacy.models import Consent
from backend.core.users.models import Membership, User
from backend.db import Base

__all__ = ["AuditLog", "Base", "Consent", "Department", "Membership", "Municipality", "Region", "User"]
