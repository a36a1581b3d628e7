"""the service wing: typed notices in the outbox; town settings with per-service sections

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:00:00
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The outbox's old free-form rows, by msgid, as typed notices (what the bot now renders).
KINDS = {
    "Your appeal {number}: the status is now «{status_msgid}».": "appeals.status",
    "Your appeal {number}: the administration asks for more information:\n\n{question}": "appeals.info_requested",
    "Your appeal {number} has been sent to the body competent to answer it: {to}.": "appeals.redirected",
    "The answer to your appeal {number} has been extended to {date}. Reason: {reason}": "appeals.extended",
    "Your appeal {number} will not be answered on the merits. Reason: {reason_msgid}": "appeals.no_answer",
    "Your report {number} is about the same problem as report {other}; you will receive the answer to it.": "appeals.merged",
    "Answer to your appeal {number} (outgoing No. {doc_number}):\n\n{body}": "appeals.answered",
    "Reminder: the answer to appeal {number} is due in 5 days ({date}).": "appeals.due_in_5_days",
    "Reminder: the answer to appeal {number} is due tomorrow ({date}).": "appeals.due_in_1_day",
    "Overdue: the answer to appeal {number} was due {date}.": "appeals.overdue",
}
TOWN_KEYS = {"calendar_days", "holidays", "components"}
APPEAL_KEYS = {
    "reg_prefix": "reg_prefix", "appeal_answer_days": "answer_days", "report_answer_days": "report_answer_days",
    "appeal_identity": "identity", "appeal_require_contacts": "require_contacts", "appeal_max_chars": "max_chars",
    "open311_contact": "open311_contact",
}


def _loads(value):  # noqa: ANN001, ANN202
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("municipality_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("kind", sa.String(length=64), nullable=False, server_default="text"))
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.SmallInteger(), nullable=False, server_default="10"))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_message_municipality_id_municipality"), "municipality", ["municipality_id"], ["id"], ondelete="SET NULL"
        )
    bind = op.get_bind()
    outbox = sa.table(
        "outbox_message", sa.column("id", sa.Integer), sa.column("message", sa.Text), sa.column("params", sa.JSON),
        sa.column("action", sa.JSON), sa.column("kind", sa.String), sa.column("payload", sa.JSON), sa.column("municipality_id", sa.Integer),
    )
    for row in bind.execute(sa.select(outbox.c.id, outbox.c.message, outbox.c.params, outbox.c.action)).all():
        params, action = _loads(row.params) or {}, _loads(row.action) or {}
        kind = KINDS.get(row.message)
        if kind is not None and "appeal_id" in action:
            payload = {"appeal_id": action["appeal_id"], **params}
            if "municipality_id" in action:
                payload["municipality_id"] = action["municipality_id"]
        else:
            kind, payload = "text", {"msgid": row.message, "values": params}
        bind.execute(outbox.update().where(outbox.c.id == row.id).values(
            kind=kind, payload=payload, municipality_id=action.get("municipality_id")
        ))
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("message")
        batch_op.drop_column("params")
        batch_op.drop_column("action")
        batch_op.alter_column("payload", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("kind", server_default=None)
        batch_op.alter_column("priority", server_default=None)

    towns = sa.table("municipality", sa.column("id", sa.Integer), sa.column("settings", sa.JSON))
    for row in bind.execute(sa.select(towns.c.id, towns.c.settings)).all():
        old = _loads(row.settings) or {}
        if "services" in old:
            continue
        new = {k: v for k, v in old.items() if k in TOWN_KEYS}
        appeals = {APPEAL_KEYS[k]: v for k, v in old.items() if k in APPEAL_KEYS}
        new["services"] = {"appeals": appeals} if appeals else {}
        bind.execute(towns.update().where(towns.c.id == row.id).values(settings=new))


def downgrade() -> None:
    raise NotImplementedError("the typed outbox cannot be turned back into free text")
