"""What the spider yields. Spiders only yield these and requests; pipelines persist them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class ReportItem:
    """One fetched annual-report detail page, with what extraction found on it."""

    site_key: str
    url: str
    title: str | None = None
    index_no: str | None = None
    publisher: str | None = None
    pub_date: str | None = None  # YYYY-MM-DD
    written_date: str | None = None  # 成文日期, YYYY-MM-DD
    doc_no: str | None = None
    topic: str | None = None
    report_year: int | None = None
    body_text: str = ""
    attachments: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)
    list_title: str | None = None  # the link text on the column page
    http_status: int = 200
    encoding: str | None = None
    fetched_at: datetime | None = None


@dataclass
class PageFailureItem:
    """A page that could not be fetched or used; recorded on the crawl run, the crawl goes on."""

    site_key: str
    url: str
    reason: str  # one short line: "HTTP 404", "timeout after 5s", "DNS lookup failed" ...
    page_kind: str = "report"  # list | report
    http_status: int | None = None
