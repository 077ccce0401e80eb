"""Pieces of the capture middleware that need no crawl: settings, the clock, item linking."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest
from scrapy import Request
from scrapy.settings import Settings

from crawler.capture.middleware import (
    CaptureLinkMiddleware,
    policy_now,
    prepare_capture,
)
from crawler.capture.warc import OPEN_SUFFIX, WarcWriteError
from crawler.errors import ConfigError
from crawler.items import AttachmentItem, PageFailureItem, ReportItem


def test_the_policy_clock_can_be_set_for_simulated_nights() -> None:
    assert policy_now(Settings({"NIANBAO_NOW": "2026-03-02"})) == datetime(2026, 3, 2, tzinfo=UTC)
    assert policy_now(Settings()).tzinfo is not None
    with pytest.raises(ConfigError, match="NIANBAO_NOW"):
        policy_now(Settings({"NIANBAO_NOW": "tonight"}))


def test_prepare_checks_the_folder_and_finishes_files_left_open(tmp_path: Path) -> None:
    folder = tmp_path / "warc"
    folder.mkdir()
    (folder / ("left-behind.warc.gz" + OPEN_SUFFIX)).write_bytes(b"")
    prepare_capture(Settings({"NIANBAO_WARC_DIR": str(folder)}))
    assert list(folder.iterdir()) == []  # an empty leftover has no record worth keeping
    (tmp_path / "file").write_text("x")
    with pytest.raises(WarcWriteError, match="cannot write WARC files in"):
        prepare_capture(Settings({"NIANBAO_WARC_DIR": str(tmp_path / "file" / "warc")}))
    prepare_capture(Settings({"NIANBAO_WARC_DIR": str(tmp_path / "file" / "warc"),
                              "NIANBAO_CAPTURE_ENABLED": False}))  # off: nothing checked


def test_items_get_the_capture_of_their_page() -> None:
    class Page:
        meta: ClassVar[dict[str, int]] = {"nianbao_capture_id": 42}

    report = ReportItem(site_key="s", url="http://x/a.htm")
    attachment = AttachmentItem(site_key="s", report_url="http://x/a.htm", url="http://x/a.pdf")
    already = ReportItem(site_key="s", url="http://x/b.htm", capture_id=7)
    failure = PageFailureItem(site_key="s", url="http://x/c.htm", reason="HTTP 404")
    request = Request("http://x/d.htm")
    out = list(CaptureLinkMiddleware().process_spider_output(
        Page(), [report, attachment, already, failure, request]))
    assert out == [report, attachment, already, failure, request]
    assert (report.capture_id, attachment.capture_id, already.capture_id) == (42, 42, 7)
