"""Run one crawl of some configured sites into the archive, start to finish.

The runner owns the crawl run's lifecycle: it migrates the archive, records the sites and a
new :class:`~storage.models.CrawlRun`, starts one Scrapy crawler per site (each with the site's
own page budget and depth limit) in one :class:`~scrapy.crawler.CrawlerProcess`, and closes the
run when the reactor stops. Twisted's reactor cannot be restarted, so this runs once per
process; long-lived callers (the scheduler, tests) run it in a child process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from crawler.config import SiteConfig
from crawler.pipelines import DATABASE_SETTING, RUN_ID_SETTING
from crawler.progress import PROGRESS_SETTING, ProgressBoard
from spiders.annual_reports import AnnualReportSpider
from storage import archive
from storage.db import open_archive


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

    @property
    def failed_sites(self) -> list[str]:
        return [s.key for s in self.sites if s.status != "ok"]


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
    """Crawl ``sites`` into the archive at ``database_url``; return what the run recorded."""
    sessions = open_archive(database_url)
    with sessions() as session, session.begin():
        for site in sites:
            archive.sync_site(session, site)
        run_id = archive.start_run(session, [site.key for site in sites]).id

    settings = build_settings(overrides)
    settings.set(DATABASE_SETTING, database_url, priority="cmdline")
    settings.set(RUN_ID_SETTING, run_id, priority="cmdline")
    settings.set(PROGRESS_SETTING, progress, priority="cmdline")
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        settings.set("LOG_FILE", str(log_file), priority="cmdline")

    process = CrawlerProcess(settings)
    for position, site in enumerate(sites):
        site_settings = settings.copy()
        # The site's budget applies unless the command line set one for the whole run.
        site_settings.set("CLOSESPIDER_PAGECOUNT", site.max_pages, priority="spider")
        site_settings.set("DEPTH_LIMIT", site.depth_limit, priority="spider")
        # The first crawler installs the reactor; the others share it.
        crawler = Crawler(AnnualReportSpider, site_settings, init_reactor=position == 0)
        process.crawl(crawler, site=site)
    interrupted = False
    try:
        process.start()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if progress is not None:
            progress.close()

    with sessions() as session, session.begin():
        run = archive.finish_run(session, run_id, interrupted=interrupted)
        return _result(session, run)


def _result(session: Any, run: Any) -> CrawlResult:
    sites = [
        SiteResult(
            key=row.site.key,
            status=row.status,
            finish_reason=row.finish_reason,
            pages=row.pages,
            reports_found=row.reports_found,
            new_documents=row.new_documents,
            new_versions=row.new_versions,
            unchanged=row.unchanged,
            failures=row.failures,
        )
        for row in archive.run_summary(session, run.id)
    ]
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
