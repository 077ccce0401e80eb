"""search_walk: what a newest-first search reads without opening each row's tsvector.

Revision ID: 0006
Revises: 0005

A search entry gains its document's ``site_id`` and ``report_year`` (so the site and year filters
are checked on the entry itself, with ``(site_id, sort_key)`` and ``(report_year, sort_key)``
indexes to walk one site's or one year's entries newest first) and, on PostgreSQL, ``sig``: a
4096-bit signature of its lexemes (one bit per lexeme, by :func:`storage.search.signature`).
A search that walks the sort-key index tests the signature first, a bitwise AND on the row
itself, and reads the row's tsvector (stored out of line, ~10 kB a report) only when every
query lexeme's bit is set. See :func:`storage.search._postgres_rows`.

Existing entries get the new columns on the way up; versions not yet indexed are indexed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNATURE_BITS = 4096  # frozen here: storage.search.SIGNATURE_BITS at the time of writing
_BATCH = 1000


def upgrade() -> None:
    op.add_column("search_entries", sa.Column("site_id", sa.BigInteger(), nullable=True))
    op.add_column("search_entries", sa.Column("report_year", sa.Integer(), nullable=True))
    op.add_column(
        "search_entries",
        sa.Column("sig", postgresql.BIT(_SIGNATURE_BITS).with_variant(sa.Text(), "sqlite"), nullable=True),
    )
    op.execute(
        "UPDATE search_entries SET"
        " site_id = (SELECT documents.site_id FROM documents WHERE documents.id = search_entries.document_id),"
        " report_year = (SELECT versions.report_year FROM versions WHERE versions.id = search_entries.version_id)"
    )
    op.create_index("ix_search_entries_site_sort", "search_entries", ["site_id", "sort_key"])
    op.create_index("ix_search_entries_year_sort", "search_entries", ["report_year", "sort_key"])

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from storage.search import signature

        last = -1
        while True:
            rows = bind.execute(
                sa.text(
                    "SELECT version_id, tsvector_to_array(tsv) FROM search_entries"
                    " WHERE version_id > :last AND tsv IS NOT NULL ORDER BY version_id LIMIT :batch"
                ),
                {"last": last, "batch": _BATCH},
            ).all()
            if not rows:
                break
            bind.execute(
                sa.text(f"UPDATE search_entries SET sig = CAST(:sig AS bit({_SIGNATURE_BITS})) WHERE version_id = :id"),
                [{"id": row[0], "sig": signature(row[1])} for row in rows],
            )
            last = rows[-1][0]

    from sqlalchemy.orm import Session

    from storage.search import reindex_missing

    reindex_missing(Session(bind=bind))


def downgrade() -> None:
    op.drop_index("ix_search_entries_year_sort", table_name="search_entries")
    op.drop_index("ix_search_entries_site_sort", table_name="search_entries")
    with op.batch_alter_table("search_entries") as batch:
        batch.drop_column("sig")
        batch.drop_column("report_year")
        batch.drop_column("site_id")
