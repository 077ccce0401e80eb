"""Requests for a report's attachments, and the items their responses become.

A report's attachments are fetched after the report is yielded, each response becoming an
:class:`~crawler.items.AttachmentItem` (the attachment pipeline stores it, reads its text and
links it to the report's version). A report whose body is *only* its attachments (the text is a
link to a PDF or a scan) is held back instead: its attachments are fetched one after the other,
carried along in the request meta, and the report is yielded last with their bytes in
``attachment_files``, so its text and tables come from them before it is recorded.

Attachments may live on other hosts (file servers, CDNs): the requests are ``dont_filter`` so
neither the offsite filter nor the duplicate filter drops them; ``DOWNLOAD_MAXSIZE`` caps them,
and the outgoing-request guard (:mod:`crawler.guard`) refuses non-http(s) URLs and non-public
addresses that are not the site's own origins, as for every other request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.capture.middleware import META_CAPTURE_ID
from crawler.extract.detail import MIN_TEXT_CHARS, own_text_chars
from crawler.failures import describe_failure
from crawler.guard import RefusedRequest
from crawler.items import CARRIED_ITEM_META, AttachmentItem, PageFailureItem, ReportItem

__all__ = [
    "ATTACHMENT",
    "attachment_downloaded",
    "attachment_failed",
    "attachment_request",
    "body_is_only_attachments",
    "chain_attachments",
]

ATTACHMENT = "attachment"
_CHAIN = "nianbao_attachment_chain"


def body_is_only_attachments(fields: Any) -> bool:
    """The body has (almost) no text of its own besides its attachment links."""
    return bool(fields.attachments) and own_text_chars(
        fields.body_text, list(fields.attachment_titles.values())
    ) < MIN_TEXT_CHARS


def attachment_request(
    url: str,
    site_key: str,
    report_url: str,
    link_text: str | None,
    *,
    callback: Callable[..., Any] | None,
    errback: Callable[..., Any] | None,
) -> scrapy.Request:
    return scrapy.Request(
        url,
        callback=callback,
        errback=errback,
        dont_filter=True,
        meta={
            "page_kind": ATTACHMENT,
            "site_key": site_key,
            "report_url": report_url,
            "link_text": link_text,
        },
    )


def chain_attachments(item: ReportItem, requests: list[scrapy.Request]) -> scrapy.Request:
    """The first request of the chain; the report rides along and comes out after the last.

    The rest of the chain rides along as (URL, link text) pairs, not as requests: a request's
    meta must stay serializable (distributed crawls keep their queue in Redis), and a request
    with a callback inside another's meta is not.
    """
    first, rest = requests[0], requests[1:]
    first.meta[_CHAIN] = (item, [(r.url, r.meta.get("link_text")) for r in rest])
    first.meta[CARRIED_ITEM_META] = item  # the report page's evidence is the report's
    return first


def _continue(request: scrapy.Request, attachment: AttachmentItem) -> Iterator[Any]:
    meta = request.meta
    chain = meta.get(_CHAIN)
    if chain is None:
        yield attachment
        return
    item, rest = chain
    item.attachment_files.append(attachment)
    if rest:
        (url, link_text), remaining = rest[0], rest[1:]
        following = attachment_request(
            url, meta["site_key"], meta["report_url"], link_text,
            callback=request.callback, errback=request.errback,
        )
        following.meta[_CHAIN] = (item, remaining)
        # Every file of the chain is one link away from the report, not one more hop per file:
        # counted as hops, a report with more files than DEPTH_LIMIT allows (a scan of many page
        # images) lost its chain, and the report it carries, without a recorded failure.
        following.meta["depth_reset"] = True
        yield following
    else:
        yield item


def attachment_downloaded(response: Response) -> Iterator[Any]:
    meta = response.meta
    content_type = response.headers.get(b"Content-Type")
    attachment = AttachmentItem(
        site_key=meta["site_key"],
        report_url=meta["report_url"],
        url=response.request.url if response.request is not None else response.url,
        link_text=meta.get("link_text"),
        body=response.body,
        content_type=content_type.decode("latin-1") if content_type else None,
        http_status=response.status,
        # A chained attachment is never yielded itself, so the capture middleware cannot link
        # it: it takes its evidence from the response here.
        capture_id=meta.get(META_CAPTURE_ID),
    )
    request = response.request
    assert request is not None  # Scrapy sets it on every response it hands to a callback
    yield from _continue(request, attachment)


def attachment_failed(failure: Failure) -> Iterator[Any]:
    """The failed attachment, recorded on its link; a link the guard refused to fetch
    (:class:`~crawler.guard.RefusedRequest`) is recorded on the crawl run's failures as well."""
    request = failure.request  # type: ignore[attr-defined]
    reason, status = describe_failure(failure, timeout=request.meta.get("download_timeout"))
    if isinstance(failure.value, RefusedRequest):
        yield PageFailureItem(
            site_key=request.meta["site_key"], url=request.url, reason=reason, page_kind=ATTACHMENT
        )
    attachment = AttachmentItem(
        site_key=request.meta["site_key"],
        report_url=request.meta["report_url"],
        url=request.url,
        link_text=request.meta.get("link_text"),
        http_status=status,
        error=reason,
    )
    yield from _continue(request, attachment)
