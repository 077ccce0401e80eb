"""Turn a failed request into one short, human-readable reason for the crawl record."""

from __future__ import annotations

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectError,
    ConnectionLost,
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived


def describe_failure(failure: Failure, timeout: float | None = None) -> tuple[str, int | None]:
    """``(reason, http_status)`` for a request's errback failure."""
    error = failure.value
    if isinstance(error, HttpError):
        status = error.response.status
        return f"HTTP {status}", status
    if isinstance(error, (DownloadTimeoutError, TimeoutError, TCPTimedOutError)):
        return (f"timeout after {timeout:g}s" if timeout else "timeout"), None
    if isinstance(error, (CannotResolveHostError, DNSLookupError)):
        return "DNS lookup failed", None
    if isinstance(error, (DownloadConnectionRefusedError, ConnectionRefusedError)):
        return "connection refused", None
    if isinstance(error, ResponseNeverReceived):
        return _first_line(f"no response: {_inner(error)}"), None
    if isinstance(error, ResponseDataLossError):
        return "response truncated (data loss)", None
    if isinstance(error, UnsupportedURLSchemeError):
        return _first_line(f"unsupported URL scheme: {error}"), None
    if isinstance(error, (ResponseFailed, ConnectionLost)):
        return _first_line(f"connection lost: {_inner(error)}"), None
    if isinstance(error, (DownloadFailedError, ConnectError)):
        return _first_line(f"cannot connect: {error}"), None
    if isinstance(error, IgnoreRequest):
        return _first_line(str(error) or "request ignored"), None
    return _first_line(f"{type(error).__name__}: {error}"), None


def _inner(error: Exception) -> str:
    reasons = getattr(error, "reasons", None)
    if reasons:
        first = reasons[0]
        value = getattr(first, "value", first)
        if isinstance(value, (TimeoutError, TCPTimedOutError)):
            return "timeout"
        return f"{type(value).__name__}: {value}"
    return str(error) or type(error).__name__


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line[:limit]
