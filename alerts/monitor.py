"""The monitor: check sites and bring their alerts up to date, in the caller's transaction.

For each site it assesses the crawls not assessed yet (:mod:`alerts.health`), computes the
site's coverage row (:mod:`alerts.coverage`), looks for reports changed after publication and
reports removed from the listing, and raises or resolves the matching alerts
(:mod:`storage.outbox`). Detection and the outbox rows it queues commit together.

Rules that keep alerts trustworthy:

- a site whose latest crawl failed gets a *site* alert; its report years are ``unknown`` and no
  report-missing alert is raised (nor resolved) for it;
- a late report closes the year's open missing alert with one message that says it was late;
  late reports found with no missing alert open are announced only when their deadline is
  recent (:data:`LATE_NOTICE_WINDOW`), so adding a site with years of history does not flood
  the receivers -- the grid shows the history;
- a report counts as removed only when two complete, clean crawls after the one that last saw
  it (:data:`REMOVAL_CONFIRMATIONS`) did not list it and did not fail on its URL, or when it
  was still listed but its page answered 404/410 in each of the site's last N crawls
  (``[alerts] removed_after_nights``, default 3). A crawl that was interrupted or abandoned
  counts for neither; a report found at a new URL was moved, not removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import CompoundSelect, select
from sqlalchemy.orm import Session

from alerts.coverage import EVIDENCE_STATUSES, CoverageCell, site_coverage
from alerts.health import SiteHealth, assess_pending, site_health
from alerts.messages import alert_title, changed_report_message, event_subjects
from alerts.settings import DEFAULT_REMOVED_AFTER_NIGHTS
from crawler.i18n import gettext as _
from storage.models import Alert, AlertOutbox, CrawlError, Document, DocumentUrl, Site, SiteCrawl, Version, utcnow
from storage.outbox import (
    DEFAULT_REPEAT_INTERVAL,
    Finding,
    alert_key,
    notice,
    raise_alert,
    resolve_alert,
)

__all__ = ["LATE_NOTICE_WINDOW", "MonitorResult", "run_monitor"]

LATE_NOTICE_WINDOW = timedelta(days=365)
REMOVAL_CONFIRMATIONS = 2
# HTTP statuses that say a page is gone (not a passing failure such as a timeout).
GONE_STATUSES = (404, 410)


@dataclass
class MonitorResult:
    cells: list[CoverageCell] = field(default_factory=list)
    health: dict[str, SiteHealth] = field(default_factory=dict)
    queued: list[AlertOutbox] = field(default_factory=list)


def run_monitor(
    session: Session,
    site_keys: Sequence[str] | None = None,
    *,
    as_of: date | None = None,
    now: datetime | None = None,
    repeat_interval: timedelta = DEFAULT_REPEAT_INTERVAL,
    removed_after_nights: int = DEFAULT_REMOVED_AFTER_NIGHTS,
) -> MonitorResult:
    """Check the sites (all when ``site_keys`` is empty) and sync their alerts."""
    now = now or utcnow()
    as_of = as_of or now.date()
    stmt = select(Site).order_by(Site.key)
    if site_keys:
        stmt = stmt.where(Site.key.in_(list(site_keys)))
    sites = session.scalars(stmt).all()
    assess_pending(session, [s.id for s in sites])
    result = MonitorResult(health=site_health(session, [s.key for s in sites]))
    for site in sites:
        queued: list[AlertOutbox | None] = []
        health = result.health[site.key]
        queued += _sync_health(session, site, health, now, repeat_interval)
        cells = site_coverage(session, site, as_of)
        result.cells.extend(cells)
        for cell in cells:
            queued += _sync_cell(session, site, cell, as_of, now, repeat_interval)
        queued += _sync_changes(session, site, now)
        queued += _sync_checks(session, site, now)
        queued += _sync_removals(session, site, now, repeat_interval, removed_after_nights)
        result.queued.extend(row for row in queued if row is not None)
    return result


def _sync_health(session: Session, site: Site, health: SiteHealth, now: datetime,
                 repeat: timedelta) -> list[AlertOutbox | None]:
    if health.state == "unknown":
        return []
    out: list[AlertOutbox | None] = []
    for kind, state in (("site_unreachable", "unreachable"), ("listing_broken", "broken")):
        if health.state == state:
            out.append(raise_alert(session, _finding(kind, site, health.reason or state), now=now,
                                   repeat_interval=repeat, subjects=event_subjects()))
        else:
            out.append(resolve_alert(session, alert_key(kind, site.key), site,
                                     _("the latest crawl (run %(run)s) was %(state)s", run=health.run_id,
                                       state=health.state),
                                     now=now, subjects=event_subjects()))
    return out


def _sync_cell(session: Session, site: Site, cell: CoverageCell, as_of: date, now: datetime,
               repeat: timedelta) -> list[AlertOutbox | None]:
    year = cell.report_year
    missing_key = alert_key("report_missing", site.key, report_year=year)
    if cell.status == "missing":
        message = _("No %(year)s report of %(site)s was found; it was due by %(due)s.",
                    year=year, site=site.name, due=cell.due.isoformat())
        return [raise_alert(session, _finding("report_missing", site, message, report_year=year),
                            now=now, repeat_interval=repeat, subjects=event_subjects())]
    if cell.status == "late":
        message = _("The %(year)s report of %(site)s was published on %(published)s, after its due date "
                    "%(due)s (%(detail)s).", year=year, site=site.name, published=cell.published,
                    due=cell.due.isoformat(), detail=cell.detail)
        late = _finding("report_late", site, message, report_year=year, document_id=cell.document_id)
        closed = resolve_alert(session, missing_key, site, message, now=now, title=late.title)
        if closed is not None:
            notice(session, late, now=now, queue=False)  # announced by the resolution above
            return [closed]
        if as_of - cell.due <= LATE_NOTICE_WINDOW:
            return [notice(session, late, now=now)]
        return []
    if cell.status in ("on_time", "not_due"):
        if cell.published:
            found = _("The %(year)s report of %(site)s was published on %(published)s.",
                      year=year, site=site.name, published=cell.published)
        else:
            found = _("The %(year)s report of %(site)s was found.", year=year, site=site.name)
        return [resolve_alert(session, missing_key, site, found, now=now, subjects=event_subjects())]
    return []  # unknown: the site could not be checked, the alert stays as it is


def _finding(kind: str, site: Site, message: str, *, report_year: int | None = None,
             document_id: int | None = None, extra: str | None = None) -> Finding:
    """A finding titled in the reader's language (:mod:`alerts.messages`)."""
    return Finding(kind, site, message, report_year=report_year, document_id=document_id, extra=extra,
                   subject=alert_title(kind, site, report_year))


def _sync_changes(session: Session, site: Site, now: datetime) -> list[AlertOutbox | None]:
    later_versions = session.scalars(
        select(Version).join(Document, Version.document_id == Document.id)
        .where(Document.site_id == site.id, Version.number > 1)
        .order_by(Version.document_id, Version.number)
    ).all()
    out: list[AlertOutbox | None] = []
    for version in later_versions:
        key = alert_key("report_changed", site.key, document_id=version.document_id, extra=f"v{version.number}")
        if session.scalars(select(Alert.id).where(Alert.key == key)).first() is not None:
            continue
        previous = session.scalars(
            select(Version).where(Version.document_id == version.document_id,
                                  Version.number == version.number - 1)
        ).one_or_none()
        document = session.get(Document, version.document_id)
        report_title = (document.title if document else None) or version.title or ""
        message = changed_report_message(
            report_title, document.url if document else "", version.document_id,
            previous.number if previous else version.number - 1, version.number,
            (previous.body_text if previous else "") or "", version.body_text or "",
        )
        out.append(notice(session, _finding("report_changed", site, message, report_year=version.report_year,
                                           document_id=version.document_id, extra=f"v{version.number}"),
                          now=now))
    return out


def _sync_checks(session: Session, site: Site, now: datetime) -> list[AlertOutbox | None]:
    """A one-off notice for each latest version whose checks failed (the cross-year check
    included) or whose tables are incomplete so their checks could not be evaluated. A
    cross-year check without last year's report is not news."""
    from crawler.archive_checks import cross_year_checks, latest_tables
    from crawler.extract.tables.checks import check_results_of, checks_flag, describe_check

    rows = latest_tables(session, [site.id])
    cross = cross_year_checks(session, [site.id], rows)
    out: list[AlertOutbox | None] = []
    for row in rows:
        extra = [cross[row.document_id]] if row.document_id in cross else []
        flag = checks_flag(row.tables, extra)
        if flag not in ("failed", "incomplete"):
            continue
        key = alert_key("report_checks", site.key, document_id=row.document_id, extra=f"v{row.version}")
        if session.scalars(select(Alert.id).where(Alert.key == key)).first() is not None:
            continue
        document = session.get(Document, row.document_id)
        results = [r for r in [*check_results_of(row.tables), *extra]
                   if r.get("status") == "failed" or (r.get("status") == "not_evaluated" and r.get("name") != "cross_year")]
        words = {"failed": _("checks failed"), "incomplete": _("tables incomplete, checks not evaluated")}[flag]
        lines = "\n".join(describe_check(r) for r in results[:6])
        message = _("%(title)s (%(url)s), version %(number)s: %(words)s.",
                    title=document.title if document else "", url=document.url if document else "",
                    number=row.version, words=words) + f"\n{lines}"
        out.append(notice(session, _finding("report_checks", site, message, report_year=row.report_year,
                                           document_id=row.document_id, extra=f"v{row.version}"),
                          now=now))
    return out


def _clean_complete_crawls(session: Session, site: Site) -> list[SiteCrawl]:
    """The site's crawls, newest first, that read its whole listing: evidence of what it lists."""
    crawls = session.scalars(
        select(SiteCrawl).where(SiteCrawl.site_id == site.id, SiteCrawl.status == "ok",
                                SiteCrawl.finish_reason == "finished")
        .order_by(SiteCrawl.run_id.desc())
    ).all()
    clean = []
    for crawl in crawls:
        if crawl.listing_complete is not None:
            if crawl.listing_complete:
                clean.append(crawl)
            continue
        # Recorded before crawls kept their listing: no failed list page is the best we know.
        list_failed = session.scalars(
            select(CrawlError.id).where(CrawlError.run_id == crawl.run_id, CrawlError.site_id == site.id,
                                        CrawlError.page_kind == "list")
        ).first()
        if list_failed is None:
            clean.append(crawl)
    return clean


def _urls_of(document: Document) -> CompoundSelect[str]:
    """Every URL the document was found at (a moved report fails at its old or its new one)."""
    return select(DocumentUrl.url).where(DocumentUrl.document_id == document.id).union(
        select(Document.url).where(Document.id == document.id)
    )


def _recent_crawls(session: Session, site: Site, count: int) -> list[SiteCrawl]:
    """The site's last ``count`` crawls that ran to their end (not interrupted or abandoned)."""
    return list(session.scalars(
        select(SiteCrawl).where(SiteCrawl.site_id == site.id, SiteCrawl.status.in_(EVIDENCE_STATUSES))
        .order_by(SiteCrawl.run_id.desc()).limit(count)
    ).all())


def _gone_every_night(session: Session, site: Site, document: Document, crawls: Sequence[SiteCrawl],
                      nights: int) -> bool:
    """Whether the document's page answered 404/410 in each of the last ``nights`` crawls."""
    if len(crawls) < nights:
        return False
    runs = [crawl.run_id for crawl in crawls[:nights]]
    if (document.last_run_id or 0) >= min(runs):
        return False  # read successfully in one of those crawls
    gone_runs = set(session.scalars(
        select(CrawlError.run_id).where(CrawlError.site_id == site.id, CrawlError.url.in_(_urls_of(document)),
                                        CrawlError.run_id.in_(runs), CrawlError.http_status.in_(GONE_STATUSES))
    ).all())
    return gone_runs == set(runs)


def _sync_removals(session: Session, site: Site, now: datetime, repeat: timedelta,
                   removed_after_nights: int = DEFAULT_REMOVED_AFTER_NIGHTS) -> list[AlertOutbox | None]:
    clean = _clean_complete_crawls(session, site)
    recent = _recent_crawls(session, site, removed_after_nights)
    if not clean and not recent:
        return []
    latest_run = max([c.run_id for c in clean[:1]] + [c.run_id for c in recent[:1]])
    out: list[AlertOutbox | None] = []
    for document in session.scalars(select(Document).where(Document.site_id == site.id)).all():
        key = alert_key("report_removed", site.key, document_id=document.id)
        seen_run = document.last_run_id or 0
        if seen_run >= latest_run:
            out.append(resolve_alert(session, key, site,
                                     _("%(title)s is listed again (%(url)s).", title=document.title,
                                       url=document.url),
                                     now=now, subjects=event_subjects()))
            continue
        if _gone_every_night(session, site, document, recent, removed_after_nights):
            message = _("%(title)s is still listed by %(site)s, but its page (%(url)s) answered 404/410 in each "
                        "of the last %(nights)d crawls; last read %(seen)s. Its versions stay in the archive.",
                        title=document.title, site=site.name, url=document.url, nights=removed_after_nights,
                        seen=document.last_seen_at.date().isoformat())
            out.append(raise_alert(session, _finding("report_removed", site, message,
                                                     report_year=document.report_year, document_id=document.id),
                                   now=now, repeat_interval=repeat, subjects=event_subjects()))
            continue
        after = [c for c in clean if c.run_id > seen_run]
        if len(after) < REMOVAL_CONFIRMATIONS:
            continue
        failed_on_it = session.scalars(
            select(CrawlError.id).where(CrawlError.site_id == site.id, CrawlError.url.in_(_urls_of(document)),
                                        CrawlError.run_id.in_([c.run_id for c in after]))
        ).first()
        if failed_on_it is not None:
            continue
        message = _("%(title)s (%(url)s) was not listed in the last %(count)d complete crawls of %(site)s; last "
                    "seen %(seen)s. Its versions stay in the archive.", title=document.title, url=document.url,
                    count=len(after), site=site.name, seen=document.last_seen_at.date().isoformat())
        out.append(raise_alert(session, _finding("report_removed", site, message, report_year=document.report_year,
                                                 document_id=document.id),
                               now=now, repeat_interval=repeat, subjects=event_subjects()))
    return out
