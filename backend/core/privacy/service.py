"""Personal data under 152-FZ: consent, export of everything stored about a person, and
erasure that keeps the records the law requires in anonymized form.

Applied services that store personal data declare an exporter and an eraser in their manifest
(`personal_data`); export and erasure iterate the installed components, so `/mydata` and
`/forget` stay complete as services are added.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import service as audit
from backend.core.components.registry import Registry
from backend.core.privacy.models import Consent
from backend.core.users import service as users
from backend.core.users.models import IdentityLevel, Membership, User
from backend.db import utcnow
from backend.errors import Forbidden
from backend.i18n import N_, get_locale, translate

POLICY_VERSION = "2026-11"
# Personal data not needed for another legal basis is destroyed this long after withdrawal (152-FZ art. 21 p. 5).
WITHDRAWAL_PURGE_AFTER = timedelta(days=30)

POLICY_TEXT = N_(
    "Consent to the processing of personal data\n\n"
    "By pressing «I agree» you allow the administration of your town (the operator) to process "
    "your personal data under Federal Law 152-FZ «On personal data»: your Telegram account id and "
    "name, and what you give yourself: phone number, full name, e-mail or postal address, the text "
    "and attachments of your messages.\n\n"
    "Purpose: handling your appeals and reports, registration for events, surveys and notifications "
    "from the town's services.\n\n"
    "Data is stored on servers in Russia and is not passed to third parties except the state bodies "
    "competent to answer your appeal.\n\n"
    "You may withdraw consent at any time (/privacy), get a copy of everything stored about you "
    "(/mydata) or ask to delete it (/forget). After withdrawal, data not needed for another legal "
    "basis is destroyed within 30 days."
)

def policy_text(locale: str | None = None) -> str:
    """The consent text as the person sees it."""
    return translate(POLICY_TEXT, locale)


def policy_hash(locale: str | None = None) -> str:
    return hashlib.sha256(policy_text(locale).encode()).hexdigest()


async def active_consent(session: AsyncSession, *, user_id: int) -> Consent | None:
    """The consent in force, if any."""
    return await session.scalar(
        select(Consent)
        .where(Consent.user_id == user_id, Consent.withdrawn_at.is_(None))
        .order_by(Consent.id.desc())
        .limit(1)
    )


async def give_consent(session: AsyncSession, *, user_id: int, channel: str) -> Consent:
    """Record consent to the current policy text in the current language (idempotent)."""
    locale = get_locale()
    current = await active_consent(session, user_id=user_id)
    text_hash = policy_hash(locale)
    if current is not None and current.version == POLICY_VERSION and current.text_hash == text_hash:
        return current
    if current is not None:
        current.withdrawn_at = utcnow()  # superseded by the new version
    consent = Consent(user_id=user_id, version=POLICY_VERSION, locale=locale, text_hash=text_hash, channel=channel)
    session.add(consent)
    await session.flush()
    await audit.record(
        session, action="consent.give", object_type="user", object_id=user_id, actor_id=user_id,
        after={"version": POLICY_VERSION, "channel": channel},
    )
    return consent


async def withdraw_consent(session: AsyncSession, *, user_id: int) -> bool:
    """Withdraw consent; returns False when there was none in force."""
    result = await session.execute(
        update(Consent).where(Consent.user_id == user_id, Consent.withdrawn_at.is_(None)).values(withdrawn_at=utcnow())
    )
    if not result.rowcount:
        return False
    await audit.record(session, action="consent.withdraw", object_type="user", object_id=user_id, actor_id=user_id)
    return True


async def ensure_consent(session: AsyncSession, *, user_id: int) -> None:
    """Refuse to go on until the person has accepted the policy; call before asking personal data."""
    if await active_consent(session, user_id=user_id) is None:
        raise Forbidden(N_("Please accept the personal data policy first: /privacy"))


def _user_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "telegram_id": user.telegram_id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "username": user.username,
        "full_name": user.full_name,
        "phone": user.phone,
        "email": user.email,
        "postal_address": user.postal_address,
        "locale": user.locale,
        "identity_level": user.identity_level,
        "created_at": user.created_at.isoformat(),
        "anonymized_at": user.anonymized_at.isoformat() if user.anonymized_at else None,
    }


async def export_user_data(session: AsyncSession, *, user_id: int, registry: Registry) -> dict[str, Any]:
    """Everything stored about a person, as JSON-ready data (152-FZ art. 14)."""
    user = await users.get(session, user_id=user_id)
    consents = await session.scalars(select(Consent).where(Consent.user_id == user_id).order_by(Consent.id))
    data: dict[str, Any] = {
        "exported_at": utcnow().isoformat(),
        "user": _user_dict(user),
        "memberships": [
            {"municipality": town.slug, "municipality_name": town.name, "role": m.role, "since": m.created_at.isoformat()}
            for m, town in await users.memberships(session, user_id=user_id)
        ],
        "consents": [
            {
                "version": c.version,
                "locale": c.locale,
                "text_sha256": c.text_hash,
                "channel": c.channel,
                "given_at": c.given_at.isoformat(),
                "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
            }
            for c in consents
        ],
        "activity": [
            {"at": e.at.isoformat(), "action": e.action, "object": f"{e.object_type}:{e.object_id}"}
            for e in await audit.by_actor(session, actor_id=user_id)
        ],
    }
    for m in registry:
        if m.personal_data is not None:
            data[m.slug] = await m.personal_data.export(session, user_id)
    return data


async def forget_user(session: AsyncSession, *, user_id: int, registry: Registry) -> None:
    """Erase a person's personal data. Records the law keeps (appeals, documents, the audit
    log) stay, pointing at an anonymous account; everything else is deleted."""
    user = await users.get(session, user_id=user_id)
    await withdraw_consent(session, user_id=user_id)
    for m in registry:
        if m.personal_data is not None:
            await m.personal_data.erase(session, user_id)
    await session.execute(delete(Membership).where(Membership.user_id == user_id))
    user.telegram_id = None
    user.first_name = user.last_name = user.username = user.full_name = None
    user.phone = user.email = user.postal_address = None
    user.locale = None
    user.identity_level = IdentityLevel.TELEGRAM.value
    user.current_municipality_id = None
    user.anonymized_at = utcnow()
    await audit.record(session, action="user.forget", object_type="user", object_id=user_id, actor_id=user_id)


async def purge_withdrawn(session: AsyncSession, *, now: datetime) -> int:
    """Destroy optional personal data of people who withdrew consent over 30 days ago and
    have not given it again; returns how many people were purged."""
    cutoff = now - WITHDRAWAL_PURGE_AFTER
    has_active = select(Consent.id).where(Consent.user_id == User.id, Consent.withdrawn_at.is_(None)).exists()
    last_withdrawal = (
        select(func.max(Consent.withdrawn_at)).where(Consent.user_id == User.id).scalar_subquery()
    )
    candidates = await session.scalars(
        select(User).where(
            User.anonymized_at.is_(None),
            ~has_active,
            last_withdrawal.is_not(None),
            last_withdrawal <= cutoff,
            (User.phone.is_not(None)) | (User.email.is_not(None)) | (User.postal_address.is_not(None)) | (User.full_name.is_not(None)),
        )
    )
    count = 0
    for user in candidates:
        user.phone = user.email = user.postal_address = user.full_name = None
        if IdentityLevel(user.identity_level).rank > IdentityLevel.TELEGRAM.rank:
            user.identity_level = IdentityLevel.TELEGRAM.value
        await audit.record(session, action="user.purge_after_withdrawal", object_type="user", object_id=user.id)
        count += 1
    return count
