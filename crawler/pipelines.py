"""Item pipelines: the only place crawled data is written to the archive.

:class:`ArchivePipeline` records every :class:`ReportItem` as a document/version and every
:class:`PageFailureItem` as an error on the crawl run. It does not write them itself: it submits
them to the process's archive writer (:mod:`crawler.writer`), which writes them in batches off
the reactor, and hands the item on only once its batch has committed -- an interrupted crawl
keeps every item acknowledged before the interruption. When the spider closes it records the
site's page count, finish reason and whether the site failed (no list page could be fetched),
after every item of the site.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future

from crawler.distributed import DISTRIBUTED_SETTING
from crawler.items import AttachmentItem, PageFailureItem, ReportItem
from crawler.stopping import archive_writer
from crawler.writer import Call, RecordReport, archive_writer_of
from spiders.annual_reports import LISTING_STAT
from storage import archive

DATABASE_SETTING = "NIANBAO_DATABASE_URL"
RUN_ID_SETTING = "NIANBAO_RUN_ID"


class ArchivePipeline:
    """Persist reports and failures of one site's crawl into the archive database."""

    def __init__(self, crawler: Crawler, database_url: str, run_id: int) -> None:
        self.crawler = crawler
        self.run_id = run_id
        self.archive = archive_writer_of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        database_url = crawler.settings.get(DATABASE_SETTING)
        run_id = crawler.settings.getint(RUN_ID_SETTING)
        if not database_url or not run_id:
            raise NotConfigured(f"{DATABASE_SETTING} and {RUN_ID_SETTING} must be set")
        pipeline = cls(crawler, database_url, run_id)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    @archive_writer  # an item the archive cannot record stops the crawl (crawler/stopping.py)
    async def process_item(self, item: Any) -> Any:
        stats = self.crawler.stats
        if isinstance(item, ReportItem):
            outcome = await maybe_deferred_to_future(self.archive.submit(RecordReport(self.run_id, item)))
            stats.inc_value("nianbao/reports_found")
            stats.inc_value(f"nianbao/{outcome.name.lower()}")
        elif isinstance(item, PageFailureItem):
            await maybe_deferred_to_future(self.archive.submit(Call(archive.record_failure, (self.run_id, item))))
            stats.inc_value("nianbao/failures")
        elif not isinstance(item, AttachmentItem):  # those: crawler.attachment_pipeline.AttachmentPipeline
            raise TypeError(f"unexpected item type {type(item).__name__}: {ItemAdapter(item).asdict()!r}")
        return item

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats
        list_pages = stats.get_value("nianbao/list_pages", 0)
        report_pages = stats.get_value("nianbao/report_pages", 0)
        site_key = spider.site.key  # type: ignore[attr-defined]
        # After every item of the site (the writer keeps their order); the crawler waits for it.
        await maybe_deferred_to_future(self.archive.submit(
            Call(
                archive.finish_site_crawl,
                (self.run_id, site_key),
                dict(
                    pages=list_pages + report_pages,
                    finish_reason=reason,
                    # A site whose column could not be fetched at all has failed; single dead
                    # report links are page failures, recorded but not fatal to the site.
                    failed=list_pages == 0,
                    # Distributed workers each crawl part of a site: their pages add up.
                    accumulate=bool(self.crawler.settings.get(DISTRIBUTED_SETTING)),
                    listing=stats.get_value(LISTING_STAT),
                    # Closed by Ctrl-C/SIGTERM or by nianbao stopping the crawl (crawler/stopping.py):
                    # what it saw says nothing about the site.
                    interrupted=reason == "shutdown",
                ),
                returns=False,
            )
        ))
