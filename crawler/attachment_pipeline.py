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

Settings: ``NIANBAO_ATTACHMENT_MAX_BYTES`` (32 MiB: larger files are stored, not read),
``NIANBAO_ATTACHMENT_TIMEOUT`` (60 s), ``NIANBAO_ATTACHMENT_MEMORY_MB`` (1024).
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet.threads import deferToThread

from crawler.attachments import ExtractionLimits, extract_text, sniff_media_type, store_attachment
from crawler.extract.tables import tables_from_text
from crawler.items import AttachmentItem, ReportItem
from crawler.pipelines import DATABASE_SETTING
from storage import attachments as archive_attachments
from storage.db import shared_archive

__all__ = ["AttachmentPipeline", "AttachmentTextPipeline", "read_attachment"]


def _limits(crawler: Crawler) -> ExtractionLimits:
    settings = crawler.settings
    return ExtractionLimits(
        max_bytes=settings.getint("NIANBAO_ATTACHMENT_MAX_BYTES", 32 * 1024 * 1024),
        timeout_seconds=settings.getfloat("NIANBAO_ATTACHMENT_TIMEOUT", 60.0),
        memory_bytes=settings.getint("NIANBAO_ATTACHMENT_MEMORY_MB", 1024) * 1024 * 1024,
    )


def read_attachment(sessions: Any, attachment: AttachmentItem, limits: ExtractionLimits) -> None:
    """Store a downloaded file and record its content row (text read once per sha256).

    Sets ``attachment.attachment_id``; a download failure (no body) records nothing here."""
    if attachment.body is None:
        return
    digest, path = store_attachment(attachment.body)
    with sessions() as session, session.begin():
        row = archive_attachments.find_attachment(session, digest)
        if row is not None:
            attachment.attachment_id = row.id
            return
    media_type = sniff_media_type(attachment.body, attachment.url)
    result = extract_text(path, media_type, limits)
    with sessions() as session, session.begin():
        row = archive_attachments.record_attachment(
            session,
            sha256=digest,
            size=len(attachment.body),
            media_type=media_type,
            text=result.text,
            image_only=result.image_only,
            error=result.error,
        )
        attachment.attachment_id = row.id


def _link(sessions: Any, attachment: AttachmentItem) -> None:
    with sessions() as session, session.begin():
        archive_attachments.link_attachment(
            session,
            site_key=attachment.site_key,
            report_url=attachment.report_url,
            url=attachment.url,
            link_text=attachment.link_text,
            attachment_id=attachment.attachment_id,
            error=attachment.error,
        )


class _Base:
    def __init__(self, crawler: Crawler, database_url: str) -> None:
        self.crawler = crawler
        self.sessions = shared_archive(database_url)
        self.limits = _limits(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        database_url = crawler.settings.get(DATABASE_SETTING)
        if not database_url:
            raise NotConfigured(f"{DATABASE_SETTING} must be set")
        return cls(crawler, database_url)


class AttachmentTextPipeline(_Base):
    """Before the archive: give an attachment-only report its attachments' text and tables."""

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ReportItem) and item.attachment_files:
            return deferToThread(self._read_into_report, item)
        return item

    def _read_into_report(self, item: ReportItem) -> ReportItem:
        texts: list[str] = []
        image_only = []
        for attachment in item.attachment_files:
            read_attachment(self.sessions, attachment, self.limits)
            self.crawler.stats.inc_value("nianbao/attachments_stored", int(attachment.body is not None))
            if attachment.attachment_id is None:
                continue
            with self.sessions() as session:
                row = session.get(archive_attachments.Attachment, attachment.attachment_id)
                if row is not None and row.text:
                    texts.append(row.text)
                if row is not None:
                    image_only.append(row.image_only)
        attachment_text = "\n\n".join(t for t in texts if t.strip())
        if attachment_text:
            item.body_text = "\n\n".join(t for t in (item.body_text.strip(), attachment_text) if t)
            item.tables = tables_from_text(attachment_text, item.report_year) or item.tables
        item.image_only = item.image_only or (bool(image_only) and all(image_only) and not attachment_text)
        return item


class AttachmentPipeline(_Base):
    """After the archive: store, read and link attachments to the report's latest version."""

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ReportItem) and item.attachment_files:
            return deferToThread(self._link_report_files, item)
        if isinstance(item, AttachmentItem):
            return deferToThread(self._store_and_link, item)
        return item

    def _link_report_files(self, item: ReportItem) -> ReportItem:
        for attachment in item.attachment_files:
            _link(self.sessions, attachment)
            attachment.body = None  # the bytes are stored; do not keep them in memory
        return item

    def _store_and_link(self, item: AttachmentItem) -> AttachmentItem:
        read_attachment(self.sessions, item, self.limits)
        if item.body is not None:
            self.crawler.stats.inc_value("nianbao/attachments_stored")
        _link(self.sessions, item)
        item.body = None
        return item
