"""The answer a clerk is writing, kept on the server between launches and devices: one draft
per appeal, the last save wins, and the answer (or the clerk) discards it.

Its own module, reads and writes together: a draft is a small thing of its own beside the
appeal's record, and `service.answer` only needs to drop it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.audit import service as audit
from backend.core.users.models import User
from backend.db import utcnow
from backend.errors import Conflict
from backend.i18n import N_
from backend.services.appeals import rules
from backend.services.appeals.models import Appeal, AppealAnswerDraft
from backend.services.appeals.rules import Status


async def draft_of(session: AsyncSession, *, appeal_id: int) -> AppealAnswerDraft | None:
    """The saved draft of the appeal's answer, if any."""
    return await session.scalar(select(AppealAnswerDraft).where(AppealAnswerDraft.appeal_id == appeal_id))


async def save_draft(
    session: AsyncSession, *, appeal: Appeal, actor: User, body: str, now: datetime | None = None
) -> AppealAnswerDraft:
    """Keep what the clerk typed as the appeal's draft answer, replacing any earlier one."""
    if appeal.merged_into_id is not None or not rules.can_transition(Status(appeal.status), Status.ANSWERED):
        # A save that arrives after the answer went out must not bring a draft back.
        raise Conflict(N_("This appeal can no longer be answered, so its draft is not kept."))
    now = now or utcnow()
    draft = await draft_of(session, appeal_id=appeal.id)
    started = draft is None
    if draft is None:
        try:
            async with session.begin_nested():
                session.add(AppealAnswerDraft(appeal_id=appeal.id, body=body, saved_by=actor.id, saved_at=now))
        except IntegrityError:
            pass  # a colleague's first save won the race: this one replaces it below
        draft = await draft_of(session, appeal_id=appeal.id)
        assert draft is not None
    taken_over = draft.saved_by != actor.id
    draft.body, draft.saved_by, draft.saved_at = body, actor.id, now
    # Audited lightly: when a draft is started and when another clerk takes it over, not on
    # every save (the miniapp saves as the clerk types); and not in the appeal's own history.
    if started or taken_over:
        await audit.record(
            session, action="appeal.answer_draft", object_type="appeal_answer_draft", object_id=appeal.id, actor_id=actor.id,
            municipality_id=appeal.municipality_id, after={"chars": len(body)},
        )
    await session.flush()
    return draft


async def discard_draft(session: AsyncSession, *, appeal_id: int) -> None:
    """Forget the appeal's draft answer (sent, or thrown away)."""
    await session.execute(delete(AppealAnswerDraft).where(AppealAnswerDraft.appeal_id == appeal_id))
