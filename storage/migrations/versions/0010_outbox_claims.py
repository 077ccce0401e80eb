"""outbox claims: a sender claims a message before delivering it (issue 12).

Revision ID: 0010
Revises: 0009

Two senders at once (two ``nianbao alerts send``, or the scheduler's threads) must never deliver
one message twice. A row lock cannot promise that (``SELECT ... FOR UPDATE`` is a no-op on
SQLite), so ``alert_outbox`` gains a claim: ``claim_token`` (the sender's random token) and
``claimed_until`` (when the claim lapses, so a crashed sender's messages are taken over), both
written by one conditional ``UPDATE`` that only one sender can win (see alerts/delivery.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert_outbox") as batch:
        batch.add_column(sa.Column("claim_token", sa.String(64), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_outbox") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claim_token")
