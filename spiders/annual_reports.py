"""The one generic annual-report spider.

It is driven entirely by a :class:`~crawler.config.SiteConfig`: the site's family adapter finds
item links and further list pages, a title filter keeps annual reports only, and the detail
page goes through the pure extraction functions. The spider yields items and requests only;
persistence is the pipelines' job, and failures become :class:`PageFailureItem` items.

While it reads the column the spider keeps a :class:`~storage.listing.ListingRecord` of the list
pages it planned, fetched and failed to fetch, published in the crawl's stats under
:data:`LISTING_STAT` for the archive pipeline to store when the site's crawl closes: the monitor
trusts the absence of a report only when that record says the listing was read completely.

When a column's first page shows no pager at all (a template no adapter knows), the spider
probes ``index_1.html``, ``index_2.html`` … one after the other, and stops at the first 404/410
(the column's end, not a failure) or at a page that lists nothing new (sites that answer any
unknown page with the first one).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.config import SiteConfig
from crawler.extract import report_year_from_title
from crawler.extract.decode import decode_html
from crawler.extract.report_page import ReportPage, read_report_page
from crawler.failures import describe_failure
from crawler.items import PageFailureItem, ReportItem
from spiders.attachments import (
    attachment_downloaded,
    attachment_failed,
    attachment_request,
    body_is_only_attachments,
    chain_attachments,
)
from spiders.families import ListPage, ListPageRequest, adapter_for, probe_url
from storage.listing import ListingRecord

LIST = "list"
REPORT = "report"
LISTING_STAT = "nianbao/listing"
# Probing stops here at the latest; the per-site page budget applies too.
MAX_PROBED_PAGES = 200
# Answers that end a probe: the column has no such page.
END_OF_COLUMN_STATUSES = (404, 410)


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
        self.listing = ListingRecord()
        # Per column: the link sets of the pages read, to notice a probe that repeats a page.
        self._page_signatures: dict[str, set[frozenset[str]]] = {}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.crawler.stats.set_value(LISTING_STAT, self.listing)
        urls = self.start_url_source() if self.start_url_source is not None else self.site.list_urls
        for url in urls:
            self.listing.add_column(url)
            self.listing.plan(url, url, 1, url)
            yield self._list_request(ListPageRequest(url, 1), column=url, start=True)

    def parse_list(self, response: Response) -> Iterator[scrapy.Request]:
        meta = response.meta
        key = meta.get("listing_key", response.url)
        column = meta.get("column", response.url)
        probe = meta.get("probe")
        decoded = decode_html(response.body, _content_type(response), self.site.encoding)
        page = ListPage(url=response.url, text=decoded.text, selectors=dict(self.site.selectors))
        links = self.adapter.links(page)
        signature = frozenset(link.url for link in links)
        seen = self._page_signatures.setdefault(column, set())
        if probe is not None and (not signature or signature in seen):
            # Past the column's end on a site that answers unknown pages anyway.
            self.listing.drop(key)
            self.listing.declare(column, probe - 1)
            return
        seen.add(signature)
        self.listing.mark_fetched(key)
        self.crawler.stats.inc_value("nianbao/list_pages")
        for link in links:
            if is_report_title(link.title, self.report_pattern):
                self.crawler.stats.inc_value("nianbao/report_links")
                year = report_year_from_title(link.title)
                if year is not None:
                    self.listing.add_year(year)
                yield scrapy.Request(
                    link.url,
                    callback=self.parse_report,
                    errback=self.on_error,
                    meta={"page_kind": REPORT, "list_title": link.title, "list_year": year},
                )
        pagination = self.adapter.pagination(page)
        if pagination.expected is not None:
            self.listing.declare(column, pagination.expected)
        for number, reason in pagination.unreachable:
            self.listing.mark_unreachable(column, number, reason)
        for request in pagination.pages:
            if self.listing.plan(request.key, column, request.number, request.url):
                yield self._list_request(request, column=column)
        if probe is not None:  # page ``probe`` is index_{probe-1}: ask for index_{probe}
            yield from self._probe(response.url, column, probe)
        elif meta.get("column_start") and pagination.declares_nothing:
            yield from self._probe(response.url, column, 1)

    def _probe(self, url: str, column: str, number: int) -> Iterator[scrapy.Request]:
        """Ask for the column's page ``index_{number}.html`` (page ``number + 1``)."""
        if number > MAX_PROBED_PAGES:
            return
        target = probe_url(url, number)
        if target is None or target == url:
            self.listing.declare(column, number)  # not an index-style URL: one page
            return
        if self.listing.plan(target, column, number + 1, target):
            yield self._list_request(ListPageRequest(target, number + 1), column=column, probe=number + 1)

    def parse_report(self, response: Response) -> Iterator[ReportItem | PageFailureItem | scrapy.Request]:
        self.crawler.stats.inc_value("nianbao/report_pages")
        try:
            read = read_report_page(
                response.body, response.url, _content_type(response), self.site.encoding, self.site.selectors
            )
        except Exception as exc:  # a hostile page or a bug: this page fails alone, with the reason
            yield self._unreadable(response, f"reading the page failed: {type(exc).__name__}: {exc}")
            return
        if read.failure is not None:
            yield self._unreadable(response, read.failure)
            return
        yield from self._report_and_attachments(self._report_item(response, read), read.fields)

    def _unreadable(self, response: Response, reason: str) -> PageFailureItem:
        return PageFailureItem(
            site_key=self.site.key, url=response.url, reason=reason, page_kind=REPORT,
            http_status=response.status,
        )

    def _report_item(self, response: Response, read: ReportPage) -> ReportItem:
        fields = read.fields
        title = fields.title or response.meta.get("list_title")
        report_year = fields.report_year
        if report_year is None and title:
            report_year = report_year_from_title(title)
        missing = [
            name
            for name in fields.missing_fields
            if not (name == "title" and title) and not (name == "report_year" and report_year)
        ]
        return ReportItem(
            site_key=self.site.key,
            url=response.url,
            tables=fields.tables,
            image_only=fields.image_only,
            sections=read.sections,
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
            encoding=read.encoding,
            fetched_at=datetime.now(UTC),
        )

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
        # An image-only body (图片版): its images are the report's pages, read by OCR like a
        # scanned attachment -- fetched first, with the attachments, and the report yielded last.
        images = [
            attachment_request(
                url, item.site_key, item.url, None,
                callback=self.parse_attachment, errback=self.on_attachment_error,
            )
            for url in getattr(fields, "images", []) if url not in item.attachments
        ]
        if images or (requests and body_is_only_attachments(fields)):
            yield chain_attachments(item, images + requests)
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
        meta = request.meta
        page_kind = meta.get("page_kind", REPORT)
        reason, status = describe_failure(failure, timeout=meta.get("download_timeout"))
        if page_kind == LIST:
            key = meta.get("listing_key", request.url)
            probe = meta.get("probe")
            if probe is not None and status in END_OF_COLUMN_STATUSES:
                # The probe went past the last page: the column's end, not a failure.
                self.listing.drop(key)
                self.listing.declare(meta.get("column", request.url), probe - 1)
                return
            self.listing.mark_failed(key, reason)
        self.crawler.stats.inc_value(f"nianbao/failed_{page_kind}_pages")
        yield PageFailureItem(
            site_key=self.site.key,
            # The URL the listing gave, not the last hop of a redirect chain that failed.
            url=(meta.get("redirect_urls") or [request.url])[0],
            reason=reason,
            page_kind=page_kind,
            http_status=status,
            report_year=meta.get("list_year") if page_kind == REPORT else None,
        )

    def _list_request(
        self, page: ListPageRequest, *, column: str, start: bool = False, probe: int | None = None
    ) -> scrapy.Request:
        meta = {
            "page_kind": LIST,
            "listing_key": page.key,
            "column": column,
            "column_start": start,
            # The depth limit counts links from the list, not pages of the list.
            "depth_reset": True,
        }
        if probe is not None:
            meta["probe"] = probe
        if page.form is not None:
            return scrapy.FormRequest(
                page.url, formdata=dict(page.form), callback=self.parse_list,
                errback=self.on_error, meta=meta,
            )
        return scrapy.Request(page.url, callback=self.parse_list, errback=self.on_error, meta=meta)


def _content_type(response: Response) -> str | None:
    value = response.headers.get(b"Content-Type")
    return value.decode("latin-1") if value else None
