"""A one-line live progress display for crawls run on a terminal.

The runner creates one :class:`ProgressBoard` for the whole run and hands it to every site's
crawler through the ``NIANBAO_PROGRESS`` setting; each crawler's :class:`ProgressExtension`
reports its site's counts to the board, which redraws a single status line on stderr at most a
few times a second. Without a board (not a terminal, ``--quiet``) the extension disables itself.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

PROGRESS_SETTING = "NIANBAO_PROGRESS"


@dataclass
class SiteProgress:
    pages: int = 0
    reports: int = 0
    failures: int = 0
    done: bool = False


class ProgressBoard:
    """Counts per site, drawn as one line that is rewritten in place."""

    def __init__(self, stream: TextIO = sys.stderr, interval: float = 0.25) -> None:
        self.stream = stream
        self.interval = interval
        self.sites: dict[str, SiteProgress] = {}
        self._last_draw = 0.0
        self._width = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> ProgressBoard:
        # Scrapy deep-copies settings for every crawler; all crawlers of a run share one board.
        return self

    def update(self, site_key: str, *, pages: int, reports: int, failures: int, done: bool = False) -> None:
        self.sites[site_key] = SiteProgress(pages, reports, failures, done)
        now = time.monotonic()
        if done or now - self._last_draw >= self.interval:
            self._last_draw = now
            self._draw()

    def line(self) -> str:
        total_pages = sum(s.pages for s in self.sites.values())
        total_reports = sum(s.reports for s in self.sites.values())
        total_failures = sum(s.failures for s in self.sites.values())
        finished = sum(1 for s in self.sites.values() if s.done)
        return (
            f"crawling: {finished}/{len(self.sites)} sites done, {total_pages} pages, "
            f"{total_reports} reports, {total_failures} failures"
        )

    def _draw(self) -> None:
        text = self.line()
        padding = " " * max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write(f"\r{text}{padding}")
        self.stream.flush()

    def close(self) -> None:
        if self._width:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()


class ProgressExtension:
    """Feeds one site's crawl stats to the run's :class:`ProgressBoard`."""

    def __init__(self, crawler: Crawler, board: ProgressBoard) -> None:
        self.crawler = crawler
        self.board = board

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        board = crawler.settings.get(PROGRESS_SETTING)
        if board is None:
            raise NotConfigured()  # not a terminal: nothing to draw
        extension = cls(crawler, board)
        crawler.signals.connect(extension.refresh, signal=signals.response_received)
        crawler.signals.connect(extension.refresh, signal=signals.item_scraped)
        crawler.signals.connect(extension.closed, signal=signals.spider_closed)
        return extension

    def refresh(self, *args: Any, done: bool = False, **kwargs: Any) -> None:
        spider = self.crawler.spider
        stats = self.crawler.stats
        self.board.update(
            # Scrapy types crawler.spider as an optional base Spider; ours (running) carries .site
            spider.site.key,  # type: ignore[union-attr]
            pages=stats.get_value("nianbao/list_pages", 0) + stats.get_value("nianbao/report_pages", 0),
            reports=stats.get_value("nianbao/reports_found", 0),
            failures=stats.get_value("nianbao/failures", 0),
            done=done,
        )

    def closed(self, *args: Any, **kwargs: Any) -> None:
        self.refresh(done=True)
