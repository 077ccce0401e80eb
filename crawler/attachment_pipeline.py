"""Item pipelines for attachments: store the bytes, read the text in a sandbox, link them.

Two stages around :class:`~crawler.pipelines.ArchivePipeline` (500):

- :class:`AttachmentTextPipeline` (400) handles a :class:`ReportItem` whose body is only its
  attachments (the spider fetched them first and put them in ``attachment_files``): each file
  is stored and read, and the report's ``body_text``, ``tables`` and ``image_only`` come from
  the attachments' text before the report is recorded -- so its version, content hash and
  search index hold the attachment's words.
- :class:`AttachmentPipeline` (600) links those files to the version just recorded, and stores,
  reads and links every :class:`AttachmentItem` (the attachments of an ordinary report, fetched
  after it).

Storing and reading run in Twisted's thread pool (the reader itself is a child process with a
time and memory limit, see :mod:`crawler.attachments.sandbox`), so a slow file never stalls the
crawl. A file over a limit, corrupt, or of an unknown type is still stored and recorded, with
the reason in ``attachments.error``; a failed download is recorded on the link.

Images and PDFs without a text layer are read by OCR in the sandbox (:mod:`crawler.attachments.ocr`).
A report whose text came from OCR (an image-only page's images, an attachment-only report's
scanned PDF) keeps ``image_only`` set, gets the OCR text as its ``body_text`` (so it is searchable
and feeds the table parser), and records what read it in ``versions.tables["ocr"]``:
``{"engine", "confidence" (mean, 0–100), "pages", "attachments"}`` (an attachment OCR'd in an
earlier crawl is reused, not read again: its engine and confidence are then ``None``, with
``"reused": true``). An attachment row with ``image_only`` set and text has OCR text.

Settings (declared with their defaults in :mod:`storage.settings`): ``NIANBAO_ATTACHMENT_MAX_BYTES``,
``NIANBAO_ATTACHMENT_TIMEOUT``, ``NIANBAO_ATTACHMENT_MEMORY_MB``, ``NIANBAO_OCR``,
``NIANBAO_OCR_TIMEOUT``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import blockingCallFromThread, deferToThread

from crawler.attachments import (
    ExtractionLimits,
    ExtractionResult,
    extract_text,
    sniff_media_type,
    store_attachment,
)
from crawler.attachments.sniff import PDF
from crawler.extract.tables import tables_from_attachment
from crawler.items import AttachmentItem, ReportItem
from crawler.pipelines import DATABASE_SETTING
from crawler.typed_defaults import bool_default, float_default, int_default
from crawler.writer import Call, archive_writer_of
from storage import attachments as archive_attachments
from storage.db import shared_archive
from storage.records import AttachmentRecord
from storage.sectioning import sections_json

__all__ = ["AttachmentPipeline", "AttachmentTextPipeline", "read_attachment"]


def _limits(crawler: Crawler) -> ExtractionLimits:
    settings = crawler.settings
    return ExtractionLimits(
        max_bytes=settings.getint("NIANBAO_ATTACHMENT_MAX_BYTES", int_default("NIANBAO_ATTACHMENT_MAX_BYTES")),
        timeout_seconds=settings.getfloat("NIANBAO_ATTACHMENT_TIMEOUT", float_default("NIANBAO_ATTACHMENT_TIMEOUT")),
        memory_bytes=settings.getint("NIANBAO_ATTACHMENT_MEMORY_MB", int_default("NIANBAO_ATTACHMENT_MEMORY_MB")) * 1024 * 1024,
        ocr=settings.getbool("NIANBAO_OCR", bool_default("NIANBAO_OCR")),
        ocr_timeout_seconds=settings.getfloat("NIANBAO_OCR_TIMEOUT", float_default("NIANBAO_OCR_TIMEOUT")),
    )


Write = Callable[..., Any]  # runs a storage function in the archive writer, waits for its result


def read_attachment(sessions: Any, write: Write, attachment: AttachmentRecord, limits: ExtractionLimits,
                    *, want_tables: bool = False) -> ExtractionResult | None:
    """Store a downloaded file and record its content row (text read once per sha256).

    Sets ``attachment.attachment_id``; a download failure (no body) records nothing here.
    Returns the extraction (with a PDF's table grids) when the file was read now; a file stored
    before is read again only for ``want_tables`` and only when it is a PDF (its grids are not
    stored: an attachment-only report's tables come from them). ``write`` records the row
    through the archive writer (this runs in a worker thread)."""
    if attachment.body is None:
        return None
    digest, path = store_attachment(attachment.body)
    with sessions() as session:
        row = archive_attachments.find_attachment(session, digest)
        if row is not None:
            attachment.attachment_id = row.id
            if want_tables and row.media_type == PDF and row.text and not row.image_only:
                return extract_text(path, row.media_type, limits)
            return None
    media_type = sniff_media_type(attachment.body, attachment.url)
    result = extract_text(path, media_type, limits)
    attachment.attachment_id = write(
        archive_attachments.record_attachment_id,
        sha256=digest,
        size=len(attachment.body),
        media_type=media_type,
        text=result.text,
        image_only=result.image_only,
        error=result.error,
    )
    return result


def _link(write: Write, attachment: AttachmentRecord) -> None:
    write(
        archive_attachments.link_attachment,
        returns=False,
        site_key=attachment.site_key,
        report_url=attachment.report_url,
        url=attachment.url,
        link_text=attachment.link_text,
        attachment_id=attachment.attachment_id,
        error=attachment.error,
    )


def _ocr_marking(parts: list[dict]) -> dict:
    """One version's OCR provenance from its files' (confidence weighted by pages)."""
    engines = sorted({p["engine"] for p in parts if p.get("engine")})
    weighted = [(p["confidence"], p.get("pages") or 1) for p in parts if p.get("confidence") is not None]
    pages = sum(w for _, w in weighted)
    marking = {
        "engine": engines[0] if len(engines) == 1 else (", ".join(engines) or None),
        "confidence": round(sum(c * w for c, w in weighted) / pages, 1) if pages else None,
        "pages": sum(p.get("pages") or 0 for p in parts) or None,
        "attachments": len(parts),
    }
    if any(p.get("reused") for p in parts):
        marking["reused"] = True
    return marking


class _Base:
    def __init__(self, crawler: Crawler, database_url: str) -> None:
        self.crawler = crawler
        self.sessions = shared_archive(database_url)  # reads only; writes go to the writer
        self.archive = archive_writer_of(crawler)
        self.limits = _limits(crawler)

    def write(self, function: Callable[..., Any], *, returns: bool = True, **kwargs: Any) -> Any:
        """From a worker thread: run ``function`` in the archive writer; its result once committed."""
        from twisted.internet import reactor

        return blockingCallFromThread(reactor, self.archive.submit, Call(function, (), kwargs, returns))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        database_url = crawler.settings.get(DATABASE_SETTING)
        if not database_url:
            raise NotConfigured(f"{DATABASE_SETTING} must be set")
        return cls(crawler, database_url)


class AttachmentTextPipeline(_Base):
    """Before the archive: give an attachment-only report its attachments' text and tables."""

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, ReportItem) and item.attachment_files:
            return await maybe_deferred_to_future(deferToThread(self._read_into_report, item))
        return item

    def _read_into_report(self, item: ReportItem) -> ReportItem:
        texts: list[str] = []
        image_only = []
        grids: list = []
        layout: list[str] = []
        ocr: list[dict] = []
        for attachment in item.attachment_files:
            result = read_attachment(self.sessions, self.write, attachment, self.limits, want_tables=True)
            if result is not None and result.ocr and result.text:
                ocr.append(result.ocr)
            if result is not None:
                grids.extend(result.grids or [])
                if result.layout_text:
                    layout.append(result.layout_text)
            self.crawler.stats.inc_value("nianbao/attachments_stored", int(attachment.body is not None))
            if attachment.attachment_id is None:
                continue
            with self.sessions() as session:
                row = session.get(archive_attachments.Attachment, attachment.attachment_id)
                if row is not None and row.text:
                    texts.append(row.text)
                if row is not None:
                    image_only.append(row.image_only)
                if row is not None and row.image_only and row.text and (result is None or not result.ocr):
                    ocr.append({"engine": None, "confidence": None, "pages": None, "reused": True})
        attachment_text = "\n\n".join(t for t in texts if t.strip())
        if attachment_text:
            item.body_text = "\n\n".join(t for t in (item.body_text.strip(), attachment_text) if t)
            item.sections = sections_json(item.body_text)  # offsets into the new text
            item.tables = tables_from_attachment(
                attachment_text, grids, item.report_year, "\n\n".join(layout) or None
            ) or item.tables
        # A scan stays image-only when OCR gave it text (the text is marked as OCR's, below).
        item.image_only = item.image_only or (bool(image_only) and all(image_only) and (not attachment_text or bool(ocr)))
        if ocr and attachment_text:
            item.tables = {**(item.tables or {}), "ocr": _ocr_marking(ocr)}
        return item


class AttachmentPipeline(_Base):
    """After the archive: store, read and link attachments to the report's latest version."""

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, ReportItem) and item.attachment_files:
            return await maybe_deferred_to_future(deferToThread(self._link_report_files, item))
        if isinstance(item, AttachmentItem):
            return await maybe_deferred_to_future(deferToThread(self._store_and_link, item))
        return item

    def _link_report_files(self, item: ReportItem) -> ReportItem:
        for attachment in item.attachment_files:
            _link(self.write, attachment)
            attachment.body = None  # the bytes are stored; do not keep them in memory
        return item

    def _store_and_link(self, item: AttachmentItem) -> AttachmentItem:
        read_attachment(self.sessions, self.write, item, self.limits)
        if item.body is not None:
            self.crawler.stats.inc_value("nianbao/attachments_stored")
        _link(self.write, item)
        item.body = None
        return item
