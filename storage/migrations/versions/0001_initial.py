"""Initial schema: sites, documents, versions, crawl runs, site crawls and crawl errors.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

documents.latest_version_id and versions.document_id reference each other, so the documents
table is created first and its foreign key to versions is added once versions exists (through
batch mode, which on SQLite copies the still-empty table).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    # BIGINT, but INTEGER on SQLite where only INTEGER PRIMARY KEY autoincrements.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _counters() -> list[sa.Column]:
    return [
        sa.Column(name, sa.Integer(), nullable=False)
        for name in (
            "pages",
            "reports_found",
            "new_documents",
            "new_versions",
            "unchanged",
            "failures",
        )
    ]


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", _id(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("family", sa.String(32), nullable=False),
        sa.Column("list_urls", sa.JSON(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sites"),
        sa.UniqueConstraint("key", name="uq_sites_key"),
    )

    op.create_table(
        "crawl_runs",
        sa.Column("id", _id(), nullable=False),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("finished_at", _ts(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("site_keys", sa.JSON(), nullable=False),
        *_counters(),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_runs"),
        sa.CheckConstraint(
            "status IN ('running', 'finished', 'failed', 'interrupted')",
            name="ck_crawl_runs_status",
        ),
    )

    op.create_table(
        "documents",
        sa.Column("id", _id(), nullable=False),
        sa.Column("site_id", _id(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("index_no", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("report_year", sa.Integer(), nullable=True),
        sa.Column("publisher", sa.Text(), nullable=True),
        sa.Column("pub_date", sa.String(10), nullable=True),
        sa.Column("missing_fields", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", _ts(), nullable=False),
        sa.Column("last_seen_at", _ts(), nullable=False),
        sa.Column("last_run_id", _id(), nullable=True),
        sa.Column("latest_version_id", _id(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.UniqueConstraint("site_id", "url", name="uq_documents_site_id_url"),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_documents_site_id_sites", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["last_run_id"],
            ["crawl_runs.id"],
            name="fk_documents_last_run_id_crawl_runs",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_documents_index_no", "documents", ["index_no"])
    op.create_index("ix_documents_report_year", "documents", ["report_year"])

    op.create_table(
        "versions",
        sa.Column("id", _id(), nullable=False),
        sa.Column("document_id", _id(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("index_no", sa.Text(), nullable=True),
        sa.Column("publisher", sa.Text(), nullable=True),
        sa.Column("pub_date", sa.String(10), nullable=True),
        sa.Column("written_date", sa.String(10), nullable=True),
        sa.Column("doc_no", sa.Text(), nullable=True),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("report_year", sa.Integer(), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("missing_fields", sa.JSON(), nullable=False),
        sa.Column("encoding", sa.String(64), nullable=True),
        sa.Column("first_seen_at", _ts(), nullable=False),
        sa.Column("last_seen_at", _ts(), nullable=False),
        sa.Column("first_run_id", _id(), nullable=True),
        sa.Column("last_run_id", _id(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_versions"),
        sa.UniqueConstraint(
            "document_id", "content_hash", name="uq_versions_document_id_content_hash"
        ),
        sa.UniqueConstraint("document_id", "number", name="uq_versions_document_id_number"),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="fk_versions_document_id_documents",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["first_run_id"],
            ["crawl_runs.id"],
            name="fk_versions_first_run_id_crawl_runs",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["last_run_id"],
            ["crawl_runs.id"],
            name="fk_versions_last_run_id_crawl_runs",
            ondelete="SET NULL",
        ),
    )

    with op.batch_alter_table("documents") as batch:
        batch.create_foreign_key(
            "fk_documents_latest_version_id_versions",
            "versions",
            ["latest_version_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.create_table(
        "site_crawls",
        sa.Column("id", _id(), nullable=False),
        sa.Column("run_id", _id(), nullable=False),
        sa.Column("site_id", _id(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("finish_reason", sa.Text(), nullable=True),
        sa.Column("finished_at", _ts(), nullable=True),
        *_counters(),
        sa.PrimaryKeyConstraint("id", name="pk_site_crawls"),
        sa.UniqueConstraint("run_id", "site_id", name="uq_site_crawls_run_id_site_id"),
        sa.CheckConstraint("status IN ('running', 'ok', 'failed')", name="ck_site_crawls_status"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["crawl_runs.id"],
            name="fk_site_crawls_run_id_crawl_runs",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_site_crawls_site_id_sites", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_site_crawls_site_id", "site_crawls", ["site_id"])

    op.create_table(
        "crawl_errors",
        sa.Column("id", _id(), nullable=False),
        sa.Column("run_id", _id(), nullable=False),
        sa.Column("site_id", _id(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("page_kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_crawl_errors"),
        sa.CheckConstraint("page_kind IN ('list', 'report')", name="ck_crawl_errors_page_kind"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["crawl_runs.id"],
            name="fk_crawl_errors_run_id_crawl_runs",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name="fk_crawl_errors_site_id_sites", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_crawl_errors_run_id", "crawl_errors", ["run_id"])
    op.create_index("ix_crawl_errors_site_id", "crawl_errors", ["site_id"])


def downgrade() -> None:
    op.drop_index("ix_crawl_errors_site_id", table_name="crawl_errors")
    op.drop_index("ix_crawl_errors_run_id", table_name="crawl_errors")
    op.drop_table("crawl_errors")
    op.drop_index("ix_site_crawls_site_id", table_name="site_crawls")
    op.drop_table("site_crawls")
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint("fk_documents_latest_version_id_versions", type_="foreignkey")
    op.drop_table("versions")
    op.drop_index("ix_documents_report_year", table_name="documents")
    op.drop_index("ix_documents_index_no", table_name="documents")
    op.drop_table("documents")
    op.drop_table("crawl_runs")
    op.drop_table("sites")
