"""capture: captures of every fetch, WARC evidence and revalidation state (issue: archival-grade capture).

Revision ID: 0003
Revises: 0002

``captures`` holds one row per HTTP exchange with the location of its WARC record;
``url_states`` what the revalidation policy knows about each URL of a site. ``versions`` and
``attachments`` gain a nullable ``capture_id`` (existing rows have no capture).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    # BIGINT, but INTEGER on SQLite where only INTEGER PRIMARY KEY autoincrements.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "captures",
        sa.Column("id", _id(), nullable=False),
        sa.Column("run_id", _id(), nullable=True),
        sa.Column("site_id", _id(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("page_kind", sa.String(16), nullable=True),
        sa.Column("fetched_at", _ts(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("payload_sha256", sa.String(64), nullable=True),
        sa.Column("payload_bytes", sa.BigInteger(), nullable=False),
        sa.Column("record_type", sa.String(16), nullable=False),
        sa.Column("revisit_of_id", _id(), nullable=True),
        sa.Column("warc_file", sa.Text(), nullable=False),
        sa.Column("warc_record_id", sa.String(64), nullable=False),
        sa.Column("warc_offset", sa.BigInteger(), nullable=False),
        sa.Column("warc_length", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_captures"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["crawl_runs.id"], name="fk_captures_run_id_crawl_runs", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_captures_site_id_sites", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["revisit_of_id"],
            ["captures.id"],
            name="fk_captures_revisit_of_id_captures",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_captures_url", "captures", ["url"])
    op.create_index("ix_captures_run_id", "captures", ["run_id"])
    op.create_index("ix_captures_site_id", "captures", ["site_id"])
    op.create_index("ix_captures_payload_sha256", "captures", ["payload_sha256"])

    op.create_table(
        "url_states",
        sa.Column("id", _id(), nullable=False),
        sa.Column("site_id", _id(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("page_kind", sa.String(16), nullable=True),
        sa.Column("first_seen_at", _ts(), nullable=False),
        sa.Column("last_checked_at", _ts(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("payload_capture_id", _id(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_url_states"),
        sa.UniqueConstraint("site_id", "url", name="uq_url_states_site_id_url"),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_url_states_site_id_sites", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["payload_capture_id"],
            ["captures.id"],
            name="fk_url_states_payload_capture_id_captures",
            ondelete="SET NULL",
        ),
    )

    for table in ("versions", "attachments"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("capture_id", _id(), nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_capture_id_captures",
                "captures",
                ["capture_id"],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade() -> None:
    for table in ("attachments", "versions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_capture_id_captures", type_="foreignkey")
            batch.drop_column("capture_id")
    op.drop_table("url_states")
    op.drop_index("ix_captures_payload_sha256", table_name="captures")
    op.drop_index("ix_captures_site_id", table_name="captures")
    op.drop_index("ix_captures_run_id", table_name="captures")
    op.drop_index("ix_captures_url", table_name="captures")
    op.drop_table("captures")
