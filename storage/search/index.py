"""Writing the search index: one entry per version, written once, refreshed for attachments.

On SQLite each entry is a row of the contentless FTS5 table :data:`FTS5_DDL` (rowid =
:func:`sort_key`) plus its :class:`~storage.models.SearchEntry`; on PostgreSQL the entry carries
the tsvector and the lexeme signature (:mod:`storage.search.tokens`). A contentless FTS5 row is
taken out by handing back the tokens it was written with, which are recomputed from the
version's immutable text and the attachments recorded on its entry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, delete, select, text, update
from sqlalchemy.orm import Session

from storage.models import (
    FTS_TABLE,
    SIGNATURE_BITS,
    Attachment,
    AttachmentLink,
    Document,
    SearchEntry,
    Version,
    utcnow,
)
from storage.search.filters import id_chunks
from storage.search.tokens import (
    facet_tokens,
    index_tokens,
    lexeme_positions,
    signature,
    tsvector_text,
)

__all__ = [
    "FTS5_DDL",
    "ID_MASK",
    "BulkRow",
    "index_new_version",
    "index_rows",
    "mark_latest",
    "refresh_attachments",
    "reindex_missing",
    "reindex_version",
    "remove_entries",
    "sort_key",
]

FTS5_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    "title, body, attachments, facets, content='', tokenize='unicode61 remove_diacritics 0')"
)
_EPOCH = date(1900, 1, 1)
_ID_BITS = 32
#: The version id's bits of a :func:`sort_key` (the SQLite search reads ids off FTS5 rowids).
ID_MASK = (1 << _ID_BITS) - 1


@dataclass(frozen=True)
class _Indexed:
    title: list[str]
    body: list[str]
    attachments: list[str]
    attachment_ids: list[int]
    facets: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.title) + len(self.body) + len(self.attachments)


def _attachment_texts(session: Session, version_id: int, only: Sequence[int] | None = None) -> tuple[list[int], list[str]]:
    """(ids, texts) of the version's attachments with extracted text."""
    stmt = (
        select(Attachment.id, Attachment.text)
        .join(AttachmentLink, AttachmentLink.attachment_id == Attachment.id)
        .where(AttachmentLink.version_id == version_id, Attachment.text.is_not(None))
        .order_by(Attachment.id)
        .distinct()
    )
    if only is not None:
        if not only:
            return [], []
        stmt = (
            select(Attachment.id, Attachment.text)
            .where(Attachment.id.in_(list(only)), Attachment.text.is_not(None))
            .order_by(Attachment.id)
        )
    rows = session.execute(stmt).all()
    return [row[0] for row in rows], [row[1] or "" for row in rows]


def _tokens_of(
    session: Session, row: Any, attachment_ids: Sequence[int] | None = None
) -> _Indexed:
    """Tokens of a version row (id, site_id, report_year, title, body_text) and its attachments."""
    ids, texts = _attachment_texts(session, row.id, attachment_ids)
    return _Indexed(
        title=index_tokens(row.title),
        body=index_tokens(row.body_text),
        attachments=[token for text_ in texts for token in index_tokens(text_)],
        attachment_ids=ids,
        facets=facet_tokens(row.site_id, row.report_year),
    )


def _version_row(session: Session, version_id: int) -> Any:
    return session.execute(
        select(
            Version.id, Version.document_id, Document.site_id, Version.report_year, Version.pub_date,
            Version.title, Version.body_text,
        )
        .join(Document, Document.id == Version.document_id)
        .where(Version.id == version_id)
    ).one_or_none()


def sort_key(version_id: int, pub_date: str | None) -> int:
    """The version's place in date order: days since 1900 of its publication date, then its id.

    ``days << 32 | version_id``: on SQLite this is the FTS5 rowid, so FTS5 yields matches newest
    first by itself and a date-sorted or rank-windowed search stops after a page; on PostgreSQL
    an indexed column serves the same. Undated versions sort as oldest.
    """
    days = 0
    if pub_date:
        try:
            days = max(0, (date.fromisoformat(pub_date) - _EPOCH).days + 1)
        except ValueError:
            days = 0
    return (days << _ID_BITS) | (version_id & ID_MASK)


@dataclass(frozen=True)
class _Entry:
    version_id: int
    document_id: int
    pub_date: str | None
    indexed: _Indexed
    latest: bool = True
    site_id: int | None = None
    report_year: int | None = None

    @property
    def key(self) -> int:
        return sort_key(self.version_id, self.pub_date)


def _entry_of(session: Session, row: Any, latest: bool) -> _Entry:
    """The index entry of a version row (id, document_id, site_id, report_year, pub_date, ...)."""
    return _Entry(
        row.id, row.document_id, row.pub_date, _tokens_of(session, row), latest,
        site_id=row.site_id, report_year=row.report_year,
    )



def _write_many(session: Session, entries: Sequence[_Entry]) -> None:
    """Insert index rows and their search entries (all values as bound parameters)."""
    if not entries:
        return
    now = utcnow()
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text(f"INSERT INTO {FTS_TABLE}(rowid, title, body, attachments, facets) VALUES (:id, :t, :b, :a, :f)"),
            [{"id": e.key, **_fts_values(e.indexed)} for e in entries],
        )
        session.execute(
            cast(Table, SearchEntry.__table__).insert(),  # a mapped class's __table__ is its Table
            [
                {"version_id": e.version_id, "document_id": e.document_id, "sort_key": e.key, "latest": e.latest,
                 "tokens": e.indexed.count, "attachment_ids": e.indexed.attachment_ids, "indexed_at": now,
                 "site_id": e.site_id, "report_year": e.report_year}
                for e in entries
            ],
        )
        return
    # PostgreSQL: the tsvector goes in as its text form, cast by the server; execute_values
    # sends the batch in a few statements instead of one round trip per row.
    from psycopg2.extras import execute_values

    rows = []
    for e in entries:
        # One pass over the tokens serves both: the tsvector's lexemes are the signature's.
        positions = lexeme_positions([e.indexed.title, e.indexed.body, e.indexed.attachments, e.indexed.facets])
        rows.append((e.version_id, e.document_id, e.key, e.latest, e.indexed.count, json.dumps(e.indexed.attachment_ids),
                     now, e.site_id, e.report_year, tsvector_text(positions), signature(positions)))
    dbapi_connection = session.connection().connection.dbapi_connection
    assert dbapi_connection is not None  # a checked-out connection holds its DB-API connection
    cursor = dbapi_connection.cursor()
    try:
        execute_values(
            cursor,
            "INSERT INTO search_entries"
            " (version_id, document_id, sort_key, latest, tokens, attachment_ids, indexed_at, site_id, report_year, tsv, sig)"
            " VALUES %s",
            rows,
            template=f"(%s, %s, %s, %s, %s, %s::json, %s, %s, %s, %s::tsvector, %s::bit({SIGNATURE_BITS}))",
            page_size=500,
        )
    finally:
        cursor.close()


def _fts_values(indexed: _Indexed) -> dict[str, str]:
    return {
        "t": " ".join(indexed.title),
        "b": " ".join(indexed.body),
        "a": " ".join(indexed.attachments),
        "f": " ".join(indexed.facets),
    }


class BulkRow(NamedTuple):
    """One new version for :func:`index_rows`."""

    id: int
    document_id: int
    site_id: int
    report_year: int | None
    pub_date: str | None
    title: str | None
    body_text: str | None


def index_rows(session: Session, rows: Sequence[BulkRow]) -> None:
    """Index many new versions at once (bulk loads: the benchmark, imports).

    Attachment text is not looked up.
    """
    _write_many(
        session,
        [
            _Entry(
                r.id, r.document_id, r.pub_date,
                _Indexed(index_tokens(r.title), index_tokens(r.body_text), [], [], facet_tokens(r.site_id, r.report_year)),
                site_id=r.site_id, report_year=r.report_year,
            )
            for r in rows
        ],
    )


def index_new_version(session: Session, version: Version, site_id: int) -> None:
    """Index one version the current transaction has just inserted (see :func:`index_new_versions`)."""
    index_new_versions(session, [(version, site_id)])


def index_new_versions(session: Session, versions: Sequence[tuple[Version, int]]) -> None:
    """Index versions the current transaction has just inserted, from the objects in hand, in
    one multi-row write (a batch of :func:`storage.report_batch.record_reports`).

    Such a version has no index entry and no attachment links yet (attachments are linked to a
    document's latest version, which it becomes only afterwards), and it is its document's
    latest only when it is the first (a later one is flagged by :func:`mark_latest` once the
    document points to it). So nothing needs looking up.
    """
    _write_many(
        session,
        [
            _Entry(version.id, version.document_id, version.pub_date,
                   _Indexed(index_tokens(version.title), index_tokens(version.body_text), [], [],
                            facet_tokens(site_id, version.report_year)),
                   version.number == 1, site_id=site_id, report_year=version.report_year)
            for version, site_id in versions
        ],
    )


def reindex_version(session: Session, version_id: int) -> None:
    """Index the version again, e.g. after its attachments' text was extracted.

    The old tokens are recomputed from the version's (immutable) title, body, site and year and
    the attachments recorded on its entry, which is what FTS5 needs to take a contentless row out.
    """
    row = _version_row(session, version_id)
    if row is None:
        return
    entry = session.get(SearchEntry, version_id)
    latest = entry.latest if entry is not None else _is_latest(session, row.document_id, version_id)
    if entry is not None:
        if session.get_bind().dialect.name == "sqlite":
            old = _tokens_of(session, row, list(entry.attachment_ids or []))
            session.execute(
                text(
                    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body, attachments, facets)"
                    " VALUES ('delete', :id, :t, :b, :a, :f)"
                ),
                {"id": entry.sort_key, **_fts_values(old)},
            )
        session.delete(entry)
        session.flush()
    _write_many(session, [_entry_of(session, row, latest)])


def remove_entries(session: Session, version_ids: Sequence[int]) -> None:
    """Take versions out of the index (their entries, and on SQLite their FTS5 rows), before the
    versions themselves go (migration 0008 merging duplicate documents).

    As in :func:`reindex_version`, a contentless FTS5 row is deleted by handing back the tokens
    it was written with, recomputed from the version and the attachments on its entry. Only
    named columns are read, so a migration can call this under a later schema's models.
    """
    ids = list(dict.fromkeys(version_ids))
    if not ids:
        return
    if session.get_bind().dialect.name == "sqlite":
        for version_id in ids:
            entry = session.execute(
                select(SearchEntry.sort_key, SearchEntry.attachment_ids).where(SearchEntry.version_id == version_id)
            ).one_or_none()
            row = _version_row(session, version_id)
            if entry is None or row is None:
                continue
            old = _tokens_of(session, row, list(entry.attachment_ids or []))
            session.execute(
                text(
                    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body, attachments, facets)"
                    " VALUES ('delete', :id, :t, :b, :a, :f)"
                ),
                {"id": entry.sort_key, **_fts_values(old)},
            )
    for chunk in id_chunks(ids):
        session.execute(
            delete(SearchEntry).where(SearchEntry.version_id.in_(list(chunk))).execution_options(synchronize_session=False)
        )


def _is_latest(session: Session, document_id: int, version_id: int) -> bool:
    return session.scalar(select(Document.latest_version_id).where(Document.id == document_id)) == version_id


def mark_latest(session: Session, document_id: int, version_id: int) -> None:
    """Flag ``version_id`` as the document's latest version in the index (and no other)."""
    session.execute(
        update(SearchEntry)
        .where(SearchEntry.document_id == document_id)
        .values(latest=SearchEntry.version_id == version_id)
        # No SearchEntry objects are kept in sessions between statements (entries are written
        # with core inserts), so there is nothing to synchronize: saves a SELECT per call.
        .execution_options(synchronize_session=False)
    )


def refresh_attachments(session: Session, version_id: int) -> bool:
    """Re-index the version if its attachments with text changed since it was indexed.

    Called when an attachment is linked to a version (:func:`storage.attachments.link_attachment`),
    since attachment files are fetched and read after their report is recorded. True if it did.
    """
    entry = session.get(SearchEntry, version_id)
    if entry is None:
        return False
    current, _ = _attachment_texts(session, version_id)
    if sorted(current) == sorted(entry.attachment_ids or []):
        return False
    reindex_version(session, version_id)
    return True


def reindex_missing(session: Session, batch: int = 500) -> int:
    """Index every version that has no search entry yet (the migration's backfill); the count."""
    done = 0
    while True:
        rows = session.execute(
            select(
                Version.id, Version.document_id, Document.site_id, Document.latest_version_id, Version.report_year,
                Version.pub_date, Version.title, Version.body_text,
            )
            .join(Document, Document.id == Version.document_id)
            .outerjoin(SearchEntry, SearchEntry.version_id == Version.id)
            .where(SearchEntry.version_id.is_(None))
            .order_by(Version.id)
            .limit(batch)
        ).all()
        if not rows:
            return done
        _write_many(
            session,
            [
                _entry_of(session, row, row.latest_version_id == row.id)
                for row in rows
            ],
        )
        done += len(rows)
        session.flush()
