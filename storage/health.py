"""The crawl-health table: one verdict per finished site crawl (the monitor judges, this stores)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from storage.errors import storage_errors
from storage.models import CrawlHealth, SiteCrawl, utcnow

__all__ = ["record_health"]


@storage_errors
def record_health(session: Session, crawl: SiteCrawl, *, state: str, reason: str | None,
                  reports_without_metadata: int, errors_by_reason: Mapping[str, int]) -> CrawlHealth:
    """Store the verdict on ``crawl`` (with the crawl's own counts) and return the row."""
    row = CrawlHealth(
        site_crawl_id=crawl.id,
        site_id=crawl.site_id,
        run_id=crawl.run_id,
        state=state,
        reason=reason,
        pages=crawl.pages,
        reports_found=crawl.reports_found,
        reports_without_metadata=reports_without_metadata,
        errors_by_reason=dict(errors_by_reason),
        checked_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row
