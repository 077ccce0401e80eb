"""Writing to and reading from the archive: the API the crawl's archive writer and the CLI use.

Every function takes a :class:`~sqlalchemy.orm.Session` first and never commits: the caller owns
the transaction (the crawl's writer, :mod:`crawler.writer`, one per batch of items)::

    with Session() as session, session.begin():
        outcome = record_report(session, run_id, item)

Writers that add a document or a version take a lock first (the site's row, the document's row)
and look again, so two processes recording the same report at the same time, or a crawl re-run
after a crash, never create a second document or version. Database errors come out as
:class:`~storage.errors.StorageError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from storage.dialect import insert_ignore
from storage.errors import StorageError, storage_errors
from storage.listing import ListingRecord
from storage.models import (
    COUNTERS,
    PAGE_KINDS,
    CrawlError,
    CrawlRun,
    Document,
    Site,
    SiteCrawl,
    Version,
    utcnow,
)
from storage.records import PageFailure, ReportRecord
from storage.report_batch import RecordOutcome, increment, record_reports, require_run, site_by_key

__all__ = [
    "RecordOutcome",
    "abandon_stale_runs",
    "finish_run",
    "finish_site_crawl",
    "get_document",
    "get_run",
    "list_documents",
    "list_sites",
    "record_failure",
    "record_report",
    "run_errors",
    "run_summary",
    "start_run",
    "sync_site",
    "version_counts",
]




class SiteDefinition(Protocol):
    """What the archive keeps of a configured site (the crawler's ``SiteConfig`` is one)."""

    # Read-only properties: a frozen dataclass satisfies them.
    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def level(self) -> str: ...
    @property
    def family(self) -> str: ...
    @property
    def list_urls(self) -> Sequence[str]: ...

    def as_dict(self) -> dict[str, Any]: ...


# --- writes -----------------------------------------------------------------------------------


@storage_errors
def sync_site(session: Session, site: SiteDefinition) -> Site:
    """Insert or update the site row for ``site`` (matched by key) and return it."""
    now = utcnow()
    values = {
        "name": site.name,
        "region": site.region,
        "level": site.level,
        "family": site.family,
        "list_urls": list(site.list_urls),
        "config": site.as_dict(),
    }
    insert_ignore(session, Site, key=site.key, created_at=now, updated_at=now, **values)
    row = site_by_key(session, site.key, refresh=True)
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)  # updated_at follows through onupdate
    session.flush()
    return row


@storage_errors
def start_run(session: Session, site_keys: Sequence[str]) -> CrawlRun:
    """A new run (status ``running``) with a SiteCrawl row for each key that names a known site."""
    keys = list(dict.fromkeys(site_keys))
    run = CrawlRun(status="running", site_keys=keys, started_at=utcnow())
    session.add(run)
    session.flush()
    sites = session.scalars(select(Site).where(Site.key.in_(keys)).order_by(Site.key)).all()
    for site in sites:
        session.add(SiteCrawl(run_id=run.id, site_id=site.id, status="running"))
    session.flush()
    return run


@storage_errors
def record_report(session: Session, run_id: int, item: ReportRecord) -> RecordOutcome:
    """Archive one fetched report; see :class:`RecordOutcome` for the possible results.

    The document is found by :func:`storage.identity.find_document` -- one of its URLs, else its
    索引号, else report year and title, else the content of a substantial body, so a report that
    moved to a new URL stays one document -- or created; the URL is added to the document's
    URLs and becomes its canonical ``url`` when this is its most recent fetch. The body is compared by
    :func:`~storage.normalize.content_hash`: a hash the document already has is ``UNCHANGED``
    (and if it is an older version -- the page reverted -- that version becomes the latest
    again); otherwise a version with the next number is added. The document's metadata columns
    are refreshed from the item every time (``title`` falls back to the link text), and the
    run's counters for the site are incremented.

    The crawl's archive writer records a whole batch at once (:func:`storage.report_batch.record_reports`);
    this is the same code for one report.
    """
    return record_reports(session, run_id, [item])[0]


@storage_errors
def record_failure(session: Session, run_id: int, item: PageFailure) -> None:
    """Record a page that could not be fetched or used, and count it on the site's crawl."""
    site = site_by_key(session, item.site_key)
    require_run(session, run_id)
    if item.page_kind not in PAGE_KINDS:
        raise StorageError(
            f"failure of {item.url}: page_kind must be one of {', '.join(PAGE_KINDS)}"
            f" (got {item.page_kind!r})"
        )
    session.add(
        CrawlError(
            run_id=run_id,
            site_id=site.id,
            url=item.url,
            page_kind=item.page_kind,
            reason=item.reason,
            http_status=item.http_status,
            report_year=item.report_year,
            created_at=utcnow(),
        )
    )
    increment(session, run_id, site.id, failures=1)


@storage_errors
def finish_site_crawl(
    session: Session,
    run_id: int,
    site_key: str,
    *,
    pages: int,
    finish_reason: str,
    failed: bool,
    accumulate: bool = False,
    listing: ListingRecord | None = None,
    interrupted: bool = False,
) -> SiteCrawl:
    """Close one site's part of a run: ``ok`` or ``failed``, with its page count and reason,
    and how it read the column (``listing``; stopped early unless ``finish_reason`` is
    ``finished``).

    With ``accumulate`` (distributed crawls, where several workers each crawl part of a site)
    the pages add up, one worker that reached the site's column makes the site ``ok``, and the
    workers' listings are merged.

    ``interrupted``: the crawl was stopped before its end (Ctrl-C, SIGTERM, or nianbao itself
    unable to go on): the status is ``interrupted`` -- not evidence about the site -- whatever
    it fetched (in a distributed crawl, unless another worker made the site ``ok`` or
    ``failed``).
    """
    site = site_by_key(session, site_key)
    require_run(session, run_id)
    crawl = _site_crawl(session, run_id, site.id)
    if listing is not None and finish_reason != "finished":
        listing = dataclasses.replace(listing, stopped=finish_reason)
    status = "interrupted" if interrupted else "failed" if failed else "ok"
    if accumulate:
        session.refresh(crawl, with_for_update=True)
        statuses = {status, crawl.status}
        crawl.status = "ok" if "ok" in statuses else "failed" if "failed" in statuses else status
        crawl.pages = crawl.pages + pages
        if listing is not None and crawl.listing is not None:
            listing = ListingRecord.from_json(crawl.listing).merge(listing)
    else:
        crawl.status = status
        crawl.pages = pages
    if listing is not None:
        _set_listing(crawl, listing)
    crawl.finish_reason = finish_reason
    crawl.finished_at = utcnow()
    session.flush()
    return crawl


def _set_listing(crawl: SiteCrawl, listing: ListingRecord) -> None:
    crawl.listing = listing.to_json()
    crawl.list_pages_expected = listing.expected
    crawl.list_pages_fetched = listing.fetched_count
    crawl.list_pages_failed = listing.failed_count
    crawl.listing_complete = listing.complete
    crawl.listed_oldest_year = listing.oldest_year
    crawl.listed_newest_year = listing.newest_year


@storage_errors
def finish_run(
    session: Session, run_id: int, *, interrupted: bool = False, failure: str | None = None
) -> CrawlRun:
    """Close a run: sum its site counters into the totals and set its final status.

    ``interrupted``: a signal (Ctrl-C, SIGTERM) stopped the crawl. ``failure``: nianbao itself
    could not go on (the WARC files or the archive could not be written), and why.

    The status is ``failed`` on a ``failure``, else ``interrupted`` when asked, else ``failed``
    when any site failed, else ``finished``. A site crawl still ``running`` at this point never
    finished: after a signal or a failure it is ``interrupted`` (reason ``interrupted``, or the
    failure), otherwise ``failed`` with the reason ``did not finish``. On a failure, site crawls
    the stop closed early (``interrupted``) get the failure as their reason. Interrupted site
    crawls say nothing about their sites: the monitor does not assess them.
    """
    run = require_run(session, run_id)
    now = utcnow()
    crawls = _run_crawls(session, run_id)
    stopped = f"stopped: {failure}" if failure else None
    for crawl in crawls:
        if crawl.status == "running":
            if interrupted or failure:
                crawl.status = "interrupted"
                crawl.finish_reason = stopped or "interrupted"
            else:
                crawl.status = "failed"
                crawl.finish_reason = crawl.finish_reason or "did not finish"
            crawl.finished_at = now
        elif stopped and crawl.status == "interrupted":
            crawl.finish_reason = stopped
    _sum_counters(run, crawls)
    run.finished_at = now
    if failure:
        run.status = "failed"
    elif interrupted:
        run.status = "interrupted"
    elif any(crawl.status == "failed" for crawl in crawls):
        run.status = "failed"
    else:
        run.status = "finished"
    session.flush()
    return run


@storage_errors
def abandon_stale_runs(
    session: Session, lease_states: Mapping[int, str | None], *, now: datetime | None = None
) -> list[CrawlRun]:
    """Close as ``abandoned`` the runs still ``running`` whose process died; the runs closed.

    ``lease_states`` maps a run id to None while a live lease holds the run (its crawl is still
    going in some process), else to why it is stale, e.g. ``process died (lease expired)``
    (:func:`storage.leases.run_lease_states`). Only runs with a reason are closed: their site
    crawls still ``running`` become ``abandoned`` with that reason (not evidence about their
    sites), and the run's totals are summed as :func:`finish_run` does.
    """
    stale = {run_id: why for run_id, why in lease_states.items() if why is not None}
    if not stale:
        return []
    now = now or utcnow()
    runs = session.scalars(
        select(CrawlRun)
        .where(CrawlRun.id.in_(list(stale)), CrawlRun.status == "running")
        .order_by(CrawlRun.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for run in runs:
        crawls = _run_crawls(session, run.id)
        for crawl in crawls:
            if crawl.status == "running":
                crawl.status = "abandoned"
                crawl.finish_reason = stale[run.id]
                crawl.finished_at = now
        _sum_counters(run, crawls)
        run.status = "abandoned"
        run.finished_at = now
    session.flush()
    return list(runs)


def _run_crawls(session: Session, run_id: int) -> Sequence[SiteCrawl]:
    return session.scalars(
        select(SiteCrawl)
        .where(SiteCrawl.run_id == run_id)
        .execution_options(populate_existing=True)
    ).all()


def _sum_counters(run: CrawlRun, crawls: Sequence[SiteCrawl]) -> None:
    for counter in COUNTERS:
        setattr(run, counter, sum(getattr(crawl, counter) for crawl in crawls))


# --- reads ------------------------------------------------------------------------------------


@storage_errors
def get_run(session: Session, run_id: int) -> CrawlRun | None:
    """The run with this id, or None."""
    return session.get(CrawlRun, run_id)


@storage_errors
def run_summary(session: Session, run_id: int) -> list[SiteCrawl]:
    """The run's per-site rows, with their site loaded, ordered by site key."""
    return list(
        session.scalars(
            select(SiteCrawl)
            .join(SiteCrawl.site)
            .where(SiteCrawl.run_id == run_id)
            .options(joinedload(SiteCrawl.site))
            .order_by(Site.key)
        ).all()
    )


@storage_errors
def run_errors(session: Session, run_id: int) -> list[CrawlError]:
    """The run's failed pages in the order they were recorded, with their site loaded."""
    return list(
        session.scalars(
            select(CrawlError)
            .where(CrawlError.run_id == run_id)
            .options(joinedload(CrawlError.site))
            .order_by(CrawlError.id)
        ).all()
    )


@storage_errors
def list_sites(session: Session) -> list[Site]:
    """Every site, ordered by key."""
    return list(session.scalars(select(Site).order_by(Site.key)).all())


@storage_errors
def list_documents(
    session: Session, site_key: str | None = None, limit: int = 100
) -> list[Document]:
    """Documents (of one site, or all), newest publication date first; site loaded."""
    stmt = select(Document).options(joinedload(Document.site))
    if site_key is not None:
        stmt = stmt.join(Document.site).where(Site.key == site_key)
    stmt = stmt.order_by(Document.pub_date.desc().nulls_last(), Document.id.desc())
    return list(session.scalars(stmt.limit(_limit(limit))).all())


@storage_errors
def version_counts(session: Session, document_ids: Sequence[int]) -> dict[int, int]:
    """How many versions each of ``document_ids`` has, in one query (no version bodies loaded)."""
    if not document_ids:
        return {}
    rows = session.execute(
        select(Version.document_id, func.count())
        .where(Version.document_id.in_(list(document_ids)))
        .group_by(Version.document_id)
    )
    return {document_id: count for document_id, count in rows}


@storage_errors
def get_document(session: Session, document_id: int) -> Document | None:
    """One document with its site, its versions (ordered by number) and latest version loaded."""
    return session.scalars(
        select(Document)
        .where(Document.id == document_id)
        .options(
            joinedload(Document.site),
            selectinload(Document.versions),
            joinedload(Document.latest_version),
        )
    ).one_or_none()


# --- helpers ----------------------------------------------------------------------------------


def _site_crawl(session: Session, run_id: int, site_id: int) -> SiteCrawl:
    """The run's row for the site, created when the site joined after the run started."""
    insert_ignore(session, SiteCrawl, run_id=run_id, site_id=site_id, status="running")
    return session.scalars(
        select(SiteCrawl)
        .where(SiteCrawl.run_id == run_id, SiteCrawl.site_id == site_id)
        .execution_options(populate_existing=True)
    ).one()


def _limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"limit must be a positive integer (got {limit!r})")
    return limit
