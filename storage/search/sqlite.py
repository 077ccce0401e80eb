"""The SQLite query path: FTS5 yields matches newest first, filters are checked page by page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import column, select, table, text
from sqlalchemy.orm import Session

from storage.models import FTS_TABLE, SearchEntry
from storage.search.filters import Keep, id_chunks, with_joins
from storage.search.index import ID_MASK
from storage.search.rank import RANK_WINDOW, ranked
from storage.search.tokens import Phrase, fts5_query

__all__ = ["sqlite_rows"]


def sqlite_rows(
    session: Session,
    query: str,
    phrases: Sequence[Phrase],
    facets: Sequence[Sequence[str]],
    conditions: Sequence[Any],
    joined: Sequence[Any],
    *,
    sort: str,
    limit: int,
    offset: int,
    keep: Keep | None = None,
) -> list[tuple[int, int, float | None]]:
    """(version_id, sort_key, score) rows of one page on SQLite.

    FTS5 reads a MATCH in rowid (= sort key) order and stops when the caller stops, so the
    matches are taken from it alone, newest first, in pages (each page's latest-version check
    and filters are one query on the entries), until the page or the rank window is full. Joined
    into one statement with the filters, SQLite would collect and sort every match first: fine
    for a hundred thousand reports, seconds for a million. Relevance is scored here
    (:mod:`storage.search.rank`), not by FTS5's bm25(), which counts each phrase's matches in the
    whole index on every query.
    """
    needed = RANK_WINDOW if sort == "relevance" else offset + limit + 1
    descending = sort != "date_asc"
    fts = table(FTS_TABLE, column("rowid"))
    matches = select(fts.c.rowid).select_from(fts).where(_fts_match(phrases, facets))
    narrowing = bool(conditions) or bool(joined)
    found: list[tuple[int, int, float | None]] = []
    after: int | None = None
    page_size = max(needed, 64)
    while len(found) < needed:
        page = matches
        if after is not None:
            page = page.where(fts.c.rowid < after if descending else fts.c.rowid > after)
        page = page.order_by(fts.c.rowid.desc() if descending else fts.c.rowid.asc()).limit(page_size)
        rows: list[tuple[int, int, float | None]] = [(row[0] & ID_MASK, row[0], None) for row in session.execute(page)]
        if not rows:
            break
        after = rows[-1][1]
        exhausted = len(rows) < page_size
        if narrowing:
            kept = _kept_versions(session, [row[0] for row in rows], conditions, joined)
            rows = [row for row in rows if row[0] in kept]
        if keep is not None:
            rows = keep(rows)
        found.extend(rows)
        if exhausted:
            break
        # Filters that keep few rows: read further ahead next time.
        page_size = min(page_size * 4, _MAX_FTS_PAGE)
    found = found[:needed]
    if sort == "relevance" and found:
        return ranked(session, [(vid, key) for vid, key, _ in found], query, limit, offset)
    return found[offset : offset + limit + 1]


#: The most FTS5 rows one page of a filtered SQLite search reads at once.
_MAX_FTS_PAGE = 50_000


def _kept_versions(session: Session, version_ids: Sequence[int], conditions: Sequence[Any], joined: Sequence[Any]) -> set[int]:
    """Which of ``version_ids`` pass the entry conditions and the joined filters."""
    entry = SearchEntry.__table__
    kept: set[int] = set()
    for chunk in id_chunks(version_ids):
        stmt = select(entry.c.version_id).where(entry.c.version_id.in_(chunk), *conditions)
        kept.update(session.scalars(with_joins(stmt, joined)))
    return kept


def _fts_match(phrases: Sequence[Phrase], facets: Sequence[Sequence[str]] = ()) -> Any:
    return text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=fts5_query(phrases, facets))
