"""Scrapy requests and responses as warcio WARC records.

Scrapy hands the middleware the response after Twisted has removed the chunked transfer
coding, so the archived HTTP headers drop ``Transfer-Encoding`` and state the ``Content-Length``
of the body as received; any ``Content-Encoding`` (gzip …) is kept with the still-encoded body,
exactly as the server sent it. Digests: warcio's ``sha1:`` WARC-Payload-Digest (what revisit
records refer to); the database keeps a sha256 of the same payload.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response
from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date

__all__ = [
    "NOT_MODIFIED_PROFILE",
    "Exchange",
    "payload_digest",
    "request_record",
    "response_record",
    "revisit_record",
    "warc_date",
]

NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
_DROPPED = {b"transfer-encoding", b"content-length"}

_builder = RecordBuilder(warc_version="1.1")


def warc_date(moment: datetime) -> str:
    """WARC-Date in UTC with microseconds (WARC 1.1 allows them); naive means UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return datetime_to_iso_date(moment, use_micros=True)


def payload_digest(body: bytes) -> str:
    """The WARC-Payload-Digest warcio writes for ``body`` (``sha1:`` + base32)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange as plain data: what the WARC records are built from.

    Scrapy's request and response objects hold callbacks and cannot leave the crawl process;
    the archive writer (:mod:`crawler.writer`), which may run in a process of its own, builds
    the records from this copy.
    """

    request_url: str
    method: str
    request_headers: tuple[tuple[bytes, bytes], ...]
    request_body: bytes
    status: int
    protocol: str
    response_headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    @classmethod
    def of(cls, request: Request, response: Response) -> Exchange:
        return cls(
            request_url=request.url,
            method=request.method,
            request_headers=tuple((name, value) for name, values in request.headers.items() for value in values),
            request_body=request.body or b"",
            status=response.status,
            protocol=getattr(response, "protocol", None) or "HTTP/1.1",
            response_headers=tuple((name, value) for name, values in response.headers.items() for value in values),
            body=response.body,
        )


def _response_headers(exchange: Exchange) -> StatusAndHeaders:
    status = exchange.status
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    headers: list[tuple[str, str]] = []
    had_length = False
    for name, value in exchange.response_headers:
        if name.lower() in _DROPPED:
            had_length = had_length or name.lower() == b"content-length"
            continue
        headers.append((name.decode("latin-1"), value.decode("latin-1")))
    if exchange.body or had_length:
        headers.append(("Content-Length", str(len(exchange.body))))
    return StatusAndHeaders(f"{status} {reason}".strip(), headers, protocol=exchange.protocol)


def _request_headers(exchange: Exchange) -> StatusAndHeaders:
    parts = urlsplit(exchange.request_url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers: list[tuple[str, str]] = [("Host", parts.netloc)]
    for name, value in exchange.request_headers:
        headers.append((name.decode("latin-1"), value.decode("latin-1")))
    if exchange.request_body:
        headers.append(("Content-Length", str(len(exchange.request_body))))
    return StatusAndHeaders(f"{exchange.method} {target} HTTP/1.1", headers, is_http_request=True)


def response_record(url: str, exchange: Exchange, moment: datetime) -> object:
    """A ``response`` record holding the full payload."""
    body = exchange.body
    return _builder.create_warc_record(
        url,
        "response",
        payload=BytesIO(body),
        length=len(body),
        http_headers=_response_headers(exchange),
        warc_headers_dict={"WARC-Date": warc_date(moment)},
    )


def revisit_record(
    url: str,
    exchange: Exchange,
    moment: datetime,
    *,
    refers_to_uri: str,
    refers_to_date: datetime,
    refers_to_record_id: str,
    digest: str | None,
    not_modified: bool,
) -> object:
    """A ``revisit``: identical-payload-digest (same bytes again) or server-not-modified (304)."""
    warc_headers = {
        "WARC-Date": warc_date(moment),
        "WARC-Refers-To": refers_to_record_id,
    }
    if not not_modified:
        return _builder.create_revisit_record(
            url,
            digest,
            refers_to_uri,
            warc_date(refers_to_date),
            http_headers=_response_headers(exchange),
            warc_headers_dict=warc_headers,
        )
    # A 304 has no payload of its own, so no payload digest; it confirms the referred one.
    warc_headers.update(
        {
            "WARC-Profile": NOT_MODIFIED_PROFILE,
            "WARC-Refers-To-Target-URI": refers_to_uri,
            "WARC-Refers-To-Date": warc_date(refers_to_date),
        }
    )
    return _builder.create_warc_record(
        url, "revisit", http_headers=_response_headers(exchange), warc_headers_dict=warc_headers
    )


def request_record(url: str, exchange: Exchange, moment: datetime, concurrent_to: str) -> object:
    """The ``request`` record sent for a response, linked by WARC-Concurrent-To."""
    body = exchange.request_body
    return _builder.create_warc_record(
        url,
        "request",
        payload=BytesIO(body),
        length=len(body),
        http_headers=_request_headers(exchange),
        warc_headers_dict={"WARC-Date": warc_date(moment), "WARC-Concurrent-To": concurrent_to},
    )
