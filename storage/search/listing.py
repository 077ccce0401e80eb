"""Reports without a query: the archive listed by its filters, newest first, with a total count.

A search needs words (:func:`~storage.search.query.search` finds nothing without them); browsing
needs the opposite: every report of a site, a region, a level or a range of years, in order,
and how many there are. :func:`list_reports` answers that from the document, its latest version
and its site with plain indexed columns, the same :class:`SearchFilters` a search takes (the
section filter is about where query words occur, so it has nothing to narrow here), every value
a bound parameter, and one ``count(*)`` with the same conditions for the total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from storage.models import Document, Site, Version
from storage.search.filters import SearchFilters, joined_filters

__all__ = ["LISTING_ORDERS", "ListedReport", "ReportListing", "list_reports"]

# newest / oldest: by publication date (undated reports last); archived: newest first seen first;
# changed: the newest latest version first (a report whose page changed comes to the top).
LISTING_ORDERS = ("newest", "oldest", "archived", "changed")


@dataclass(frozen=True)
class ListedReport:
    """One report as a list shows it: its latest version's number, not its text."""

    document_id: int
    version_id: int
    version_number: int
    site_key: str
    site_name: str
    region: str
    level: str
    title: str | None
    report_year: int | None
    publisher: str | None
    pub_date: str | None
    url: str
    first_seen_at: datetime
    version_seen_at: datetime  # when the latest version was first archived


@dataclass(frozen=True)
class ReportListing:
    reports: list[ListedReport]
    total: int  # every report the filters keep, not only this page's
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.reports) < self.total


def _conditions(filters: SearchFilters, changed_since: datetime | None) -> list[Any]:
    conditions: list[Any] = list(joined_filters(filters))
    if filters.sites:
        conditions.append(Site.key.in_(list(filters.sites)))
    if filters.year is not None:
        conditions.append(Document.report_year == int(filters.year))
    if filters.year_from is not None:
        conditions.append(Document.report_year >= int(filters.year_from))
    if filters.year_to is not None:
        conditions.append(Document.report_year <= int(filters.year_to))
    if changed_since is not None:  # a later version of a report archived before: it changed
        conditions.extend([Version.number > 1, Version.first_seen_at >= changed_since])
    return conditions


# Any number of columns: a count, or the listed fields.
AnyColumns = Select[*tuple[Any, ...]]


def _joined(stmt: AnyColumns, conditions: list[Any]) -> AnyColumns:
    """``stmt`` over each document's latest version and its site, with ``conditions``."""
    stmt = stmt.join(Version, Version.id == Document.latest_version_id).join(Site, Site.id == Document.site_id)
    return stmt.where(*conditions)


def _ordering(order: str) -> tuple[Any, ...]:
    if order == "oldest":
        return (Document.pub_date.asc().nulls_last(), Document.id.asc())
    if order == "archived":
        return (Document.first_seen_at.desc(), Document.id.desc())
    if order == "changed":
        return (Version.first_seen_at.desc(), Document.id.desc())
    return (Document.pub_date.desc().nulls_last(), Document.id.desc())


def list_reports(
    session: Session,
    filters: SearchFilters | None = None,
    *,
    order: str = "newest",
    limit: int = 20,
    offset: int = 0,
    changed_since: datetime | None = None,
) -> ReportListing:
    """One page of the reports ``filters`` keep (each document once, as its latest version), in
    ``order`` (:data:`LISTING_ORDERS`), with the total count; ``changed_since`` keeps only
    reports that got a new version at or after that moment."""
    if order not in LISTING_ORDERS:
        raise ValueError(f"order must be one of {', '.join(LISTING_ORDERS)} (got {order!r})")
    filters = filters or SearchFilters()
    limit = max(1, int(limit))
    offset = max(0, int(offset))
    conditions = _conditions(filters, changed_since)
    total = session.scalar(_joined(select(func.count()).select_from(Document), conditions)) or 0
    # Labelled as ListedReport's fields: each row becomes one by name.
    columns: AnyColumns = select(
        Document.id.label("document_id"), Version.id.label("version_id"),
        Version.number.label("version_number"), Site.key.label("site_key"), Site.name.label("site_name"),
        Site.region, Site.level, Document.title, Document.report_year, Document.publisher,
        Document.pub_date, Document.url, Document.first_seen_at, Version.first_seen_at.label("version_seen_at"),
    ).select_from(Document)
    rows = session.execute(
        _joined(columns, conditions)
        .order_by(*_ordering(order))
        .limit(limit)
        .offset(offset)
    ).all()
    reports = [ListedReport(**row._asdict()) for row in rows]
    return ReportListing(reports=reports, total=int(total), offset=offset, limit=limit)
