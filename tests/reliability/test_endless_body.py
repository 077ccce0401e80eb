"""Bodies that never end: a server answers ``200`` with ``Transfer-Encoding: chunked`` and no
length, then streams chunks forever -- fast (a runaway script, a tarpit feeding garbage) or a
few bytes at a time (a tarpit meant to hold the crawler's connection for ever). The fast stream
is cut at ``DOWNLOAD_MAXSIZE``, the trickle at ``DOWNLOAD_TIMEOUT``; both are recorded in
``crawl_errors`` with a readable reason, the server sees the connection closed, the rest of the
column is archived and the crawl finishes. Real loopback server, real crawl, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from storage.db import open_archive
from storage.models import CrawlError, Document
from tests.reliability.conftest import HostileSite, crawl, list_page, report_page, send

MAXSIZE = 500_000
TIMEOUT = 2


class _Stream:
    """Handlers streaming chunks until the client hangs up; counts the bytes each one sent."""

    def __init__(self) -> None:
        self.sent: dict[str, int] = {}
        self.ended: dict[str, threading.Event] = {}

    def handler(self, name: str, chunk: bytes, pause: float):
        self.sent[name] = 0
        self.ended[name] = threading.Event()

        def stream(h) -> None:
            try:
                h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n")
                h.wfile.write(b"%x\r\n<html><body>\r\n" % len(b"<html><body>"))
                while True:
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    h.wfile.flush()
                    self.sent[name] += len(chunk)
                    if pause:
                        time.sleep(pause)
            except OSError:
                pass  # the crawler hung up: what must happen
            finally:
                h.close_connection = True
                self.ended[name].set()

        return stream


def test_endless_bodies_are_cut_and_recorded(site: HostileSite, tmp_path, database_url):
    streams = _Stream()
    site.routes["/col/index.html"] = lambda h: send(
        h, 200, list_page({"/col/flood.html": 2019, "/col/trickle.html": 2020, "/col/ok.html": 2022}))
    site.routes["/col/flood.html"] = streams.handler("flood", b"x" * 16384, 0)
    site.routes["/col/trickle.html"] = streams.handler("trickle", "政府信息公开".encode() * 2, 0.05)
    site.routes["/col/ok.html"] = lambda h: send(h, 200, report_page(2022))

    result = crawl(tmp_path, database_url, [site.url("/col/index.html")], "RETRY_TIMES=0",
                   f"DOWNLOAD_TIMEOUT={TIMEOUT}", f"DOWNLOAD_MAXSIZE={MAXSIZE}", timeout=60)
    assert result.returncode in (0, 1), result.stderr
    assert result.seconds < 30, result.stdout

    # Both servers saw the connection closed (their writes failed): nothing streams on.
    for name in ("flood", "trickle"):
        assert streams.ended[name].wait(10), f"{name} still streaming"
    # The flood was cut near the size limit (socket buffers hold a few MB more at most).
    assert MAXSIZE <= streams.sent["flood"] < MAXSIZE + 16 * 1024 * 1024

    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            errors = {e.url: e.reason for e in session.scalars(select(CrawlError))}
            documents = list(session.scalars(select(Document.url)))
    finally:
        sessions.kw["bind"].dispose()
    assert documents == [site.url("/col/ok.html")]
    assert errors == {
        site.url("/col/flood.html"): f"response too large (over {MAXSIZE} bytes)",
        site.url("/col/trickle.html"): f"timeout after {TIMEOUT}s",
    }
