"""Crawl health: a site's state from its run history.

After each crawl the monitor assesses every finished site crawl not assessed yet and stores a
:class:`~storage.models.CrawlHealth` row with the figures it used (pages, reports
found, reports without metadata, errors by reason). The newest row is the site's state:

- ``unreachable`` -- no list page of the column could be fetched;
- ``broken`` -- the listing yielded zero reports where earlier runs found some, or the share
  of report pages with no extracted metadata jumped (the template changed under us);
- ``ok`` -- neither.

A site never assessed is ``unknown``.

Only site crawls that ran to their end (``ok`` or ``failed``) are assessed. An ``interrupted``
crawl (Ctrl-C, SIGTERM, nianbao stopping the crawl because the archive could not be written) or
an ``abandoned`` one (its process died) says nothing about the site: it gets no verdict, raises
no alert, and the site's state stays what the last complete crawl made it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.i18n import gettext as _
from storage.health import record_health
from storage.listing import ListingState, listing_state
from storage.models import CrawlError, CrawlHealth, Document, Site, SiteCrawl

__all__ = ["ListingState", "SiteHealth", "assess_pending", "assess_site_crawl", "site_health", "site_listings"]

# A report page "has no metadata" when none of these fields was extracted.
METADATA_FIELDS = frozenset({"index_no", "publisher", "pub_date"})
# The metadata check needs a few reports, and a jump of at least this share, to call it broken.
MIN_REPORTS_FOR_SHARE = 3
SHARE_JUMP = 0.5


@dataclass(frozen=True)
class SiteHealth:
    site_key: str
    state: str  # ok | unreachable | broken | unknown
    reason: str | None
    since: datetime | None
    checked_at: datetime | None
    run_id: int | None


# The site-crawl statuses that are evidence about a site (interrupted and abandoned are not).
ASSESSED_STATUSES = ("ok", "failed")


def assess_pending(session: Session, site_ids: Sequence[int] | None = None) -> list[CrawlHealth]:
    """Assess every finished site crawl (of these sites) that has no health row yet, oldest first;
    interrupted and abandoned crawls are skipped (they are no evidence about their sites)."""
    stmt = (
        select(SiteCrawl)
        .outerjoin(CrawlHealth, CrawlHealth.site_crawl_id == SiteCrawl.id)
        .where(CrawlHealth.id.is_(None), SiteCrawl.status.in_(ASSESSED_STATUSES))
        .order_by(SiteCrawl.run_id, SiteCrawl.id)
    )
    if site_ids is not None:
        stmt = stmt.where(SiteCrawl.site_id.in_(list(site_ids)))
    return [assess_site_crawl(session, crawl) for crawl in session.scalars(stmt).all()]


def assess_site_crawl(session: Session, crawl: SiteCrawl) -> CrawlHealth:
    """Judge one finished site crawl against the site's earlier ones and store the verdict."""
    errors = session.scalars(
        select(CrawlError).where(CrawlError.run_id == crawl.run_id, CrawlError.site_id == crawl.site_id)
    ).all()
    by_reason = Counter(error.reason for error in errors)
    documents = session.scalars(
        select(Document).where(Document.site_id == crawl.site_id, Document.last_run_id == crawl.run_id)
    ).all()
    without_metadata = sum(1 for d in documents if set(d.missing_fields or ()) >= METADATA_FIELDS)
    previous = session.scalars(
        select(CrawlHealth)
        .where(CrawlHealth.site_id == crawl.site_id, CrawlHealth.run_id < crawl.run_id)
        .order_by(CrawlHealth.run_id.desc())
    ).all()
    state, reason = _verdict(crawl, errors, without_metadata, previous)
    return record_health(session, crawl, state=state, reason=reason,
                         reports_without_metadata=without_metadata, errors_by_reason=by_reason)


def _verdict(
    crawl: SiteCrawl,
    errors: Sequence[CrawlError],
    without_metadata: int,
    previous: Sequence[CrawlHealth],
) -> tuple[str, str | None]:
    if crawl.status == "failed":
        list_errors = [e for e in errors if e.page_kind == "list"]
        if list_errors:
            return "unreachable", _("list page failed: %(reason)s (%(url)s)", reason=list_errors[0].reason,
                                    url=list_errors[0].url)
        return "unreachable", _("no list page could be fetched (%(reason)s)", reason=crawl.finish_reason)
    earlier_found = max((p.reports_found for p in previous if p.state != "unreachable"), default=0)
    if crawl.reports_found == 0 and earlier_found > 0:
        return "broken", _("the listing yielded no reports (an earlier run found %(found)d)", found=earlier_found)
    if crawl.reports_found >= MIN_REPORTS_FOR_SHARE:
        share = without_metadata / crawl.reports_found
        baseline = next(
            (p for p in previous if p.state == "ok" and p.reports_found >= MIN_REPORTS_FOR_SHARE), None
        )
        if baseline is not None:
            before = baseline.reports_without_metadata / baseline.reports_found
            if share - before >= SHARE_JUMP:
                before_share, after_share = f"{before:.0%}", f"{share:.0%}"
                return "broken", _("reports without metadata jumped from %(before)s to %(after)s",
                                   before=before_share, after=after_share)
    return "ok", None


def site_health(session: Session, site_keys: Sequence[str] | None = None) -> dict[str, SiteHealth]:
    """Each site's current state (its newest assessment), keyed by site key."""
    stmt = select(Site).order_by(Site.key)
    if site_keys:
        stmt = stmt.where(Site.key.in_(list(site_keys)))
    result: dict[str, SiteHealth] = {}
    for site in session.scalars(stmt).all():
        rows = session.scalars(
            select(CrawlHealth).where(CrawlHealth.site_id == site.id).order_by(CrawlHealth.run_id.desc())
        ).all()
        if not rows:
            result[site.key] = SiteHealth(site.key, "unknown", _("not crawled yet"), None, None, None)
            continue
        latest = rows[0]
        since = latest.checked_at
        for row in rows[1:]:
            if row.state != latest.state:
                break
            since = row.checked_at
        result[site.key] = SiteHealth(site.key, latest.state, latest.reason, since, latest.checked_at, latest.run_id)
    return result


def site_listings(session: Session, site_keys: Sequence[str] | None = None) -> dict[str, ListingState]:
    """Each crawled site's latest listing record (interrupted and abandoned crawls skipped)."""
    stmt = select(Site).order_by(Site.key)
    if site_keys:
        stmt = stmt.where(Site.key.in_(list(site_keys)))
    result: dict[str, ListingState] = {}
    for site in session.scalars(stmt).all():
        crawl = session.scalars(
            select(SiteCrawl)
            .where(SiteCrawl.site_id == site.id, SiteCrawl.status.in_(("ok", "failed")))
            .order_by(SiteCrawl.run_id.desc())
            .limit(1)
        ).first()
        if crawl is not None:
            result[site.key] = listing_state(site.key, crawl)
    return result
