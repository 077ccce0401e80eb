"""Honour ``Retry-After``: a server that answers 429 or 503 with it pauses the whole host.

Scrapy retries a 429/503 after its usual delay and ignores ``Retry-After`` (scrapy/scrapy#3849).
A bureau server that asks for ten seconds of quiet must get them -- for every request to it, not
only the one that is retried. :class:`RetryAfterMiddleware`:

- on the ``response_downloaded`` signal (sent before the downloader takes the host's next
  queued request) reads ``Retry-After`` -- delay seconds or an HTTP date -- on a 429 or 503 and
  holds the host's download slot for that long: nothing queued for the host is sent before the
  time is up, the retried request included (Scrapy's own slot delay and AutoThrottle apply
  after it as before). Requests already on the wire are not called back;
- past ``NIANBAO_RETRY_AFTER_MAX`` seconds (default 300) the host is not held and the request is
  not retried: it fails with :class:`RateLimited` ("rate-limited: the server asked to wait 900 s
  (limit 300 s)"), which the spider records as the page's failure while the crawl goes on.

It sits just before Scrapy's RetryMiddleware (550) in the response chain, so a rate-limited
answer is never retried, and after the capture middleware, so the answer itself is archived.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from time import monotonic
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.typed_defaults import float_default

__all__ = ["RETRY_AFTER_STATUSES", "RateLimited", "RetryAfterMiddleware", "retry_after_seconds"]

RETRY_AFTER_STATUSES = (429, 503)
MAX_SETTING = "NIANBAO_RETRY_AFTER_MAX"
_SECONDS = re.compile(r"\d+(?:\.\d+)?")


class RateLimited(IgnoreRequest):
    """The server asked to wait longer than the crawl is willing to."""


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """The wait ``Retry-After`` asks for, in seconds (0 for a date in the past), or None when
    the header is absent or unreadable."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if _SECONDS.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _describe(seconds: float) -> str:
    return f"{seconds:.0f}" if seconds >= 10 or seconds.is_integer() else f"{seconds:.1f}"


class RetryAfterMiddleware:
    """Hold a host's download slot for as long as its 429/503 ``Retry-After`` asks."""

    def __init__(self, crawler: Crawler, max_wait: float,
                 call_later: Callable[..., Any] | None = None) -> None:
        self.crawler = crawler
        self.max_wait = max_wait
        self._call_later = call_later
        # slot key -> monotonic time before which the host gets no new request
        self.held_until: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        middleware = cls(crawler, crawler.settings.getfloat(MAX_SETTING, float_default(MAX_SETTING)))
        crawler.signals.connect(middleware.response_downloaded, signal=signals.response_downloaded)
        return middleware

    # -- the signal: hold the slot before the downloader sends its next request ---------------

    def response_downloaded(self, response: Response, request: Request, spider: Spider | None = None) -> None:
        wait = self._wait(response)
        if wait is None or wait <= 0 or wait > self.max_wait:
            return
        self.hold(request, wait)

    def hold(self, request: Request, wait: float) -> None:
        """Send nothing more to ``request``'s host for ``wait`` seconds."""
        engine = getattr(self.crawler, "engine", None)
        downloader = getattr(engine, "downloader", None)
        if downloader is None:
            return
        key = request.meta.get(downloader.DOWNLOAD_SLOT) or downloader.get_slot_key(request)
        slot = downloader.slots.get(key)
        if slot is None:
            return
        until = monotonic() + wait
        if self.held_until.get(key, 0.0) >= until:
            return  # already held at least that long
        self.held_until[key] = until
        self.crawler.stats.inc_value("nianbao/retry_after_holds")
        # The downloader sends nothing from a slot while ``latercall`` is pending, and measures
        # its own delay from ``lastseen``: moving it to the end of the hold also keeps the idle
        # slot from being garbage-collected (and the hold forgotten) meanwhile.
        if slot.latercall is not None:
            slot.latercall.cancel()
        slot.lastseen = max(slot.lastseen, until)
        slot.latercall = self._schedule(wait, self._release, downloader, key, slot)

    def _schedule(self, wait: float, func: Callable[..., Any], *args: Any) -> Any:
        if self._call_later is not None:
            return self._call_later(wait, func, *args)
        from scrapy.utils.asyncio import call_later

        return call_later(wait, func, *args)

    def _release(self, downloader: Any, key: str, slot: Any) -> None:
        slot.latercall = None
        if self.held_until.get(key, 0.0) <= monotonic():
            self.held_until.pop(key, None)
        downloader._process_queue(slot)  # what the downloader's own latercall does

    # -- the response: too long a wait is a failure, never retried ----------------------------

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        wait = self._wait(response)
        if wait is not None and wait > self.max_wait:
            self.crawler.stats.inc_value("nianbao/rate_limited")
            raise RateLimited(
                f"rate-limited: the server asked to wait {_describe(wait)} s (limit {_describe(self.max_wait)} s)"
            )
        return response

    @staticmethod
    def _wait(response: Response) -> float | None:
        if response.status not in RETRY_AFTER_STATUSES:
            return None
        return retry_after_seconds(response.headers.get(b"Retry-After"))
