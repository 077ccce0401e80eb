"""The PostgreSQL query path: a walk of the sort-key index or the GIN index, by lexeme shares.

Which way a query goes depends on how common the planner statistics say its words are
(:func:`_estimated_share`); :func:`postgres_rows` explains both ways.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from storage.models import SIGNATURE_BITS, SearchEntry
from storage.search.filters import Keep, SearchFilters, with_joins
from storage.search.rank import RANK_WINDOW, ranked
from storage.search.tokens import (
    FACET_MARK,
    MAX_FACET_YEARS,
    Phrase,
    signature,
    tsquery_literal,
)

__all__ = ["postgres_rows"]


def postgres_rows(
    session: Session,
    query: str,
    phrases: Sequence[Phrase],
    facets: Sequence[Sequence[str]],
    filters: SearchFilters,
    conditions: Sequence[Any],
    joined: Sequence[Any],
    *,
    sort: str,
    limit: int,
    offset: int,
    keep: Keep | None = None,
) -> list[tuple[int, int, float | None]]:
    """(version_id, sort_key, score) rows of one page on PostgreSQL.

    A GIN index knows which rows hold each bigram but neither where in the text (a phrase is
    checked on the row's tsvector, ~10 kB stored out of line) nor the rows' dates (a newest-first
    page needs every match first). A phrase found in a fifth of a million reports would cost
    200,000 tsvector reads. So a query is answered one of two ways, by how common the planner
    statistics say its rarest bigram is (:func:`_estimated_share`):

    - common: walk the sort-key index newest first (one site's or one year's entries through
      their own indexes), test each entry's lexeme signature (a bitwise AND on the row) and read
      the tsvector only where every query bit is set, until the page or the rank window is full:
      about ``needed / share`` cheap tests and ``needed`` tsvector reads;
    - rare: the GIN index finds the entries holding every query token (exact, no tsvector read),
      newest first, and the phrases are checked on their tsvectors in that order until enough
      match.

    With a section filter (``keep``) either way reads its candidates in pages and keeps those
    whose text has the phrases inside the section, until enough are kept.
    """
    needed = RANK_WINDOW if sort == "relevance" else offset + limit + 1
    tsquery = tsquery_literal(phrases, facets)
    share = _estimated_share(session, phrases)
    descending = sort != "date_asc"
    walk = descending and share is not None and needed / max(share, 1e-9) <= _MAX_WALK_ROWS
    # The planner's cost model does not charge for reading a tsvector, so it may prefer a scan
    # that tests every row's; these settings keep it on the index the strategy relies on.
    settings = _WALK_SETTINGS if walk else _GIN_SETTINGS
    for name, value in settings:
        session.execute(text(f"SET LOCAL {name} = {value}"))
    try:
        if walk:
            found = _walk_rows(session, conditions, joined, filters, tsquery, phrases, facets, needed, keep)
        else:
            found = _gin_rows(session, conditions, joined, tsquery, phrases, facets, needed, descending, keep)
        if sort != "relevance" or not found:
            return [(version_id, key, None) for version_id, key in found[offset : offset + limit + 1]]
        return ranked(session, found, query, limit, offset)
    finally:
        for name, _ in settings:
            session.execute(text(f"RESET {name}"))


#: The longest walk of the sort-key index worth taking (expected entries tested).
_MAX_WALK_ROWS = 60_000
_WALK_SETTINGS = (("enable_seqscan", "off"), ("enable_bitmapscan", "off"))
# A high operator cost makes a row filter look as dear as a tsvector read really is, so that
# the tsquery stays an index condition.
_GIN_SETTINGS = (("enable_seqscan", "off"), ("enable_indexscan", "off"), ("cpu_operator_cost", "1"))

def _walk_rows(
    session: Session,
    conditions: Sequence[Any],
    joined: Sequence[Any],
    filters: SearchFilters,
    tsquery: str,
    phrases: Sequence[Phrase],
    facets: Sequence[Sequence[str]],
    needed: int,
    keep: Keep | None = None,
) -> list[tuple[int, int]]:
    """The ``needed`` newest matches, walking the sort-key index with the signature test
    (with ``keep``, in pages of ``needed`` until that many are kept)."""
    entry = SearchEntry.__table__
    mask = signature(_required_lexemes(phrases, facets))
    bits = f"bit({SIGNATURE_BITS})"
    matches = text(
        f"CASE WHEN search_entries.sig IS NULL OR (search_entries.sig & CAST(:mask AS {bits})) = CAST(:mask AS {bits})"
        " THEN search_entries.tsv @@ CAST(:tsquery AS tsquery) ELSE false END"
    ).bindparams(mask=mask, tsquery=tsquery)
    stmt = select(entry.c.version_id, entry.c.sort_key).where(*conditions, matches)
    newest = _newest_in_years(session, filters)
    if newest is not None:
        # Reports of a year range are published after it: start the walk at their newest.
        stmt = stmt.where(entry.c.sort_key <= newest)
    stmt = with_joins(stmt, joined).order_by(entry.c.sort_key.desc())
    if keep is None:
        return [(row[0], row[1]) for row in session.execute(stmt.limit(needed))]
    found: list[tuple[int, int]] = []
    after: int | None = None
    while len(found) < needed:
        page = stmt if after is None else stmt.where(entry.c.sort_key < after)
        rows = [(row[0], row[1]) for row in session.execute(page.limit(needed))]
        if not rows:
            break
        after = rows[-1][1]
        found.extend(keep(rows))
        if len(rows) < needed:
            break
    return found[:needed]


def _newest_in_years(session: Session, filters: SearchFilters) -> int | None:
    """The newest sort key of a report-year range filter (one index probe per year), if any."""
    if filters.year is not None or filters.year_from is None or filters.year_to is None:
        return None
    years = range(int(filters.year_from), int(filters.year_to) + 1)
    if not years or len(years) > MAX_FACET_YEARS:
        return None
    entry = SearchEntry.__table__
    keys = [
        session.scalar(select(func.max(entry.c.sort_key)).where(entry.c.report_year == year)) for year in years
    ]
    present = [key for key in keys if key is not None]
    return max(present) if present else 0


def _gin_rows(
    session: Session,
    conditions: Sequence[Any],
    joined: Sequence[Any],
    tsquery: str,
    phrases: Sequence[Phrase],
    facets: Sequence[Sequence[str]],
    needed: int,
    descending: bool,
    keep: Keep | None = None,
) -> list[tuple[int, int]]:
    """The ``needed`` newest (or oldest) matches through the GIN index.

    The index answers "holds every token" exactly, so candidates come from it in pages without
    reading a tsvector; only a phrase needs its candidates' tsvectors, in page order. A section
    filter (``keep``) checks the phrases on the section's text instead, which is stricter than
    the tsvector (the phrase must be in the section), so no tsvector is read then.
    """
    entry = SearchEntry.__table__
    every_token = tsquery_literal([Phrase((token,), phrase.prefix and index == len(phrase.tokens) - 1)
                                   for phrase in phrases for index, token in enumerate(phrase.tokens)], facets)
    has_phrase = any(len(phrase.tokens) > 1 for phrase in phrases)
    candidates = select(entry.c.version_id, entry.c.sort_key).where(
        *conditions, entry.c.tsv.op("@@")(text("CAST(:tokens AS tsquery)").bindparams(tokens=every_token))
    )
    candidates = with_joins(candidates, joined)
    order = entry.c.sort_key.desc() if descending else entry.c.sort_key.asc()
    found: list[tuple[int, int]] = []
    page_size = needed * 2 if has_phrase else needed
    after: int | None = None
    while len(found) < needed:
        page = candidates
        if after is not None:
            page = page.where(entry.c.sort_key < after if descending else entry.c.sort_key > after)
        rows: list[tuple[int, int]] = [(row[0], row[1]) for row in session.execute(page.order_by(order).limit(page_size))]
        if not rows:
            break
        after = rows[-1][1]
        exhausted = len(rows) < page_size
        if keep is not None:
            rows = keep(rows)
        elif has_phrase:
            rows = _phrase_checked(session, rows, tsquery, needed - len(found))
        found.extend(rows)
        if exhausted:
            break
    return found[:needed]


def _phrase_checked(session: Session, rows: Sequence[tuple[int, int]], tsquery: str, wanted: int) -> list[tuple[int, int]]:
    """The rows (in their order) whose tsvector matches the full query, in small batches so that
    no more tsvectors are read than the ``wanted`` matches need (plus a batch)."""
    entry = SearchEntry.__table__
    matched: list[tuple[int, int]] = []
    at = 0
    while at < len(rows) and len(matched) < wanted:
        batch = rows[at : at + max(32, (wanted - len(matched)) * 5 // 4)]
        at += len(batch)
        ok = set(
            session.scalars(
                select(entry.c.version_id).where(
                    entry.c.version_id.in_([version_id for version_id, _ in batch]),
                    entry.c.tsv.op("@@")(text("CAST(:tsquery AS tsquery)").bindparams(tsquery=tsquery)),
                )
            )
        )
        matched.extend(row for row in batch if row[0] in ok)
    return matched[:wanted]


def _required_lexemes(phrases: Sequence[Phrase], facets: Sequence[Sequence[str]]) -> list[str]:
    """The lexemes every match must hold (a prefix token and OR groups of several do not count)."""
    lexemes = [
        token for phrase in phrases for index, token in enumerate(phrase.tokens)
        if not (phrase.prefix and index == len(phrase.tokens) - 1)
    ]
    lexemes += [FACET_MARK + group[0] for group in facets if len(group) == 1]
    return lexemes


#: Planner statistics of the index column are read at most this often per database (seconds).
_STATS_TTL = 300.0
_element_stats: dict[str, tuple[float, dict[str, float], float]] = {}


def _lexeme_shares(session: Session) -> tuple[dict[str, float], float] | None:
    """(share of rows holding each of the most common lexemes, the smallest such share) from
    PostgreSQL's statistics of ``search_entries.tsv`` (ANALYZE keeps them); None without any."""
    bind = session.get_bind()
    cache_key = str(bind.engine.url)  # a Connection's or an Engine's: the same database
    cached = _element_stats.get(cache_key)
    now = time.monotonic()
    if cached is None or now - cached[0] > _STATS_TTL:
        row = session.execute(
            text(
                "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats"
                " WHERE schemaname = current_schema() AND tablename = 'search_entries' AND attname = 'tsv'"
            )
        ).first()
        shares: dict[str, float] = {}
        floor = 0.0
        if row is not None and row[0] and row[1]:
            elements, freqs = list(row[0]), [float(f) for f in row[1]]
            # The frequencies end with three summary numbers: the minimum, the maximum and the
            # share of empty values.
            shares = dict(zip(elements, freqs[: len(elements)], strict=False))
            floor = freqs[len(elements)] if len(freqs) > len(elements) else min(shares.values(), default=0.0)
        cached = (now, shares, floor)
        _element_stats[cache_key] = cached
    _, shares, floor = cached
    return (shares, floor) if shares else None


def _estimated_share(session: Session, phrases: Sequence[Phrase]) -> float | None:
    """The share of index rows the query's words are expected to match, from the planner
    statistics (None: no statistics, or a word too rare to be among the most common lexemes).

    A phrase matches at most as often as its rarest token; phrases are taken as independent. A
    prefix token (``公:*``) may match anything, so it tells nothing.
    """
    stats = _lexeme_shares(session)
    if stats is None:
        return None
    shares, _floor = stats
    estimate = 1.0
    for phrase in phrases:
        tokens = phrase.tokens[:-1] if phrase.prefix else phrase.tokens
        if not tokens:
            continue
        known = [shares.get(token) for token in tokens]
        if any(share is None for share in known):
            return None  # rarer than every common lexeme: few rows match, the GIN index finds them
        estimate *= min(share for share in known if share is not None)
    return estimate
