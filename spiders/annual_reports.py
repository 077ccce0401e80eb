"""The one generic annual-report spider.

It is driven entirely by a :class:`~crawler.config.SiteConfig`: the site's family adapter finds
item links and further list pages, a title filter keeps annual reports only, and the detail
page goes through the pure extraction functions. The spider yields items and requests only;
persistence is the pipelines' job, and failures become :class:`PageFailureItem` items.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.config import SiteConfig
from crawler.extract import extract_detail_from_bytes, report_year_from_title
from crawler.extract.decode import decode_html
from crawler.failures import describe_failure
from crawler.items import PageFailureItem, ReportItem
from spiders.attachments import (
    attachment_downloaded,
    attachment_failed,
    attachment_request,
    body_is_only_attachments,
    chain_attachments,
)
from spiders.families import ListPage, adapter_for

LIST = "list"
REPORT = "report"


def is_report_title(title: str, pattern: re.Pattern[str]) -> bool:
    """An annual report's link: the title matches the site's pattern and names a year."""
    return bool(pattern.search(title)) and report_year_from_title(title) is not None


class AnnualReportSpider(scrapy.Spider):
    name = "annual_reports"

    def __init__(
        self,
        site: SiteConfig,
        *args: Any,
        start_url_source: Callable[[], Iterable[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.site = site
        # Distributed workers take the column URLs from a shared queue (each URL goes to one
        # worker); a single-process crawl starts from the configured list URLs.
        self.start_url_source = start_url_source
        self.allowed_domains = sorted(site.allowed_hosts)
        self.adapter = adapter_for(site.family)
        self.report_pattern = re.compile(site.report_link_pattern)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        urls = self.start_url_source() if self.start_url_source is not None else self.site.list_urls
        for url in urls:
            yield self._list_request(url)

    def parse_list(self, response: Response) -> Iterator[scrapy.Request]:
        self.crawler.stats.inc_value("nianbao/list_pages")
        decoded = decode_html(response.body, _content_type(response), self.site.encoding)
        page = ListPage(url=response.url, text=decoded.text, selectors=dict(self.site.selectors))
        for link in self.adapter.links(page):
            if is_report_title(link.title, self.report_pattern):
                self.crawler.stats.inc_value("nianbao/report_links")
                yield scrapy.Request(
                    link.url,
                    callback=self.parse_report,
                    errback=self.on_error,
                    meta={"page_kind": REPORT, "list_title": link.title},
                )
        for url in self.adapter.next_pages(page):
            yield self._list_request(url)

    def parse_report(self, response: Response) -> Iterator[ReportItem | PageFailureItem]:
        self.crawler.stats.inc_value("nianbao/report_pages")
        fields, decoded = extract_detail_from_bytes(
            response.body,
            response.url,
            content_type=_content_type(response),
            forced_encoding=self.site.encoding,
            selectors=self.site.selectors,
        )
        if not fields.body_text and not fields.title:
            yield PageFailureItem(
                site_key=self.site.key,
                url=response.url,
                reason="no report content found on the page",
                page_kind=REPORT,
                http_status=response.status,
            )
            return
        title = fields.title or response.meta.get("list_title")
        report_year = fields.report_year
        if report_year is None and title:
            report_year = report_year_from_title(title)
        missing = [
            name
            for name in fields.missing_fields
            if not (name == "title" and title) and not (name == "report_year" and report_year)
        ]
        item = ReportItem(
            site_key=self.site.key,
            url=response.url,
            tables=fields.tables,
            image_only=fields.image_only,
            title=title,
            index_no=fields.index_no,
            publisher=fields.publisher,
            pub_date=fields.pub_date,
            written_date=fields.written_date,
            doc_no=fields.doc_no,
            topic=fields.topic,
            report_year=report_year,
            body_text=fields.body_text,
            attachments=list(fields.attachments),
            missing_fields=missing,
            list_title=response.meta.get("list_title"),
            http_status=response.status,
            encoding=decoded.encoding,
            fetched_at=datetime.now(timezone.utc),
        )
        yield from self._report_and_attachments(item, fields)

    def _report_and_attachments(
        self, item: ReportItem, fields: Any
    ) -> Iterator[ReportItem | scrapy.Request]:
        """The report, then a request per attachment -- or, when the body is only its
        attachments, the attachments first (one after the other) and the report last, carrying
        their bytes, so the attachment pipeline can make their text the report's text."""
        requests = [
            attachment_request(
                url, item.site_key, item.url, fields.attachment_titles.get(url),
                callback=self.parse_attachment, errback=self.on_attachment_error,
            )
            for url in item.attachments
        ]
        if requests and body_is_only_attachments(fields):
            yield chain_attachments(item, requests)
            return
        yield item
        yield from requests

    def parse_attachment(self, response: Response) -> Iterator[Any]:
        self.crawler.stats.inc_value("nianbao/attachments")
        yield from attachment_downloaded(response)

    def on_attachment_error(self, failure: Failure) -> Iterator[Any]:
        self.crawler.stats.inc_value("nianbao/failed_attachments")
        yield from attachment_failed(failure)

    def on_error(self, failure: Failure) -> Iterator[PageFailureItem]:
        request = failure.request  # type: ignore[attr-defined]
        page_kind = request.meta.get("page_kind", REPORT)
        reason, status = describe_failure(
            failure, timeout=request.meta.get("download_timeout")
        )
        self.crawler.stats.inc_value(f"nianbao/failed_{page_kind}_pages")
        yield PageFailureItem(
            site_key=self.site.key,
            url=request.url,
            reason=reason,
            page_kind=page_kind,
            http_status=status,
        )

    def _list_request(self, url: str) -> scrapy.Request:
        return scrapy.Request(
            url, callback=self.parse_list, errback=self.on_error, meta={"page_kind": LIST}
        )


def _content_type(response: Response) -> str | None:
    value = response.headers.get(b"Content-Type")
    return value.decode("latin-1") if value else None
