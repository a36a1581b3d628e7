"""The transport between a messenger and the app: updates received, and the calls that carry
the app's replies out.

`InboundUpdate` is the record that an update was handled (written in the same transaction as
the update's effects, so "handled" and "its effects" commit or vanish together), and at scale
the queue of a chat's updates waiting their turn. `OutboundBatch` holds the replies an update
produced, written in that same transaction and sent after commit; a batch whose sender died
is sent by whoever finds its lease expired.

Both are channel-neutral: the channel (telegram) and the account on it (the bot's id) are
columns, the payloads are the channel's own JSON, opaque to the backend.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, SmallInteger, String, text
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
        Index("ix_inbound_update_received", "received_at"),
    )

    account: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # the bot's id
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chat: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # kept only while it waits
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))  # handled, failed, dropped


class OutboundBatch(Base):
    __tablename__ = "outbound_batch"
    __table_args__ = (
        Index("ix_outbound_batch_due", "lease_until", sqlite_where=text("sent_at IS NULL AND failed_at IS NULL"),
              postgresql_where=text("sent_at IS NULL AND failed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[int] = mapped_column(BigInteger)
    chat: Mapped[int | None] = mapped_column(BigInteger)
    update_id: Mapped[int | None] = mapped_column(BigInteger)
    calls: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # the channel's calls, in order
    done: Mapped[int] = mapped_column(SmallInteger, default=0)  # calls confirmed sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    # A sender died with a call in flight: Telegram may or may not have it. Sent again, and
    # reported, because it is the one duplicate the design allows.
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
