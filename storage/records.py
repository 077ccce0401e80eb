"""What the archive is given to record: a report page, a page that failed, an attachment file.

These are the archive's input types. The crawler's items (``crawler.items``) are these records
under the names the spiders yield; keeping the definitions here lets the archive accept them
without importing anything above the ground floor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ReportRecord:
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
    # Statistics tables (the JSON the table extractor writes) and whether the report is only images.
    tables: dict[str, Any] | None = None
    image_only: bool = False
    # The body's sections (key, heading, start, end as offsets into body_text); None when not computed.
    sections: list[dict[str, Any]] | None = None
    # Attachments downloaded before the report was yielded (a report whose body is only its
    # attachments): the attachment pipeline reads them into body_text and tables.
    attachment_files: list[AttachmentRecord] = field(default_factory=list)
    capture_id: int | None = None  # the capture (WARC evidence) the page came from


@dataclass
class PageFailure:
    """A page that could not be fetched or used; recorded on the crawl run, the crawl goes on."""

    site_key: str
    url: str
    reason: str  # one short line: "HTTP 404", "timeout after 5s", "DNS lookup failed" ...
    page_kind: str = "report"  # list | report | attachment (a refused attachment link)
    http_status: int | None = None
    # For a report link: the year its listed title names, so the monitor knows which year the
    # failure leaves unknown.
    report_year: int | None = None


@dataclass
class AttachmentRecord:
    """A report's attachment file as downloaded (or the reason it could not be).

    The attachment pipeline stores the bytes by sha256, reads their text in a sandbox and links
    them to the report's latest version."""

    site_key: str
    report_url: str
    url: str
    link_text: str | None = None
    body: bytes | None = None  # None when the download failed (see error)
    content_type: str | None = None
    http_status: int | None = None
    error: str | None = None
    # Set by the pipeline once stored: the Attachment row's id.
    attachment_id: int | None = None
    capture_id: int | None = None  # the capture (WARC evidence) the bytes came from
