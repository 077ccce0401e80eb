"""Run one crawl of some configured sites into the archive, start to finish.

The runner owns the crawl run's lifecycle: it migrates the archive, records the sites and a
new :class:`~storage.models.CrawlRun`, starts one Scrapy crawler per site (each with the site's
own page budget and depth limit) in one :class:`~scrapy.crawler.CrawlerProcess`, and closes the
run when the reactor stops. Twisted's reactor cannot be restarted, so this runs once per
process; long-lived callers (the scheduler, tests) run it in a child process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.settings import Settings
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler.capture.middleware import CAPTURE_RUN_SETTING, CaptureRun, prepare_capture
from crawler.capture.warc import WarcWriteError
from crawler.collector import heap_frozen
from crawler.config import SiteConfig
from crawler.errors import ConfigError, NianbaoError, StorageError
from crawler.pipelines import DATABASE_SETTING, RUN_ID_SETTING
from crawler.progress import PROGRESS_SETTING, ProgressBoard
from crawler.stopping import CrawlProcess, StopState, describe_archive_error
from crawler.writer import start_for_crawl
from spiders.annual_reports import AnnualReportSpider
from storage import archive
from storage.db import open_archive
from storage.listing import listing_state


@dataclass
class SiteResult:
    key: str
    status: str
    finish_reason: str | None
    pages: int
    reports_found: int
    new_documents: int
    new_versions: int
    unchanged: int
    failures: int
    # How the column was read: "complete 2/2", "INCOMPLETE 1/2" ("-" when not recorded), and
    # what was not read.
    listing: str = "-"
    listing_problem: str | None = None


@dataclass
class ErrorResult:
    site_key: str
    url: str
    reason: str
    page_kind: str


@dataclass
class CrawlResult:
    run_id: int
    status: str
    sites: list[SiteResult] = field(default_factory=list)
    errors: list[ErrorResult] = field(default_factory=list)
    # Sites not crawled because another process holds their lease: key -> holder.
    skipped: dict[str, str] = field(default_factory=dict)
    # The signal that interrupted the crawl (SIGINT, SIGTERM), if one did.
    signal: int | None = None
    # Why the crawl was stopped when nianbao itself could not go on (WARC files or the archive
    # could not be written); raised by run_crawl once the run is closed and its leases released.
    error: NianbaoError | None = None
    # Runs a dead process had left running, closed as abandoned before this one started.
    abandoned: list[int] = field(default_factory=list)

    @property
    def failed_sites(self) -> list[str]:
        return [s.key for s in self.sites if s.status != "ok"]


# How long a crawl's leases last (seconds) unless -s NIANBAO_LEASE_TTL=... says otherwise.
LEASE_TTL_SETTING = "NIANBAO_LEASE_TTL"


def build_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """nianbao's Scrapy settings with command-line overrides applied on top."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if overrides:
        settings.update(dict(overrides), priority="cmdline")
    return settings


def run_crawl(
    sites: Sequence[SiteConfig],
    database_url: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    progress: ProgressBoard | None = None,
    log_file: Path | None = None,
) -> CrawlResult:
    """Crawl ``sites`` into the archive at ``database_url``; return what the run recorded.

    Each site is crawled under its lease (:mod:`storage.leases`): a site another process is
    crawling right now is skipped and listed in ``CrawlResult.skipped``; when every site is
    skipped nothing runs and the result's status is ``skipped`` (run id 0). Before that, runs
    whose process died (every lease they held expired or its process is gone) are closed as
    ``abandoned``.

    A run stopped by SIGINT/SIGTERM is closed as ``interrupted`` (``CrawlResult.signal`` says
    which); a run stopped because the WARC files or the archive could not be written is closed
    as ``failed`` and the error is raised (one line) after its leases are released.
    """
    from storage import leases

    ttl = _lease_ttl(overrides)
    sessions = open_archive(database_url)
    try:
        abandoned = leases.close_abandoned_runs(sessions)
        holder = leases.holder_id()
        taken, held = leases.acquire_all(sessions, [site.key for site in sites], holder, ttl=ttl)
        skipped = {key: lease.holder for key, lease in held.items()}
        if not taken:
            if progress is not None:
                progress.close()
            return CrawlResult(run_id=0, status="skipped", skipped=skipped, abandoned=abandoned)
        try:
            result = _run_leased(
                sessions, [site for site in sites if site.key in taken], database_url, holder,
                overrides=overrides, progress=progress, log_file=log_file,
            )
        except BaseException:
            # Leases bound to a run that could not be closed stay: once this process is gone
            # the next crawl start closes that run as abandoned. The others are given back.
            leases.release_quietly(sessions, taken, holder)
            raise
        leases.release(sessions, taken, holder)
    finally:
        sessions.kw["bind"].dispose()
    result.skipped = skipped
    result.abandoned = abandoned
    if result.error is not None:
        raise result.error
    return result


def _lease_ttl(overrides: Mapping[str, Any] | None) -> timedelta:
    from storage import leases

    value = (overrides or {}).get(LEASE_TTL_SETTING)
    if value in (None, ""):
        return leases.DEFAULT_TTL
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{LEASE_TTL_SETTING} must be a number of seconds (got {value!r})") from None
    if seconds <= 0:
        raise ConfigError(f"{LEASE_TTL_SETTING} must be positive (got {value!r})")
    return timedelta(seconds=seconds)


def _run_leased(
    sessions: sessionmaker[Session],
    sites: Sequence[SiteConfig],
    database_url: str,
    holder: str,
    *,
    overrides: Mapping[str, Any] | None,
    progress: ProgressBoard | None,
    log_file: Path | None,
) -> CrawlResult:
    """One crawl run of sites whose leases ``holder`` holds, on the caller's archive sessions
    (``database_url`` is passed on to the pipelines of the crawl). The leases are bound to the
    new run in the transaction that starts it."""
    from storage import leases

    settings = build_settings(overrides)
    capture = prepare_capture(settings)  # the WARC folder is writable; files a killed run left are closed
    with sessions() as session, session.begin():
        for site in sites:
            archive.sync_site(session, site)
        run_id = archive.start_run(session, [site.key for site in sites]).id
        leases.bind_run(session, [site.key for site in sites], holder, run_id)

    settings.set(DATABASE_SETTING, database_url, priority="cmdline")
    settings.set(RUN_ID_SETTING, run_id, priority="cmdline")
    settings.set(PROGRESS_SETTING, progress, priority="cmdline")
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        settings.set("LOG_FILE", str(log_file), priority="cmdline")

    stops = crawl_in_process(sites, settings, progress=progress)
    stopped_by = stops.signal

    # nianbao could not go on: the WARC evidence or the archive could not be written.
    warc_failure, storage_failure = capture.failure, stops.archive_failure
    failure = warc_failure or (
        f"the archive could not be written: {storage_failure}" if storage_failure else None
    )
    try:
        with sessions() as session, session.begin():
            run = archive.finish_run(session, run_id, interrupted=stopped_by is not None, failure=failure)
            result = _result(session, run)
    except (StorageError, SQLAlchemyError) as exc:
        # The run stays "running" with its leases: the next start closes it as abandoned.
        reason = describe_archive_error(exc)
        if failure is None:
            raise StorageError(f"crawl run {run_id} could not be closed: {reason}") from None
        raise StorageError(f"crawl run {run_id} stopped: {failure} (and the run could not be closed: {reason})") from None
    result.signal = stopped_by
    if warc_failure:
        result.error = WarcWriteError(f"crawl run {run_id} stopped: {warc_failure}")
    elif failure:
        result.error = StorageError(f"crawl run {run_id} stopped: {failure}")
    return result


def crawl_in_process(
    sites: Sequence[SiteConfig],
    settings: Settings,
    *,
    progress: ProgressBoard | None = None,
    site_settings: Callable[[SiteConfig], Mapping[str, Any]] | None = None,
    spider_arguments: Callable[[SiteConfig], Mapping[str, Any]] | None = None,
) -> StopState:
    """Run one crawler per site in this process until all finish; how the crawl ended: the
    signal that interrupted it (SIGINT, SIGTERM) and why the archive could not record it, both
    None when it ran to its end (:mod:`crawler.stopping`).

    ``site_settings`` and ``spider_arguments`` add per-site settings and spider arguments
    (distributed workers use them for their Redis queues and start URLs).
    """
    # One archive writer for every crawler of the process (crawler/writer): started before the
    # crawlers copy the settings, closed once the reactor has stopped and every write is acknowledged.
    # The heap built so far (modules, configuration) is left out of the collector's walks for
    # the crawl, in this process and in the writer forked from it (crawler/collector.py).
    with heap_frozen():
        writer = start_for_crawl(settings)
        try:
            return _crawl_sites(sites, settings, progress, site_settings, spider_arguments)
        finally:
            writer.close()
            capture = settings.get(CAPTURE_RUN_SETTING)
            if isinstance(capture, CaptureRun):
                capture.failures.extend(writer.close_errors)


def _crawl_sites(
    sites: Sequence[SiteConfig],
    settings: Settings,
    progress: ProgressBoard | None,
    site_settings: Callable[[SiteConfig], Mapping[str, Any]] | None,
    spider_arguments: Callable[[SiteConfig], Mapping[str, Any]] | None,
) -> StopState:
    process = CrawlProcess(settings, progress=progress)
    for position, site in enumerate(sites):
        per_site = settings.copy()
        # The site's budget applies unless the command line set one for the whole run.
        per_site.set("CLOSESPIDER_PAGECOUNT", site.max_pages, priority="spider")
        per_site.set("DEPTH_LIMIT", site.depth_limit, priority="spider")
        if site_settings is not None:
            per_site.update(dict(site_settings(site)), priority="spider")
        # The first crawler installs the reactor; the others share it.
        crawler = Crawler(AnnualReportSpider, per_site, init_reactor=position == 0)
        arguments = dict(spider_arguments(site)) if spider_arguments is not None else {}
        process.crawl(crawler, site=site, **arguments)
    try:
        process.start()
    except KeyboardInterrupt:
        process.interrupted_by_keyboard()
    finally:
        if progress is not None:
            progress.close()
    return process.stops


def result_of_run(database_url: str, run_id: int) -> CrawlResult:
    """What the archive recorded for a run."""
    sessions = open_archive(database_url)
    with sessions() as session:
        run = archive.get_run(session, run_id)
        if run is None:
            raise ConfigError(f"no crawl run with id {run_id}")
        return _result(session, run)


def _result(session: Any, run: Any) -> CrawlResult:
    sites = [_site_result(row) for row in archive.run_summary(session, run.id)]
    errors = [
        ErrorResult(
            site_key=error.site.key if error.site else "",
            url=error.url,
            reason=error.reason,
            page_kind=error.page_kind,
        )
        for error in archive.run_errors(session, run.id)
    ]
    return CrawlResult(run_id=run.id, status=run.status, sites=sites, errors=errors)


def _site_result(row: Any) -> SiteResult:
    listing = listing_state(row.site.key, row)
    return SiteResult(
        key=row.site.key,
        status=row.status,
        finish_reason=row.finish_reason,
        pages=row.pages,
        reports_found=row.reports_found,
        new_documents=row.new_documents,
        new_versions=row.new_versions,
        unchanged=row.unchanged,
        failures=row.failures,
        listing=listing.summary(),
        listing_problem=listing.problem,
    )
