"""What the spider yields. Spiders only yield these and requests; pipelines persist them."""

from __future__ import annotations

from dataclasses import dataclass

from storage.records import AttachmentRecord, PageFailure, ReportRecord

# Request meta key for an item that rides along on a request and is yielded later (a report
# waiting for its attachments): it belongs to the response that made the request, so the
# capture middleware links it to that response's evidence, not to the attachments'.
CARRIED_ITEM_META = "nianbao_carried_item"


@dataclass
class ReportItem(ReportRecord):
    """One fetched annual-report detail page, with what extraction found on it."""


@dataclass
class PageFailureItem(PageFailure):
    """A page that could not be fetched or used; recorded on the crawl run, the crawl goes on."""


@dataclass
class AttachmentItem(AttachmentRecord):
    """A report's attachment file as downloaded (or the reason it could not be)."""
