"""The search entry point: :func:`search` and the pages and hits it returns.

A query is reduced to phrases of index tokens (:mod:`storage.search.tokens`), the filters to
entry conditions, joins and index facets (:mod:`storage.search.filters`); the backend's query
path (:mod:`storage.search.sqlite`, :mod:`storage.search.postgres`) finds one page of matches,
ranked by :mod:`storage.search.rank`, and each hit gets its snippet (:mod:`storage.search.snippets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from storage.models import Document, Site, Version
from storage.search.filters import (
    SearchFilters,
    entry_conditions,
    facet_groups,
    filter_site_ids,
    joined_filters,
    section_keep,
)
from storage.search.postgres import postgres_rows
from storage.search.snippets import (
    SNIPPET_WIDTH,
    highlight,
    highlight_pattern,
    snippet,
    snippet_source,
)
from storage.search.sqlite import sqlite_rows
from storage.search.tokens import query_phrases
from storage.sections import SectionFilter, parse_section_filter

__all__ = ["SORTS", "SearchFilters", "SearchHit", "SearchPage", "search"]

SORTS = ("relevance", "date", "date_asc")


@dataclass
class SearchHit:
    document_id: int
    version_id: int
    version_number: int
    site_key: str
    site_name: str
    region: str
    title: str | None
    report_year: int | None
    publisher: str | None
    pub_date: str | None
    url: str
    score: float | None
    title_segments: list[tuple[str, bool]] = field(default_factory=list)
    snippet: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def snippet_text(self) -> str:
        return "".join(part for part, _ in self.snippet)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.document_id,
            "version_id": self.version_id,
            "version": self.version_number,
            "site": self.site_key,
            "site_name": self.site_name,
            "region": self.region,
            "report_year": self.report_year,
            "publisher": self.publisher,
            "pub_date": self.pub_date,
            "title": self.title,
            "score": self.score,
            "snippet": self.snippet_text,
            "highlights": [part for part, hit in self.snippet if hit],
            "url": self.url,
        }


@dataclass
class SearchPage:
    hits: list[SearchHit]
    offset: int
    limit: int
    has_more: bool


def search(
    session: Session,
    query: str | None,
    filters: SearchFilters | None = None,
    *,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    all_versions: bool = False,
    snippet_width: int = SNIPPET_WIDTH,
) -> SearchPage:
    """One page of reports matching ``query``, best (or newest) first, with snippets.

    Relevance ranks the :data:`~storage.search.rank.RANK_WINDOW` most recently published matches; the date sorts
    follow the versions' publication dates. ``all_versions`` searches every archived version
    instead of each document's latest one. A query with no letters, digits or CJK characters
    finds nothing.

    A ``section`` filter keeps a version only when every phrase of the query occurs inside one
    of the asked-for sections of its text (``versions.sections`` offsets); the index still picks
    the candidates, and only those are read (:func:`~storage.search.filters.section_keep`). An
    unknown section name raises ``ValueError``.
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)} (got {sort!r})")
    section = parse_section_filter(filters.section) if filters is not None else None
    limit = max(1, int(limit))
    offset = max(0, int(offset))
    phrases = query_phrases(query)
    if not phrases:
        return SearchPage([], offset, limit, False)
    filters = filters or SearchFilters()
    site_ids = filter_site_ids(session, filters)
    facets = facet_groups(filters, site_ids) if site_ids is not None else None
    if site_ids is None or facets is None:
        return SearchPage([], offset, limit, False)
    conditions = entry_conditions(filters, site_ids, all_versions)
    joined = joined_filters(filters)
    keep = section_keep(session, phrases, section) if section is not None else None
    if session.get_bind().dialect.name == "sqlite":
        rows = sqlite_rows(
            session, query or "", phrases, facets, conditions, joined, sort=sort, limit=limit, offset=offset, keep=keep
        )
    else:
        rows = postgres_rows(
            session, query or "", phrases, facets, filters, conditions, joined, sort=sort, limit=limit, offset=offset,
            keep=keep,
        )
    has_more = len(rows) > limit
    rows = rows[:limit]
    hits = _load_hits(session, [(row[0], row[2]) for row in rows], query or "", snippet_width, section)
    return SearchPage(hits, offset, limit, has_more)


def _load_hits(
    session: Session, ranked: Sequence[tuple[int, float | None]], query: str, width: int,
    section: SectionFilter | None = None,
) -> list[SearchHit]:
    if not ranked:
        return []
    ids = [version_id for version_id, _ in ranked]
    rows = session.execute(
        select(Version, Document, Site)
        .join(Document, Document.id == Version.document_id)
        .join(Site, Site.id == Document.site_id)
        .where(Version.id.in_(ids))
        # only what a hit shows (not the tables JSON, nor columns of later migrations)
        .options(load_only(Version.id, Version.number, Version.body_text))
    ).all()
    by_id = {version.id: (version, document, site) for version, document, site in rows}
    stored_sections: dict[int, Any] = {}
    if section is not None:
        stored_sections = dict(session.execute(select(Version.id, Version.sections).where(Version.id.in_(ids))).all())
    pattern = highlight_pattern(query)
    hits = []
    for version_id, score in ranked:
        if version_id not in by_id:
            continue
        version, document, site = by_id[version_id]
        hits.append(
            SearchHit(
                document_id=document.id,
                version_id=version.id,
                version_number=version.number,
                site_key=site.key,
                site_name=site.name,
                region=site.region,
                title=document.title,
                report_year=document.report_year,
                publisher=document.publisher,
                pub_date=document.pub_date,
                url=document.url,
                score=float(score) if score is not None else None,
                title_segments=highlight(document.title or "", pattern),
                snippet=snippet(snippet_source(version, stored_sections.get(version.id), section, query), pattern, width),
            )
        )
    return hits

