"""search: the CJK full-text search index (issue: the researcher's archive).

Revision ID: 0005
Revises: 0004

``search_entries`` has one row per indexed version; its ``sort_key`` orders versions by
publication date (see :func:`storage.search.sort_key`). On PostgreSQL its ``tsv`` column holds the
version's CJK bigrams with a GIN index; on SQLite the bigrams go into the contentless FTS5 table
``search_fts`` (rowid = version id), which SQLAlchemy's models cannot describe and so is created
here with raw DDL. Versions already in the archive are indexed on the way up by 0006, which
adds the columns the index writer fills today.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    # BIGINT, but INTEGER on SQLite where only INTEGER PRIMARY KEY autoincrements.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "search_entries",
        sa.Column("version_id", _id(), nullable=False),
        sa.Column("document_id", _id(), nullable=False),
        sa.Column("sort_key", sa.BigInteger(), nullable=False),
        sa.Column("latest", sa.Boolean(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("attachment_ids", sa.JSON(), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tsv", postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite"), nullable=True),
        sa.PrimaryKeyConstraint("version_id", name="pk_search_entries"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name="fk_search_entries_version_id_versions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="fk_search_entries_document_id_documents",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_search_entries_document_id", "search_entries", ["document_id"])
    op.create_index("ix_search_entries_sort_key", "search_entries", ["sort_key"])
    op.create_index(
        "ix_search_entries_tsv",
        "search_entries",
        ["tsv"],
        postgresql_using="gin",
        sqlite_where=sa.text("tsv IS NOT NULL"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        from storage.search import FTS5_DDL

        op.execute(FTS5_DDL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        from storage.models import FTS_TABLE

        op.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    op.drop_index("ix_search_entries_tsv", table_name="search_entries")
    op.drop_index("ix_search_entries_sort_key", table_name="search_entries")
    op.drop_index("ix_search_entries_document_id", table_name="search_entries")
    op.drop_table("search_entries")
