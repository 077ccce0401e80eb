"""What a search is restricted to: :class:`SearchFilters` and the SQL pieces both backends use.

The latest-version check and the site and year filters are columns of the search entry
(:func:`entry_conditions`), and the site and year also index facets (:func:`facet_groups`);
the rest needs the version, document and site rows (:func:`joined_filters`, :func:`with_joins`).
A section filter is checked after the index, on the candidates' text (:func:`section_keep`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from storage.models import Document, SearchEntry, Site, Version
from storage.search.tokens import MAX_FACET_YEARS, Phrase, phrases_in
from storage.sections import SectionFilter

__all__ = [
    "Keep",
    "SearchFilters",
    "entry_conditions",
    "facet_groups",
    "filter_site_ids",
    "id_chunks",
    "joined_filters",
    "section_keep",
    "with_joins",
]


@dataclass(frozen=True)
class SearchFilters:
    """Search filters; None means "any". Dates are ISO ``YYYY-MM-DD`` strings."""

    sites: tuple[str, ...] = ()
    region: str | None = None
    level: str | None = None
    year: int | None = None
    year_from: int | None = None
    year_to: int | None = None
    publisher: str | None = None
    published_from: str | None = None
    published_to: str | None = None
    has_tables: bool | None = None
    image_only: bool | None = None
    #: Only hits inside this section of the text (storage.sections: a key such as ``problems``
    #: or heading words such as ``问题``); checked on the candidates' stored text.
    section: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def id_chunks(ids: Sequence[int], size: int = 10_000) -> Iterable[Sequence[int]]:
    """``ids`` in lists short enough for one ``IN (...)`` (SQLite binds at most 32,766 values)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def joined_filters(filters: SearchFilters) -> list[Any]:
    """The filters the search entry cannot answer (site attributes, document fields, flags);
    site and year are the entry's own columns (:func:`entry_conditions`)."""
    clauses: list[Any] = []
    if filters.region:
        clauses.append(Site.region.contains(filters.region, autoescape=True))
    if filters.level:
        clauses.append(Site.level == filters.level)
    if filters.publisher:
        clauses.append(Document.publisher.contains(filters.publisher, autoescape=True))
    if filters.published_from:
        clauses.append(Document.pub_date >= filters.published_from)
    if filters.published_to:
        clauses.append(Document.pub_date <= filters.published_to)
    if filters.has_tables is not None:
        clauses.append(Version.has_tables.is_(filters.has_tables))
    if filters.image_only is not None:
        clauses.append(Version.image_only.is_(filters.image_only))
    return clauses


def entry_conditions(filters: SearchFilters, site_ids: Sequence[int], all_versions: bool) -> list[Any]:
    """The latest-version check and the site and year filters, on the search entry itself."""
    entry = SearchEntry.__table__
    conditions: list[Any] = []
    if not all_versions:
        conditions.append(entry.c.latest.is_(True))
    if site_ids:
        conditions.append(entry.c.site_id.in_(site_ids))
    if filters.year is not None:
        conditions.append(entry.c.report_year == int(filters.year))
    if filters.year_from is not None:
        conditions.append(entry.c.report_year >= int(filters.year_from))
    if filters.year_to is not None:
        conditions.append(entry.c.report_year <= int(filters.year_to))
    return conditions


def with_joins(stmt: Select[Any], joined: Sequence[Any]) -> Select[Any]:
    """``stmt`` on the search entries, joined to version, document and site for ``joined``."""
    if not joined:
        return stmt
    entry = SearchEntry.__table__
    stmt = stmt.join(Version, Version.id == entry.c.version_id).join(Document, Document.id == Version.document_id)
    stmt = stmt.join(Site, Site.id == Document.site_id)
    for clause in joined:
        stmt = stmt.where(clause)
    return stmt


def filter_site_ids(session: Session, filters: SearchFilters) -> list[int] | None:
    """The ids of the sites a filter names ([] without a site filter; None: it names no known site)."""
    if not filters.sites:
        return []
    ids = sorted(session.scalars(select(Site.id).where(Site.key.in_(list(filters.sites)))).all())
    return ids or None


def facet_groups(filters: SearchFilters, site_ids: Sequence[int]) -> list[list[str]] | None:
    """The site and year filters as index facets (None: an empty year range).

    The index then intersects them with the words, so a narrow filter costs no more than the
    rows it keeps; the same filters are also checked on the rows.
    """
    groups: list[list[str]] = []
    if site_ids:
        groups.append([f"s{site_id}" for site_id in site_ids])
    if filters.year is not None:
        groups.append([f"y{int(filters.year)}"])
    elif filters.year_from is not None and filters.year_to is not None:
        years = range(int(filters.year_from), int(filters.year_to) + 1)
        if not years:
            return None
        if len(years) <= MAX_FACET_YEARS:
            groups.append([f"y{year}" for year in years])
    return groups


# --- section filter ---------------------------------------------------------------------------

#: Keeps the rows (version_id first) whose version passes a post-filter, in their order.
Keep = Callable[[list[Any]], list[Any]]


def section_keep(session: Session, phrases: Sequence[Phrase], section: SectionFilter) -> Keep:
    """The post-filter of a ``section`` search: a candidate is kept when every phrase occurs
    inside one asked-for section of its text.

    Only the candidates the index found are read (their section offsets first, then the text of
    those that have such a section), with the ids as bound parameters. The phrases are checked
    on the section's index tokens, so a hit means what it means to the index (case, spaces
    between CJK and Latin words, the prefix of a 1-character query).
    """

    def keep(rows: list[Any]) -> list[Any]:
        if not rows:
            return rows
        ids = list(dict.fromkeys(row[0] for row in rows))
        wanted: dict[int, Any] = {}
        for chunk in id_chunks(ids, 1000):
            for version_id, sections in session.execute(
                select(Version.id, Version.sections).where(Version.id.in_(list(chunk)))
            ):
                if sections and any(isinstance(s, dict) and section.matches(s) for s in sections):
                    wanted[version_id] = sections
        kept: set[int] = set()
        for chunk in id_chunks(list(wanted), 200):
            for version_id, body in session.execute(
                select(Version.id, Version.body_text).where(Version.id.in_(list(chunk)))
            ):
                body = body or ""
                if any(phrases_in(body[start:end], phrases) for start, end in section.spans(wanted[version_id], len(body))):
                    kept.add(version_id)
        return [row for row in rows if row[0] in kept]

    return keep
