"""The transport between a messenger and the app: updates received, and the replies each one
produced.

One row per update (`InboundUpdate`). It is written in the same transaction as the update's
effects, so "handled", the effects and the replies that report them commit or vanish together;
at scale it is also the queue of a chat's updates waiting their turn. The replies are the
channel's calls in order, sent after commit; `replies_due_at` is set while some are unsent
(a lease: a sender that died is replaced once it runs out).

Channel-neutral: the account on the channel (the bot's id) is a column, the payloads are the
channel's own JSON, opaque to the backend.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class InboundUpdate(Base):
    __tablename__ = "inbound_update"
    __table_args__ = (
        # A chat's waiting updates, lowest first.
        Index(
            "ix_inbound_update_waiting", "account", "chat", "update_id",
            sqlite_where=text("handled_at IS NULL"), postgresql_where=text("handled_at IS NULL"),
        ),
        # Replies whose sender may be gone.
        Index(
            "ix_inbound_update_replies_due", "replies_due_at",
            sqlite_where=text("replies_due_at IS NOT NULL"), postgresql_where=text("replies_due_at IS NOT NULL"),
        ),
        Index("ix_inbound_update_handled", "handled_at"),
    )

    account: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # the bot's id
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chat: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # kept only while it waits
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))  # handled, failed

    replies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # the channel's calls, in order
    replies_done: Mapped[int] = mapped_column(SmallInteger, default=0)  # calls confirmed sent
    replies_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # unsent: when another may take over
    replies_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replies_attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    # A sender died with a call in flight: the messenger may or may not have it. Sent again,
    # and reported, because it is the one duplicate the design allows.
    replies_uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    replies_error: Mapped[str | None] = mapped_column(String(500))
