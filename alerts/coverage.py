"""The coverage grid: for each site and report year, was the report published, and when?

Each cell is one of

- ``not_due`` -- not found, and its due date (deadline plus grace) has not passed;
- ``on_time`` -- found, published on or before its due date;
- ``late`` -- found, published after its due date;
- ``missing`` -- not found, past its due date, and the site's latest crawl read the column's
  listing completely (every list page the column has was fetched) without finding it;
- ``unknown`` -- not found and its absence proves nothing: the site was never crawled, its
  latest crawl failed or stopped early, it was not crawled since the deadline, the listing was
  not read completely and the pages that were read do not reach back (or forward) to that year
  ("list page 2 not read (HTTP 404)"), or a listed report page of that year failed (404, 410,
  timeout) and has not been read since. A failed crawl never produces ``missing``.

Interrupted and abandoned crawls are not evidence at all: the latest crawl that counts is the
latest one that ran to its end (``ok`` or ``failed``).

A report's year comes from the archived document (the spider reads it from the page or the
title: ``2019年度``, full-width digits, Chinese numerals), else from its title, else from its
attachments' file names. Years run from the site's ``first_report_year`` (else its earliest
archived report) to the year before ``as_of``.

:func:`coverage_grid` is the API (the CLI and the web UI call it); it only reads.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.deadlines import DeadlineRule
from crawler.extract.years import report_year_from_title
from crawler.i18n import gettext as _
from storage.listing import ListingRecord
from storage.models import CrawlError, Document, Site, SiteCrawl, Version

__all__ = [
    "STATUSES",
    "CoverageCell",
    "CrawlEvidence",
    "coverage_grid",
    "latest_crawl",
    "report_year_of",
    "year_hints",
]

STATUSES = ("not_due", "on_time", "late", "missing", "unknown")
# A crawl that ended this way read the whole column.
COMPLETE_FINISH_REASONS = ("finished",)
# Site crawls that ran to their end; interrupted and abandoned ones say nothing about the site.
EVIDENCE_STATUSES = ("ok", "failed")


@dataclass(frozen=True)
class CoverageCell:
    """One site × report year."""

    site_key: str
    site_name: str
    report_year: int
    status: str  # one of STATUSES
    due: date  # deadline plus grace
    published: date | None = None
    document_id: int | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["due"] = self.due.isoformat()
        data["published"] = self.published.isoformat() if self.published else None
        return data


@dataclass(frozen=True)
class CrawlEvidence:
    """What a site's latest finished crawl can prove."""

    site_crawl: SiteCrawl | None
    list_errors: tuple[CrawlError, ...] = ()
    report_errors: tuple[CrawlError, ...] = ()

    def blocker(self, due: date, year: int) -> str | None:
        """Why the absence of ``year``'s report (due on ``due``) proves nothing; None when it does."""
        crawl = self.site_crawl
        if crawl is None:
            return _("site never crawled")
        if crawl.status == "failed":
            reason = self.list_errors[0].reason if self.list_errors else crawl.finish_reason
            return _("latest crawl failed (%(reason)s)", reason=reason)
        if crawl.finish_reason not in COMPLETE_FINISH_REASONS:
            return _("latest crawl stopped early (%(reason)s)", reason=crawl.finish_reason)
        if crawl.listing_complete is None:
            # Recorded before crawls kept their listing: any failed list page makes it partial.
            if self.list_errors:
                return _("%(count)d list page(s) failed in the latest crawl", count=len(self.list_errors))
        elif not crawl.listing_complete and not self._covered(year):
            return self.listing_problem() or _("the listing was not read completely")
        finished = crawl.finished_at.date() if crawl.finished_at else None
        if finished is None or finished <= due:
            return _("not crawled since the deadline")
        return None

    def _covered(self, year: int) -> bool:
        """Whether the part of an incomplete listing that was read spans ``year``: columns list
        newest first, so a year between the oldest and newest listed would have been seen."""
        crawl = self.site_crawl
        if crawl is None or crawl.listed_oldest_year is None or crawl.listed_newest_year is None:
            return False
        return crawl.listed_oldest_year <= year <= crawl.listed_newest_year

    def listing_problem(self) -> str | None:
        """What the latest crawl did not read of the column (None when it read it all)."""
        crawl = self.site_crawl
        if crawl is None or crawl.listing_complete is not False:
            return None
        return ListingRecord.from_json(crawl.listing).problem()


def latest_crawl(session: Session, site_id: int) -> CrawlEvidence:
    """The site's latest finished crawl and its failed pages."""
    crawl = session.scalars(
        select(SiteCrawl)
        .where(SiteCrawl.site_id == site_id, SiteCrawl.status.in_(EVIDENCE_STATUSES))
        .order_by(SiteCrawl.run_id.desc())
        .limit(1)
    ).first()
    if crawl is None:
        return CrawlEvidence(None)
    errors = session.scalars(
        select(CrawlError)
        .where(CrawlError.run_id == crawl.run_id, CrawlError.site_id == site_id)
        .order_by(CrawlError.id)
    ).all()
    return CrawlEvidence(
        crawl,
        tuple(e for e in errors if e.page_kind == "list"),
        # Report pages only: a refused attachment link says nothing about a missing report.
        tuple(e for e in errors if e.page_kind == "report"),
    )


_DATE_RUN = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:\d{2}){0,2}(?!\d)")


def year_hints(url: str) -> frozenset[int] | None:
    """Report years a failed report URL may stand for; None when the URL gives no clue.

    CMS paths carry the publication date (``/201401/t20140110_1011.htm``,
    ``/art/2018/3/15/art_…``), and a report is published in the year after the one it covers,
    so a date year Y hints at report years Y-1 and Y.
    """
    path = urlsplit(url).path
    years = {int(m.group(1)) for m in _DATE_RUN.finditer(path)}
    if not years:
        return None
    return frozenset(y for year in years for y in (year - 1, year))


def report_year_of(document: Document, attachments: Iterable[str] = ()) -> int | None:
    """The year a document reports on: stored, else from its title, else from attachment names."""
    if document.report_year:
        return document.report_year
    year = report_year_from_title(document.title)
    if year:
        return year
    for url in attachments:
        name = unquote(PurePosixPath(urlsplit(url).path).name)
        year = report_year_from_title(name)
        if year:
            return year
    return None


def _published(document: Document) -> date | None:
    if document.pub_date:
        try:
            return date.fromisoformat(document.pub_date)
        except ValueError:
            return None
    return None


def coverage_grid(
    session: Session, as_of: date, site_keys: Sequence[str] | None = None
) -> list[CoverageCell]:
    """Every (site, report year) cell as of ``as_of``, ordered by site key and year."""
    stmt = select(Site).order_by(Site.key)
    if site_keys:
        stmt = stmt.where(Site.key.in_(list(site_keys)))
    cells: list[CoverageCell] = []
    for site in session.scalars(stmt).all():
        cells.extend(site_coverage(session, site, as_of))
    return cells


def site_coverage(session: Session, site: Site, as_of: date) -> list[CoverageCell]:
    """One site's row of the grid."""
    config = {**(site.config or {}), "level": site.level}
    rule = DeadlineRule.from_config(config)
    by_year: dict[int, list[Document]] = defaultdict(list)
    documents = session.scalars(select(Document).where(Document.site_id == site.id)).all()
    for document in documents:
        attachments: list[str] = []
        if not document.report_year and document.latest_version_id:
            version = session.get(Version, document.latest_version_id)
            attachments = list(version.attachments) if version else []
        year = report_year_of(document, attachments)
        if year is not None:
            by_year[year].append(document)

    last_year = as_of.year - 1
    first_year = config.get("first_report_year") or (min(by_year) if by_year else last_year)
    evidence = latest_crawl(session, site.id)
    cells = []
    for year in range(first_year, last_year + 1):
        due = rule.due(year)
        found = by_year.get(year)
        if found:
            cells.append(_found_cell(site, year, due, found))
        else:
            cells.append(_absent_cell(site, year, due, as_of, evidence))
    return cells


def _found_cell(site: Site, year: int, due: date, documents: list[Document]) -> CoverageCell:
    dated = [(d, _published(d)) for d in documents]
    dated_only = [(d, p) for d, p in dated if p is not None]
    if dated_only:
        document, published = min(dated_only, key=lambda pair: pair[1])
        status = "on_time" if published <= due else "late"
        detail = "" if status == "on_time" else _("%(days)d day(s) after %(due)s", days=(published - due).days,
                                                   due=due.isoformat())
        return CoverageCell(site.key, site.name, year, status, due, published, document.id, detail)
    # No publication date on the page: the first time we saw it bounds it from above.
    document = min(documents, key=lambda d: d.first_seen_at)
    seen = document.first_seen_at.date()
    if seen <= due:
        return CoverageCell(site.key, site.name, year, "on_time", due, None, document.id,
                            _("no publication date; seen %(seen)s", seen=seen.isoformat()))
    return CoverageCell(site.key, site.name, year, "unknown", due, None, document.id,
                        _("found, but the page shows no publication date (first seen %(seen)s)", seen=seen.isoformat()))


def _absent_cell(site: Site, year: int, due: date, as_of: date, evidence: CrawlEvidence) -> CoverageCell:
    if as_of <= due:
        return CoverageCell(site.key, site.name, year, "not_due", due)
    blocker = evidence.blocker(due, year)
    if blocker is None:
        for error in evidence.report_errors:
            # The listed title's year when the listing gave one, else the URL's date hints.
            hints = {error.report_year} if error.report_year is not None else year_hints(error.url)
            if hints is None or year in hints:
                blocker = _("the listed report page failed (%(reason)s): %(url)s", reason=error.reason, url=error.url)
                break
    if blocker is not None:
        return CoverageCell(site.key, site.name, year, "unknown", due, detail=blocker)
    return CoverageCell(site.key, site.name, year, "missing", due,
                        detail=_("not published by %(due)s", due=due.isoformat()))
