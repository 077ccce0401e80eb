"""Item pipelines: the only place crawled data is written to the archive.

:class:`ArchivePipeline` records every :class:`ReportItem` as a document/version and every
:class:`PageFailureItem` as an error on the crawl run, each in its own short transaction, so an
interrupted crawl keeps everything recorded before the interruption. When the spider closes it
records the site's page count, finish reason and whether the site failed (no list page could
be fetched).

The writes run in Twisted's thread pool: a report costs a dozen statements and a commit, and
on the reactor thread the crawl would stop fetching while it waits for the database. Scrapy
still waits for an item's write before the item goes on to the next pipeline and before the
spider closes. A report's attachments are requested after the report is yielded and may arrive
while it is still being written: :class:`PendingReports` lets the attachment pipeline wait for
that write before linking to it.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet.defer import Deferred, succeed
from twisted.internet.threads import deferToThread

from crawler.distributed import DISTRIBUTED_SETTING
from crawler.items import AttachmentItem, PageFailureItem, ReportItem
from storage import archive
from storage.db import shared_archive

DATABASE_SETTING = "NIANBAO_DATABASE_URL"
RUN_ID_SETTING = "NIANBAO_RUN_ID"


ReportKey = tuple[str, str]  # (site key, report URL)


class PendingReports:
    """Report writes still running in the thread pool, by (site key, report URL).

    Used on the reactor thread only (Deferred callbacks run there), so it needs no lock.
    """

    def __init__(self) -> None:
        self._running: dict[ReportKey, int] = {}
        self._waiters: dict[ReportKey, list[Deferred[None]]] = {}

    def track(self, key: ReportKey, write: Deferred[Any]) -> None:
        """Count ``write`` as running until it fires (either way); its result passes through."""
        self._running[key] = self._running.get(key, 0) + 1

        def done(result: Any) -> Any:
            left = self._running[key] - 1
            if left:
                self._running[key] = left
            else:
                del self._running[key]
                for waiter in self._waiters.pop(key, []):
                    waiter.callback(None)
            return result

        write.addBoth(done)

    def after(self, key: ReportKey) -> Deferred[None]:
        """Fires once no write of that report is running (at once if none is)."""
        if key not in self._running:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._waiters.setdefault(key, []).append(waiter)
        return waiter


def pending_reports(crawler: Crawler) -> PendingReports:
    """The crawler's registry of running report writes (shared by its pipelines)."""
    registry = getattr(crawler, "nianbao_pending_reports", None)
    if registry is None:
        registry = PendingReports()
        crawler.nianbao_pending_reports = registry  # type: ignore[attr-defined]
    return registry


class ArchivePipeline:
    """Persist reports and failures of one site's crawl into the archive database."""

    def __init__(self, crawler: Crawler, database_url: str, run_id: int) -> None:
        self.crawler = crawler
        self.run_id = run_id
        self.sessions = shared_archive(database_url)
        self.pending = pending_reports(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        database_url = crawler.settings.get(DATABASE_SETTING)
        run_id = crawler.settings.getint(RUN_ID_SETTING)
        if not database_url or not run_id:
            raise NotConfigured(f"{DATABASE_SETTING} and {RUN_ID_SETTING} must be set")
        pipeline = cls(crawler, database_url, run_id)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ReportItem):
            write = deferToThread(self._record_report, item)
            write.addCallback(self._count_report, item)
            self.pending.track((item.site_key, item.url), write)
            return write
        if isinstance(item, PageFailureItem):
            return deferToThread(self._record_failure, item).addCallback(self._count_failure)
        if isinstance(item, AttachmentItem):
            return item  # stored and linked by crawler.attachment_pipeline.AttachmentPipeline
        raise TypeError(f"unexpected item type {type(item).__name__}: {ItemAdapter(item).asdict()!r}")

    # In the thread pool: the database work only.
    def _record_report(self, item: ReportItem) -> archive.RecordOutcome:
        with self.sessions() as session, session.begin():
            return archive.record_report(session, self.run_id, item)

    def _record_failure(self, item: PageFailureItem) -> PageFailureItem:
        with self.sessions() as session, session.begin():
            archive.record_failure(session, self.run_id, item)
        return item

    # Back on the reactor thread: Scrapy's stats are not shared with the pool's threads.
    def _count_report(self, outcome: archive.RecordOutcome, item: ReportItem) -> ReportItem:
        stats = self.crawler.stats
        stats.inc_value("nianbao/reports_found")
        stats.inc_value(f"nianbao/{outcome.name.lower()}")
        return item

    def _count_failure(self, item: PageFailureItem) -> PageFailureItem:
        self.crawler.stats.inc_value("nianbao/failures")
        return item

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats
        list_pages = stats.get_value("nianbao/list_pages", 0)
        report_pages = stats.get_value("nianbao/report_pages", 0)
        site_key = spider.site.key  # type: ignore[attr-defined]
        with self.sessions() as session, session.begin():
            archive.finish_site_crawl(
                session,
                self.run_id,
                site_key,
                pages=list_pages + report_pages,
                finish_reason=reason,
                # A site whose column could not be fetched at all has failed; single dead
                # report links are page failures, recorded but not fatal to the site.
                failed=list_pages == 0,
                # Distributed workers each crawl part of a site: their pages add up.
                accumulate=bool(self.crawler.settings.get(DISTRIBUTED_SETTING)),
            )
