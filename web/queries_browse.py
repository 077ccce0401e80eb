"""What the browse pages show: the home page, regions and sites, read as plain data.

"What's new and what's wrong": the newest archived reports, the reports that changed lately,
the open alerts and the coverage grid's counts; then every region with its sites, and every
site with its reports by year, its crawl health and its alerts. Site keys and region names from
the request are compared as bound parameters only; an unknown one is None (the route's 404).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.coverage import coverage_grid
from alerts.health import site_health, site_listings
from storage.archive import version_counts
from storage.models import Alert, AlertOutbox, Document, Site
from storage.search import ListedReport, ReportListing, SearchFilters, list_reports
from web.schemas import (
    AlertRowOut,
    AlertSummaryOut,
    CoverageCountsOut,
    HomeOut,
    ListingOut,
    RegionOut,
    RegionsOut,
    RegionSummaryOut,
    ReportListOut,
    ReportRowOut,
    SearchHitOut,
    SearchOut,
    SegmentOut,
    SiteOut,
    SiteStateOut,
    SiteSummaryOut,
    SiteYearOut,
    UnreadPageOut,
)

__all__ = ["home_view", "listing_view", "region_view", "regions_view", "site_view"]

# "Changed since last week": a report whose new version was archived in this window.
CHANGED_WINDOW = timedelta(days=7)
HOME_ROWS = 10  # rows of each list on the home page
NEWEST_ALERTS = 5


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _row(report: ListedReport, versions: int | None = None) -> ReportRowOut:
    return ReportRowOut(
        id=report.document_id, version_id=report.version_id, version=report.version_number, versions=versions,
        site=report.site_key, site_name=report.site_name, region=report.region, level=report.level,
        title=report.title, report_year=report.report_year, publisher=report.publisher, pub_date=report.pub_date,
        url=report.url, first_seen=_iso(report.first_seen_at), version_seen=_iso(report.version_seen_at),
    )


def _list_out(listing: ReportListing) -> ReportListOut:
    return ReportListOut(reports=[_row(r) for r in listing.reports], total=listing.total)


def _coverage_counts(session: Session, as_of: date, site_keys: list[str] | None = None) -> CoverageCountsOut:
    counts = Counter(cell.status for cell in coverage_grid(session, as_of, site_keys=site_keys))
    return CoverageCountsOut(as_of=as_of.isoformat(), counts=dict(sorted(counts.items())))


def _alert_rows(session: Session, limit: int, site_id: int | None = None) -> list[AlertRowOut]:
    stmt = select(Alert, Site).join(Site, Site.id == Alert.site_id).where(Alert.state == "open")
    if site_id is not None:
        stmt = stmt.where(Alert.site_id == site_id)
    rows = session.execute(stmt.order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit)).all()
    return [
        AlertRowOut(id=alert.id, kind=alert.kind, site=site.key, site_name=site.name, report_year=alert.report_year,
                    document_id=alert.document_id, title=alert.title, message=alert.message,
                    opened_at=_iso(alert.opened_at))
        for alert, site in rows
    ]


def _alert_summary(session: Session) -> AlertSummaryOut:
    by_kind = dict(session.execute(
        select(Alert.kind, func.count()).where(Alert.state == "open").group_by(Alert.kind).order_by(Alert.kind)
    ).all())
    outbox = dict(session.execute(
        select(AlertOutbox.status, func.count()).where(AlertOutbox.status.in_(("pending", "failed")))
        .group_by(AlertOutbox.status)
    ).all())
    return AlertSummaryOut(
        open=sum(by_kind.values()), by_kind=by_kind, newest=_alert_rows(session, NEWEST_ALERTS),
        outbox_pending=outbox.get("pending", 0), outbox_failed=outbox.get("failed", 0),
    )


def home_view(session: Session, today: date, now: datetime | None = None) -> HomeOut:
    """What's new (latest archived, changed this week) and what's wrong (alerts, coverage)."""
    now = now or datetime.now(UTC)
    since = now - CHANGED_WINDOW
    latest = list_reports(session, order="archived", limit=HOME_ROWS)
    return HomeOut(
        sites=session.scalar(select(func.count()).select_from(Site)) or 0,
        reports=latest.total,
        latest=[_row(r) for r in latest.reports],
        changed_since=_iso(since) or "",
        changed=_list_out(list_reports(session, order="changed", limit=HOME_ROWS, changed_since=since)),
        alerts=_alert_summary(session),
        coverage=_coverage_counts(session, today),
    )


def _site_summaries(session: Session, region: str | None = None) -> list[SiteSummaryOut]:
    stmt = (
        select(Site.key, Site.name, Site.region, Site.level, func.count(Document.id))
        .outerjoin(Document, Document.site_id == Site.id)
        .group_by(Site.id, Site.key, Site.name, Site.region, Site.level)
        .order_by(Site.region, Site.key)
    )
    if region is not None:
        stmt = stmt.where(Site.region == region)
    return [
        SiteSummaryOut(site=key, name=name, region=site_region, level=level, reports=reports)
        for key, name, site_region, level, reports in session.execute(stmt)
    ]


def regions_view(session: Session) -> RegionsOut:
    """Every region (the sites' own region names) with its sites and their report counts."""
    by_region: dict[str, list[SiteSummaryOut]] = defaultdict(list)
    for site in _site_summaries(session):
        by_region[site.region].append(site)
    return RegionsOut(regions=[
        RegionSummaryOut(region=region, sites=sites, reports=sum(s.reports for s in sites))
        for region, sites in by_region.items()
    ])


def region_view(session: Session, region: str, today: date, rows: int) -> RegionOut | None:
    """One region (its exact name): its sites, newest reports and coverage; None when unknown."""
    sites = _site_summaries(session, region)
    if not sites:
        return None
    keys = [s.site for s in sites]
    latest = list_reports(session, SearchFilters(sites=tuple(keys)), limit=rows)
    return RegionOut(region=region, sites=sites, latest=_list_out(latest),
                     coverage=_coverage_counts(session, today, keys))


def _site_years(session: Session, site: Site, today: date, row_cap: int) -> tuple[list[SiteYearOut], int, bool]:
    listing = list_reports(session, SearchFilters(sites=(site.key,)), limit=row_cap)
    counts = version_counts(session, [r.document_id for r in listing.reports])
    coverage = {cell.report_year: cell.status for cell in coverage_grid(session, today, site_keys=[site.key])}
    by_year: dict[int | None, list[ReportRowOut]] = defaultdict(list)
    for report in listing.reports:
        by_year[report.report_year].append(_row(report, counts.get(report.document_id)))
    # Years the grid expects but no report stands for (missing, not due) are shown too.
    for year in coverage:
        by_year.setdefault(year, [])
    ordered = sorted(by_year, key=lambda year: (year is None, -(year or 0)))
    years = [SiteYearOut(report_year=y, coverage=coverage.get(y) if y is not None else None, reports=by_year[y])
             for y in ordered]
    return years, listing.total, listing.has_more


def _health(session: Session, key: str) -> SiteStateOut:
    state = site_health(session, [key])[key]
    return SiteStateOut(state=state.state, reason=state.reason, since=_iso(state.since),
                        checked_at=_iso(state.checked_at), run_id=state.run_id)


def _listing(session: Session, key: str) -> ListingOut | None:
    state = site_listings(session, [key]).get(key)
    if state is None:
        return None
    return ListingOut(
        run_id=state.run_id, complete=state.complete, expected=state.expected, fetched=state.fetched,
        failed=state.failed, problem=state.problem,
        unread_pages=[UnreadPageOut(page=p.label, url=p.url, reason=p.reason) for p in state.unread],
    )


def site_view(session: Session, key: str, today: date, row_cap: int) -> SiteOut | None:
    """One site (by key): its reports by year, crawl health, listing and open alerts."""
    site = session.scalars(select(Site).where(Site.key == key)).one_or_none()
    if site is None:
        return None
    years, total, truncated = _site_years(session, site, today, row_cap)
    return SiteOut(
        site=site.key, name=site.name, region=site.region, level=site.level, family=site.family,
        list_urls=list(site.list_urls or []), reports=total, years=years, truncated=truncated,
        health=_health(session, site.key), listing=_listing(session, site.key),
        alerts=_alert_rows(session, row_cap, site.id),
    )


def listing_view(
    session: Session, filters: SearchFilters, sort: str, page: int, per_page: int, row_cap: int
) -> SearchOut:
    """/search without a query: the reports ``filters`` keep, newest published first (``date_asc``:
    oldest first), paged like a search (the row cap bounds how deep), with the total count."""
    offset = (page - 1) * per_page
    within_cap = offset + per_page <= row_cap
    listing = list_reports(session, filters, order="oldest" if sort == "date_asc" else "newest",
                           limit=per_page, offset=offset if within_cap else 0)
    reports = listing.reports if within_cap else []
    hits = [
        SearchHitOut(
            id=r.document_id, version_id=r.version_id, version=r.version_number, site=r.site_key,
            site_name=r.site_name, region=r.region, report_year=r.report_year, publisher=r.publisher,
            pub_date=r.pub_date, title=r.title, score=None, url=r.url,
            title_segments=[SegmentOut(text=r.title, hit=False)] if r.title else [], snippet=[],
        )
        for r in reports
    ]
    shown: dict[str, Any] = {k: v for k, v in filters.as_dict().items() if v not in (None, [], ())}
    return SearchOut(
        query="", filters=shown, sort=sort, page=page, per_page=per_page,
        has_more=bool(reports) and listing.has_more and offset + 2 * per_page <= row_cap,
        rank_window=0, hits=hits, total=listing.total,
    )
