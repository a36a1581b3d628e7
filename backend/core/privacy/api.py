"""Consent to the personal-data policy, from the profile miniapp."""

from __future__ import annotations

from fastapi import APIRouter

from backend.core.privacy import service
from backend.core.privacy.schemas import PolicyOut
from backend.deps import CurrentUser, SessionDep
from backend.openapi import errors

router = APIRouter(prefix="/api/v1", tags=["privacy"], responses=errors(401))


async def _policy(session, user) -> PolicyOut:  # noqa: ANN001
    consent = await service.active_consent(session, user_id=user.id)
    return PolicyOut(
        version=service.POLICY_VERSION,
        text=service.policy_text(),
        accepted=consent is not None,
        given_at=consent.given_at if consent else None,
        accepted_version=consent.version if consent else None,
    )


@router.get("/privacy", response_model=PolicyOut)
async def get_policy(session: SessionDep, user: CurrentUser) -> PolicyOut:
    """The policy text in the person's language and whether they accepted it."""
    return await _policy(session, user)


@router.post("/privacy/consent", response_model=PolicyOut)
async def give_consent(session: SessionDep, user: CurrentUser) -> PolicyOut:
    """Accept the policy."""
    await service.give_consent(session, user_id=user.id, channel="miniapp")
    return await _policy(session, user)


@router.delete("/privacy/consent", response_model=PolicyOut)
async def withdraw_consent(session: SessionDep, user: CurrentUser) -> PolicyOut:
    """Withdraw consent."""
    await service.withdraw_consent(session, user_id=user.id)
    return await _policy(session, user)
