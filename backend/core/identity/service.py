"""Identity providers: how sure a town is of who a person is.

A formal 59-FZ appeal needs the identification level the town configures (since 547-FZ,
an electronic appeal is considered only through a system that identifies the citizen).
Providers are pluggable: Telegram's contact button (phone) works out of the box; the
Gosuslugi/ESIA provider is an interface that says plainly when it is not configured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from backend.core.users.models import IdentityLevel, User
from backend.i18n import N_


class IdentityProvider(Protocol):
    key: str
    title: str  # msgid
    level: IdentityLevel

    @property
    def configured(self) -> bool: ...

    def satisfied_by(self, user: User) -> bool: ...


class TelegramPhoneProvider:
    """The phone number of the Telegram account, shared with the contact button."""

    key = "telegram_phone"
    title = N_("Phone number confirmed by Telegram")
    level = IdentityLevel.PHONE
    configured = True

    def satisfied_by(self, user: User) -> bool:
        return user.phone is not None and IdentityLevel(user.identity_level).rank >= IdentityLevel.PHONE.rank


class EsiaProvider:
    """Gosuslugi (ESIA) identification. Connecting needs the town's agreement with the
    operator of ESIA and its certificates; until then the provider is not configured."""

    key = "esia"
    title = N_("Gosuslugi (ESIA)")
    level = IdentityLevel.ESIA

    def __init__(self, client_id: str | None = None) -> None:
        self.client_id = client_id

    @property
    def configured(self) -> bool:
        return bool(self.client_id)

    def satisfied_by(self, user: User) -> bool:
        return IdentityLevel(user.identity_level).rank >= IdentityLevel.ESIA.rank


PROVIDERS: list[IdentityProvider] = [TelegramPhoneProvider(), EsiaProvider()]


@dataclass(frozen=True)
class IdentityCheck:
    ok: bool
    required: IdentityLevel
    missing: list[str] = field(default_factory=list)  # msgids of what is still needed
    providers: list[tuple[str, str, bool]] = field(default_factory=list)  # (key, title msgid, configured)


def check_for_appeal(
    user: User, *, required: IdentityLevel, require_contacts: bool, full_name: str | None, reply_address: str | None
) -> IdentityCheck:
    """Whether this person may file a formal 59-FZ appeal now, and what is missing if not.
    `required` is the level the town asks for; `require_contacts` whether it asks the name
    and the reply address up front (59-FZ art. 7 p. 3; when not, art. 11 decides later)."""
    usable = [p for p in PROVIDERS if p.level.rank >= required.rank]
    missing: list[str] = []
    if not any(p.configured and p.satisfied_by(user) for p in usable) and required is not IdentityLevel.TELEGRAM:
        missing.append(
            N_("a phone number confirmed through Telegram's button") if required is IdentityLevel.PHONE
            else N_("identification through Gosuslugi")
        )
    if require_contacts:
        if not (full_name or "").strip():
            missing.append(N_("your full name"))
        if not (reply_address or "").strip():
            missing.append(N_("an e-mail or postal address for the answer"))
    return IdentityCheck(
        ok=not missing,
        required=required,
        missing=missing,
        providers=[(p.key, p.title, p.configured) for p in usable],
    )
