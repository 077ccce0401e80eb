"""extraction: statistics tables on versions, attachments and their links to versions.

Revision ID: 0002
Revises: 0001

``versions`` gains ``tables`` (JSON, nullable), ``has_tables`` and ``image_only`` (booleans;
existing rows get false). ``attachments`` holds one row per distinct file content (sha256) with
its extracted text; ``attachment_links`` ties a version to the URLs it linked.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine:
    # BIGINT, but INTEGER on SQLite where only INTEGER PRIMARY KEY autoincrements.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("tables", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("has_tables", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("image_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    op.create_table(
        "attachments",
        sa.Column("id", _id(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("image_only", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attachments"),
        sa.UniqueConstraint("sha256", name="uq_attachments_sha256"),
    )
    op.create_table(
        "attachment_links",
        sa.Column("id", _id(), nullable=False),
        sa.Column("document_id", _id(), nullable=False),
        sa.Column("version_id", _id(), nullable=False),
        sa.Column("attachment_id", _id(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("link_text", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attachment_links"),
        sa.UniqueConstraint("version_id", "url", name="uq_attachment_links_version_id_url"),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name="fk_attachment_links_document_id_documents",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name="fk_attachment_links_version_id_versions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name="fk_attachment_links_attachment_id_attachments",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_attachment_links_document_id", "attachment_links", ["document_id"])
    op.create_index("ix_attachment_links_attachment_id", "attachment_links", ["attachment_id"])


def downgrade() -> None:
    op.drop_index("ix_attachment_links_attachment_id", table_name="attachment_links")
    op.drop_index("ix_attachment_links_document_id", table_name="attachment_links")
    op.drop_table("attachment_links")
    op.drop_table("attachments")
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("image_only")
        batch.drop_column("has_tables")
        batch.drop_column("tables")
