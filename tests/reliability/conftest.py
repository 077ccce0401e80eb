"""A scriptable bureau site on a real loopback HTTP server, and whole crawls against it.

:class:`HostileSite` answers each path with a handler of the test's choosing -- a normal page,
a 429 with ``Retry-After``, a connection dropped before the headers or in the middle of the
body -- and logs every request it receives with the (monotonic) time it arrived. Crawls run the
real ``nianbao crawl`` in a child process (Twisted's reactor cannot be restarted in the test
process), against the archive of the ``database_url`` fixture (SQLite and PostgreSQL).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.crawler.harness import run_nianbao
from tests.loopback import serving

Handler = Callable[[BaseHTTPRequestHandler], None]
REPORT_TITLE = "示范局{year}年政府信息公开工作年度报告"


def send(handler: BaseHTTPRequestHandler, status: int, body: str | bytes = b"",
         headers: dict[str, str] | None = None, content_type: str = "text/html; charset=utf-8") -> None:
    data = body.encode("utf-8") if isinstance(body, str) else body
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def list_page(links: dict[str, int]) -> str:
    """A column page linking each path to a report of its year."""
    items = "".join(f'<li><a href="{path}">{REPORT_TITLE.format(year=year)}</a></li>' for path, year in links.items())
    return f"<html><head><title>信息公开年报</title></head><body><ul>{items}</ul></body></html>"


def report_page(year: int) -> str:
    title = REPORT_TITLE.format(year=year)
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<div class='content'><p>一、总体情况</p><p>{year}年，本机关认真贯彻落实《中华人民共和国政府信息公开条例》，"
        "主动公开政府信息。本年新收政府信息公开申请10件。</p></div></body></html>"
    )


class HostileSite(ThreadingHTTPServer):
    daemon_threads = True
    # The crawler opens several connections at once: with the default backlog of 5 a dropped
    # SYN waits a second for its retransmission, longer than the tests' download timeout.
    request_queue_size = 128

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.log: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Dispatch)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up (a cancelled oversized download, a TLS probe) are expected

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def requests_for(self, path: str) -> list[float]:
        with self.lock:
            return [at for p, at in self.log if p == path]


class _Dispatch(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        server: HostileSite = self.server  # type: ignore[assignment]
        path = self.path.split("?", 1)[0]
        with server.lock:
            server.log.append((path, time.monotonic()))
        handler = server.routes.get(path)
        if handler is None:
            send(self, 404, "<html><body>not found</body></html>")
            return
        handler(self)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[HostileSite]:
    with serving(HostileSite()) as server:
        yield server


@dataclass
class Crawl:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def sites_toml(list_urls: list[str], key: str = "hostile-gov") -> str:
    urls = ", ".join(f'"{u}"' for u in list_urls)
    return (
        "[[sites]]\n"
        f'key = "{key}"\nname = "示范局"\nregion = "示范省示范市"\nlevel = "department"\n'
        f'family = "generic"\nlist_urls = [{urls}]\n'
    )


def crawl(tmp_path: Path, database_url: str, list_urls: list[str], *settings: str, timeout: float = 120) -> Crawl:
    """``nianbao crawl`` of one generic site whose column starts at ``list_urls``."""
    sites = tmp_path / "sites.toml"
    sites.write_text(sites_toml(list_urls), encoding="utf-8")
    args: list[str] = []
    for setting in ("AUTOTHROTTLE_ENABLED=False", "DOWNLOAD_DELAY=0", "DOWNLOAD_TIMEOUT=5", *settings):
        args += ["-s", setting]
    started = time.monotonic()
    result = run_nianbao("--db", database_url, "--sites", str(sites), "crawl", "-q", *args, cwd=tmp_path, timeout=timeout)
    return Crawl(result.returncode, result.stdout, result.stderr, time.monotonic() - started)
