"""Relevance: BM25 scores of the rank window, computed from the reports' text.

Relevance ranks the :data:`RANK_WINDOW` most recently published matches (both backends read
them newest first from the index), so a word found in every report costs no more than a rare
one. The scores are the same on SQLite and PostgreSQL: neither FTS5's bm25() nor ts_rank is used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.orm import Session

from storage.models import Version
from storage.search.filters import id_chunks
from storage.search.tokens import SEGMENT

__all__ = ["RANK_WINDOW", "ranked"]

#: Relevance ranks this many of the most recently published matches (all when fewer match):
#: enough for several pages of results, and what keeps a word found in every report cheap.
RANK_WINDOW = 200


def ranked(
    session: Session, window: Sequence[tuple[int, int]], query: str, limit: int, offset: int
) -> list[tuple[int, int, float | None]]:
    """One page of the rank window, best first (newest first among equals)."""
    scores = _window_scores(session, [version_id for version_id, _ in window], query)
    ordered = sorted(((vid, key, scores.get(vid, 0.0)) for vid, key in window), key=lambda row: (row[2], row[1]), reverse=True)
    return list(ordered[offset : offset + limit + 1])


#: BM25 parameters and the title's weight against the body (as in most search engines).
_BM25_K1 = 1.2
_BM25_B = 0.75
_TITLE_WEIGHT = 5


def _window_scores(session: Session, version_ids: Sequence[int], query: str) -> dict[int, float]:
    """BM25 scores of the rank window's versions for the query's segments, from their text.

    Term frequency is a segment's occurrences in the title (weighted 5) and the body; document
    frequency and average length are taken over the window, whose reports all match the query.
    The database counts the occurrences (``length`` minus the length without them), so only
    numbers come back, not half a million characters of text.
    """
    needles = list(dict.fromkeys(segment for segment in SEGMENT.findall(query.lower())))
    if not needles:
        return {}
    # Chinese has no case: lower-casing the texts is skipped when no needle has a cased letter.
    cased = any(needle != needle.upper() for needle in needles)
    title = func.lower(Version.title) if cased else Version.title
    body = func.lower(Version.body_text) if cased else Version.body_text

    def occurrences(column: Any, index: int, needle: str) -> Any:
        needle_param: BindParameter[str] = bindparam(f"needle_{index}", needle)
        removed = func.length(func.replace(func.coalesce(column, ""), needle_param, ""))
        return (func.length(func.coalesce(column, "")) - removed) / len(needle)

    columns = [Version.id, func.length(func.coalesce(title, "")), func.length(func.coalesce(body, ""))]
    for index, needle in enumerate(needles):
        columns += [occurrences(title, index, needle), occurrences(body, index, needle)]
    rows: list[Any] = []
    for chunk in id_chunks(version_ids):
        rows += session.execute(select(*columns).where(Version.id.in_(chunk))).all()
    if not rows:
        return {}
    lengths = {row[0]: _TITLE_WEIGHT * row[1] + row[2] for row in rows}
    average = max(1.0, sum(lengths.values()) / len(lengths))
    scores = dict.fromkeys(lengths, 0.0)
    for index in range(len(needles)):
        frequencies = {row[0]: _TITLE_WEIGHT * int(row[3 + 2 * index]) + int(row[4 + 2 * index]) for row in rows}
        holding = sum(1 for tf in frequencies.values() if tf)
        idf = math.log(1 + (len(rows) - holding + 0.5) / (holding + 0.5))
        for vid, tf in frequencies.items():
            norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * lengths[vid] / average)
            scores[vid] += idf * tf * (_BM25_K1 + 1) / (tf + norm)
    return scores

