"""monitoring: leases, crawl health, expected reports and the alert outbox (issue: schedule and alerts).

Revision ID: 0004
Revises: 0003

Tables: crawl_leases (one row per site being crawled), crawl_health (the monitor's verdict per
site crawl), alerts (unique by key), alert_outbox (messages to deliver) and scheduler_events.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    # BIGINT, but INTEGER on SQLite where only INTEGER PRIMARY KEY autoincrements.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "crawl_leases",
        sa.Column("site_key", sa.String(64), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("acquired_at", _ts(), nullable=False),
        sa.Column("expires_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("site_key", name="pk_crawl_leases"),
    )

    op.create_table(
        "crawl_health",
        sa.Column("id", _id(), nullable=False),
        sa.Column("site_crawl_id", _id(), nullable=False),
        sa.Column("site_id", _id(), nullable=False),
        sa.Column("run_id", _id(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("reports_found", sa.Integer(), nullable=False),
        sa.Column("reports_without_metadata", sa.Integer(), nullable=False),
        sa.Column("errors_by_reason", sa.JSON(), nullable=False),
        sa.Column("checked_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_health"),
        sa.UniqueConstraint("site_crawl_id", name="uq_crawl_health_site_crawl_id"),
        sa.ForeignKeyConstraint(
            ["site_crawl_id"], ["site_crawls.id"],
            name="fk_crawl_health_site_crawl_id_site_crawls", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_crawl_health_site_id_sites", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name="fk_crawl_health_run_id_crawl_runs", ondelete="CASCADE"
        ),
        sa.CheckConstraint(_in("state", ("ok", "unreachable", "broken")), name="ck_crawl_health_state"),
    )
    op.create_index("ix_crawl_health_site_id", "crawl_health", ["site_id"])

    op.create_table(
        "alerts",
        sa.Column("id", _id(), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("site_id", _id(), nullable=False),
        sa.Column("report_year", sa.Integer(), nullable=True),
        sa.Column("document_id", _id(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("opened_at", _ts(), nullable=False),
        sa.Column("last_notified_at", _ts(), nullable=True),
        sa.Column("resolved_at", _ts(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("key", name="uq_alerts_key"),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_alerts_site_id_sites", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name="fk_alerts_document_id_documents", ondelete="SET NULL"
        ),
        sa.CheckConstraint(
            _in("kind", ("report_missing", "report_late", "site_unreachable", "listing_broken",
                         "report_changed", "report_removed")),
            name="ck_alerts_kind",
        ),
        sa.CheckConstraint(_in("state", ("open", "resolved", "notice")), name="ck_alerts_state"),
    )
    op.create_index("ix_alerts_site_id", "alerts", ["site_id"])
    op.create_index("ix_alerts_state_kind", "alerts", ["state", "kind"])

    op.create_table(
        "alert_outbox",
        sa.Column("id", _id(), nullable=False),
        sa.Column("alert_id", _id(), nullable=True),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("next_attempt_at", _ts(), nullable=False),
        sa.Column("sent_at", _ts(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_to", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_outbox"),
        sa.UniqueConstraint("idempotency_key", name="uq_alert_outbox_idempotency_key"),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_alert_outbox_alert_id_alerts", ondelete="CASCADE"
        ),
        sa.CheckConstraint(
            _in("event", ("opened", "repeated", "resolved", "notice", "test")), name="ck_alert_outbox_event"
        ),
        sa.CheckConstraint(_in("status", ("pending", "sent", "failed")), name="ck_alert_outbox_status"),
    )
    op.create_index("ix_alert_outbox_alert_id", "alert_outbox", ["alert_id"])
    op.create_index("ix_alert_outbox_status_next_attempt_at", "alert_outbox", ["status", "next_attempt_at"])

    op.create_table(
        "scheduler_events",
        sa.Column("id", _id(), nullable=False),
        sa.Column("job_id", sa.String(191), nullable=False),
        sa.Column("site_key", sa.String(64), nullable=True),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("scheduled_for", _ts(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_scheduler_events"),
    )
    op.create_index("ix_scheduler_events_job_id", "scheduler_events", ["job_id"])


def downgrade() -> None:
    op.drop_table("scheduler_events")
    op.drop_table("alert_outbox")
    op.drop_table("alerts")
    op.drop_table("crawl_health")
    op.drop_table("crawl_leases")
