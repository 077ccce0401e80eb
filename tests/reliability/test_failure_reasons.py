"""Servers that fail in every way a bureau server (or the network in front of it) does, and
the reason each failure is recorded with: short words an archivist can act on, never a Python
or Twisted repr such as ``<twisted.python.failure.Failure twisted.web._newclient.
ResponseNeverReceived: [...]>``. One real crawl against real loopback servers, on SQLite and
PostgreSQL; every reason is read back from ``crawl_errors`` (and an attachment's link).
"""

from __future__ import annotations

import contextlib
import re
import socket
import time

import pytest
from sqlalchemy import select

from crawler.failures import describe_error
from storage.db import open_archive
from storage.models import CrawlError, Document
from tests.reliability.conftest import HostileSite, crawl, list_page, report_page, send

MAXSIZE = 100_000
TIMEOUT = 1


def _raw(handler, data: bytes) -> None:
    """Write bytes as they are (no status line of the handler's making), then hang up."""
    handler.wfile.write(data)
    handler.wfile.flush()
    handler.close_connection = True


def _hang_up(handler) -> None:
    """Read the request, answer nothing, close: the connection is lost before the response."""
    handler.close_connection = True


def _cut_mid_body(handler) -> None:
    """Promise 5000 bytes, send 20, close."""
    _raw(handler, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<html><body>2023\xe5\xb9\xb4")


def _cut_mid_chunk(handler) -> None:
    """A chunked body that stops after its first chunk."""
    _raw(handler, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n<html>\r\n")


def _too_large_announced(handler) -> None:
    send(handler, 200, b"x" * (2 * MAXSIZE))


def _too_large_streamed(handler) -> None:
    """No Content-Length: the size only shows while the body streams in."""
    try:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n")
        for _ in range(40):
            handler.wfile.write(b"x" * 8192)
    except OSError:
        pass
    handler.close_connection = True


def _not_http(handler) -> None:
    _raw(handler, b"SSH-2.0-OpenSSH_9.6\r\n")


def _slow(handler) -> None:
    time.sleep(TIMEOUT + 2)
    with contextlib.suppress(OSError):  # the crawler hung up already
        send(handler, 200, report_page(2022))


def _report_with_attachment(handler) -> None:
    page = report_page(2023).replace(
        "</div>", '<p>附件：<a href="/col/table3.xls">2023年政府信息公开申请情况统计表.xls</a></p></div>'
    )
    send(handler, 200, page)


REPORTS = {
    "/col/drop-before.html": (2013, _hang_up, "connection lost before the response"),
    "/col/drop-mid.html": (2014, _cut_mid_body, "connection lost mid-body"),
    "/col/drop-chunk.html": (2015, _cut_mid_chunk, "connection lost mid-body"),
    "/col/big.html": (2016, _too_large_announced, f"response too large ({2 * MAXSIZE} bytes announced, over {MAXSIZE} bytes)"),
    "/col/big-stream.html": (2017, _too_large_streamed, f"response too large (over {MAXSIZE} bytes)"),
    "/col/not-http.html": (2018, _not_http, "invalid HTTP response"),
    "/col/slow.html": (2019, _slow, f"timeout after {TIMEOUT}s"),
    "/col/gone.html": (2020, lambda h: send(h, 410, "gone"), "HTTP 410"),
}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_every_failure_is_recorded_with_a_readable_reason(site: HostileSite, tmp_path, database_url):
    """A column whose report links fail in every way: hang-ups before the headers and in the
    middle of the body (Content-Length and chunked), oversized answers (announced and
    streamed), a non-HTTP answer, a timeout, an HTTP error; plus list pages on a port nobody
    listens on, on a host that does not resolve and over TLS to a server that speaks plain
    HTTP; plus an attachment whose server hangs up."""
    links = {path: year for path, (year, _, _) in REPORTS.items()} | {"/col/ok.html": 2023}
    site.routes["/col/index.html"] = lambda h: send(h, 200, list_page(links))
    for path, (_, handler, _) in REPORTS.items():
        site.routes[path] = handler
    site.routes["/col/ok.html"] = _report_with_attachment
    site.routes["/col/table3.xls"] = _hang_up
    port = site.server_address[1]
    refused = f"http://127.0.0.1:{_closed_port()}/col/index.html"
    unresolvable = "http://nianbao-test.invalid/col/index.html"
    tls = f"https://127.0.0.1:{port}/col/index.html"

    result = crawl(tmp_path, database_url, [site.url("/col/index.html"), refused, unresolvable, tls],
                   "RETRY_TIMES=0", f"DOWNLOAD_TIMEOUT={TIMEOUT}", f"DOWNLOAD_MAXSIZE={MAXSIZE}")
    assert result.returncode in (0, 1), result.stderr

    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            reasons = {e.url: e.reason for e in session.scalars(select(CrawlError))}
            documents = set(session.scalars(select(Document.url)))
            from storage.models import AttachmentLink

            attachment_errors = {a.url: a.error for a in session.scalars(select(AttachmentLink))}
    finally:
        sessions.kw["bind"].dispose()

    expected = {site.url(path): reason for path, (_, _, reason) in REPORTS.items()}
    expected |= {
        refused: "connection refused",
        unresolvable: "DNS lookup failed for nianbao-test.invalid",
        tls: "TLS handshake failed: wrong version number",
    }
    assert reasons == expected
    assert documents == {site.url("/col/ok.html")}
    assert attachment_errors == {site.url("/col/table3.xls"): "connection lost before the response"}
    for reason in [*reasons.values(), *attachment_errors.values()]:
        assert not re.search(r"[<>\[\]]|Failure|twisted|Error\b|0x[0-9a-f]", reason), reason
    # The crawl's own summary shows the same words.
    assert "connection lost before the response" in result.stdout


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ValueError("<twisted.python.failure.Failure builtins.ValueError: x>"), "ValueError"),
        (RuntimeError(""), "RuntimeError"),
        (RuntimeError("Missing scheme in request url: nope"), "Missing scheme in request url: nope"),
    ],
)
def test_unknown_errors_never_leak_a_repr(error, reason):
    """Whatever new exception a library raises, a repr never becomes a recorded reason."""
    assert describe_error(error) == reason
