"""The full-text search index's bookkeeping table (see :mod:`storage.search`).

One :class:`SearchEntry` per indexed version. Versions never change once recorded, so an entry is
written once, when its version is; a document's search hit is its latest version's entry.

Where the index itself lives depends on the backend:

- **PostgreSQL**: the entry's ``tsv`` column holds the version's CJK bigrams as a ``tsvector``
  (built by :func:`storage.search.tsvector_literal`), with a GIN index;
- **SQLite**: an FTS5 virtual table ``search_fts`` (contentless, rowid = ``sort_key``) holds the
  bigrams; the migration creates it, because SQLAlchemy cannot describe a virtual table. The
  ``tsv`` column stays NULL and its index is partial on SQLite (empty).

:func:`include_name` tells Alembic's schema comparison to leave the FTS5 table and its shadow
tables alone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import BIT, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, IdType, utcnow

__all__ = ["FTS_TABLE", "SIGNATURE_BITS", "SearchEntry", "include_name", "is_fts_table"]

#: The SQLite FTS5 table (and prefix of its shadow tables: _data, _idx, _docsize, _config).
FTS_TABLE = "search_fts"

#: tsvector on PostgreSQL; an always-NULL TEXT column on SQLite (the FTS5 table is the index).
TsvectorType = TSVECTOR().with_variant(Text(), "sqlite")
#: Bits of a lexeme signature (:func:`storage.search.signature`); 0006 freezes the same width.
SIGNATURE_BITS = 4096
#: The lexeme signature on PostgreSQL; an always-NULL TEXT column on SQLite.
SignatureType = BIT(SIGNATURE_BITS).with_variant(Text(), "sqlite")


class SearchEntry(Base):
    """One version in the search index."""

    __tablename__ = "search_entries"
    __table_args__ = (
        Index(
            "ix_search_entries_tsv",
            "tsv",
            postgresql_using="gin",
            sqlite_where=text("tsv IS NOT NULL"),
        ),
        # A site's or a year's entries newest first, for searches filtered on them.
        Index("ix_search_entries_site_sort", "site_id", "sort_key"),
        Index("ix_search_entries_year_sort", "report_year", "sort_key"),
    )

    version_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    #: Publication date and version id in one integer (:func:`storage.search.sort_key`): the
    #: FTS5 rowid on SQLite, an indexed column on PostgreSQL, so newest-first is index order.
    sort_key: Mapped[int] = mapped_column(BigInteger, index=True)
    #: Whether this is its document's latest version (kept by :func:`storage.search.mark_latest`),
    #: so a search of current reports needs no join to decide it.
    latest: Mapped[bool] = mapped_column(Boolean, default=True)
    #: How many index tokens the version produced (title + body + attachment text).
    tokens: Mapped[int] = mapped_column(default=0)
    #: The attachments whose extracted text was indexed with the version (their text is
    #: content-addressed, so the indexed tokens can be recomputed to take them out again).
    attachment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    indexed_at: Mapped[datetime] = mapped_column(default=utcnow)
    tsv: Mapped[str | None] = mapped_column(TsvectorType)
    #: The document's site and the version's report year, copied here so that the site and
    #: year filters are checked on the entry (and walked by their indexes) without a join.
    site_id: Mapped[int | None] = mapped_column(BigInteger)
    report_year: Mapped[int | None] = mapped_column()
    #: PostgreSQL: one bit per lexeme of ``tsv`` (:func:`storage.search.signature`), tested
    #: before the tsvector itself is read; NULL on SQLite.
    sig: Mapped[str | None] = mapped_column(SignatureType)

    def __repr__(self) -> str:
        return f"<SearchEntry version={self.version_id} document={self.document_id}>"


def is_fts_table(name: str | None) -> bool:
    """True for the SQLite FTS5 table and its shadow tables."""
    if not name:
        return False
    return name == FTS_TABLE or name.startswith(FTS_TABLE + "_")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic ``include_name`` hook: skip the FTS5 tables, which the models cannot describe."""
    return not (type_ == "table" and is_fts_table(name))
