"""Turn a failed request into one short, human-readable reason for the crawl record.

A reason is words an archivist can act on -- ``connection refused``, ``connection lost before
the response``, ``connection lost mid-body``, ``DNS lookup failed for www.example.gov.cn``,
``timeout after 30s``, ``TLS handshake failed: wrong version number``, ``response too large
(over 67108864 bytes)``, ``invalid HTTP response`` -- never a Python or Twisted repr. Scrapy
wraps Twisted's errors (``DownloadFailedError`` around a ``ResponseNeverReceived`` around a
list of ``Failure`` objects); :func:`describe_error` looks through the wrapping at what
actually happened.

:class:`FailureContextMiddleware` puts the size limit a download runs under on the request (as
Scrapy's ``DownloadTimeoutMiddleware`` does for the timeout), so a download cut off for its size
can name the limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.internet.error import (
    ConnectBindError,
    ConnectError,
    ConnectingCancelledError,
    ConnectionClosed,
    ConnectionRefusedError,
    DNSLookupError,
    NoRouteError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web._newclient import ParseError, ResponseFailed, ResponseNeverReceived

try:  # private in Twisted, but the only mark of a body cut short
    from twisted.web.http import _DataLoss as DataLoss
except ImportError:  # pragma: no cover - a Twisted without it
    DataLoss = ()  # type: ignore[assignment,misc]

from OpenSSL.SSL import Error as TLSError

__all__ = ["FailureContextMiddleware", "describe_error", "describe_failure"]

_TIMEOUTS = (DownloadTimeoutError, TimeoutError, TCPTimedOutError)
_TOO_LARGE = re.compile(r"(\d+) bytes which is larger than download max size \((\d+)\)")
_LOOKUP_HOST = re.compile(r"lookup:\s*(\S+?)\.?$")
# Scrapy's HttpCompressionMiddleware refusing a body that expands past DOWNLOAD_MAXSIZE (a
# compression bomb): "Ignored response <200 URL> because its body (N B compressed, M B
# decompressed so far) exceeded DOWNLOAD_MAXSIZE (L B) during decompression."
_DECOMPRESSED_TOO_LARGE = re.compile(
    r"\((\d+) B compressed, \d+ B decompressed.*?\) exceeded DOWNLOAD_MAXSIZE \((\d+) B\) during decompression"
)


def describe_failure(failure: Failure, timeout: float | None = None,
                     maxsize: int | None = None) -> tuple[str, int | None]:
    """``(reason, http_status)`` for a request's errback failure."""
    error = failure.value
    if isinstance(error, HttpError):
        status = error.response.status
        return f"HTTP {status}", status
    request = getattr(failure, "request", None)
    meta = request.meta if isinstance(request, Request) else {}
    if timeout is None:
        timeout = meta.get("download_timeout")
    if maxsize is None:
        maxsize = meta.get("download_maxsize")
    url = request.url if isinstance(request, Request) else None
    # Twisted types Failure.value as optional; a Failure made from an exception always has one
    return describe_error(error, url=url, timeout=timeout, maxsize=maxsize), None  # type: ignore[arg-type]


def describe_error(error: BaseException, *, url: str | None = None, timeout: float | None = None,
                   maxsize: int | None = None) -> str:
    """One readable line for a download error (Scrapy's, Twisted's or OpenSSL's)."""
    timed_out = f"timeout after {timeout:g}s" if timeout else "timeout"
    if isinstance(error, IgnoreRequest):  # refused redirects, rate limits, robots.txt ...
        found = _DECOMPRESSED_TOO_LARGE.search(str(error))
        if found:
            return (f"response too large after decompression (over {found.group(2)} bytes, "
                    f"{found.group(1)} bytes compressed)")
        return _first_line(str(error)) or "request ignored"
    if isinstance(error, _TIMEOUTS):
        return timed_out
    if isinstance(error, (CannotResolveHostError, DNSLookupError)):
        host = _host(url) or _lookup_host(str(error))
        return f"DNS lookup failed for {host}" if host else "DNS lookup failed"
    if isinstance(error, (DownloadConnectionRefusedError, ConnectionRefusedError)):
        return "connection refused"
    if isinstance(error, (DownloadCancelledError, CancelledError)):
        found = _TOO_LARGE.search(str(error))
        if found:
            return f"response too large ({found.group(1)} bytes announced, over {found.group(2)} bytes)"
        if maxsize:
            return f"response too large (over {maxsize} bytes)"
        return "download cancelled"
    if isinstance(error, ResponseDataLossError):
        return "connection lost mid-body"
    if isinstance(error, UnsupportedURLSchemeError):
        scheme = urlsplit(url).scheme if url else ""
        return f"unsupported URL scheme {scheme!r}" if scheme else "unsupported URL scheme"
    if isinstance(error, TLSError):
        return _tls(error)
    failed = next((e for e in _causes(error) if isinstance(e, ResponseFailed)), None)
    if failed is not None:
        return _response_failed(failed, timed_out)
    if isinstance(error, ConnectionClosed):  # ConnectionLost, ConnectionDone
        return "connection lost"
    if isinstance(error, NoRouteError):
        return "no route to host"
    if isinstance(error, ConnectBindError):
        return "could not bind a local address"
    if isinstance(error, ConnectingCancelledError):
        return "connecting cancelled"
    if isinstance(error, ConnectError):
        return _first_line(f"could not connect: {str(error).rstrip('.')}")
    if isinstance(error, DownloadFailedError):
        cause = error.__cause__
        if cause is not None and cause is not error:
            return describe_error(cause, url=url, timeout=timeout, maxsize=maxsize)
        return _readable(str(error), "download failed")
    return _readable(str(error), type(error).__name__)


def _response_failed(failed: ResponseFailed, timed_out: str) -> str:
    """What a Twisted ``ResponseFailed`` (or ``ResponseNeverReceived``) stands for."""
    reasons = [getattr(reason, "value", reason) for reason in failed.reasons or ()]
    before = isinstance(failed, ResponseNeverReceived)
    if any(isinstance(r, _TIMEOUTS) for r in reasons):
        return timed_out
    tls = next((r for r in reasons if isinstance(r, TLSError)), None)
    if tls is not None:
        return _tls(tls) if before else "TLS error mid-response"
    if any(isinstance(r, DataLoss) for r in reasons):  # DataLoss may be () (never matches)
        return "connection lost mid-body"
    if any(isinstance(r, ParseError) for r in reasons):
        return "invalid HTTP response"
    if any(isinstance(r, ConnectionClosed) for r in reasons):
        return "connection lost before the response" if before else "connection lost mid-response"
    if before:
        return "no response"
    return "response failed"


def _tls(error: BaseException) -> str:
    """``TLS handshake failed: <OpenSSL's reason>`` from OpenSSL's list of (lib, func, reason)."""
    details: list[str] = []
    for entry in error.args[0] if error.args and isinstance(error.args[0], list) else ():
        if isinstance(entry, tuple) and entry and str(entry[-1]):
            details.append(str(entry[-1]))
    detail = "; ".join(dict.fromkeys(details))
    return _first_line(f"TLS handshake failed: {detail}" if detail else "TLS handshake failed")


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _lookup_host(message: str) -> str | None:
    found = _LOOKUP_HOST.search(message.strip())
    return found.group(1) if found else None


def _readable(message: str, fallback: str) -> str:
    """``message`` unless it is a repr (Twisted Failures, ``<object at 0x...>``) or empty."""
    line = _first_line(message)
    if not line or "Failure" in line or re.search(r"<[\w.]+[ :>]", line):
        return fallback
    return line


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:limit]


class FailureContextMiddleware:
    """Record the download size limit on each request (``download_maxsize`` in its meta, as
    ``DownloadTimeoutMiddleware`` records ``download_timeout``) so a failure can name it."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FailureContextMiddleware:
        return cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def process_request(self, request: Request, spider: Spider | None = None) -> Any:
        if self.maxsize:
            request.meta.setdefault("download_maxsize", self.maxsize)
        return None
