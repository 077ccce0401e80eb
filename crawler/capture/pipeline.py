"""Item pipeline: point stored attachments at the capture their bytes came from.

The attachment pipeline (600) stores an :class:`~crawler.items.AttachmentItem` and sets its
``attachment_id``; :class:`CaptureLinkPipeline` (after it) records the item's ``capture_id`` on
that content row the first time the content is seen, so every attachment leads to its WARC
evidence. (Versions get theirs in :func:`storage.archive.record_report`.)
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future

from crawler.capture.middleware import CAPTURE_ENABLED_SETTING
from crawler.typed_defaults import bool_default
from crawler.writer import ArchiveWriter, Call, archive_writer_of
from storage.attachments import link_capture


class CaptureLinkPipeline:
    def __init__(self, archive: ArchiveWriter) -> None:
        self.archive = archive

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CaptureLinkPipeline:
        settings = crawler.settings
        database_url = settings.get("NIANBAO_DATABASE_URL")
        if not settings.getbool(CAPTURE_ENABLED_SETTING, bool_default(CAPTURE_ENABLED_SETTING)) or not database_url:
            raise NotConfigured("capture is off or there is no archive")
        return cls(archive_writer_of(crawler))

    async def process_item(self, item: Any) -> Any:
        # An attachment yielded on its own, or those a report fetched first and carries
        # (attachment-only and image-only reports).
        for attachment in [item, *(getattr(item, "attachment_files", None) or [])]:
            attachment_id = getattr(attachment, "attachment_id", None)
            capture_id = getattr(attachment, "capture_id", None)
            if attachment_id is not None and capture_id is not None and hasattr(attachment, "report_url"):
                await maybe_deferred_to_future(self.archive.submit(Call(link_capture, (attachment_id, capture_id))))
        return item
