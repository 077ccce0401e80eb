"""Serve the demo site over HTTP from a background thread.

::

    with DemoServer() as server:            # build_demo_site() on a free port of 127.0.0.1
        print(server.base_url)              # http://127.0.0.1:PORT
        server.replace_page("/tjj/…/t20240115_1001.htm", new_bytes)
        server.request_counts["/robots.txt"]

Page lookup: a page defined with a query string (``/module/web/jpage/dataproxy.jsp?page=2``)
answers any request to that path whose parameters include all of the defined ones (GET query
plus, for POST, a form-encoded body); other parameters and their encoding are ignored. Any
other request is looked up by path alone (its query ignored). Unknown paths get a small 404
page. Responses carry ``Content-Length``, a strong ``ETag`` (a digest of the body) and
``Last-Modified`` (when the server started, or when :meth:`DemoServer.replace_page` last changed
the page); ``If-None-Match`` with the current ETag, or (without ``If-None-Match``)
``If-Modified-Since`` not older than ``Last-Modified``, gets ``304 Not Modified``.

``request_counts`` counts every request received (GET, HEAD, POST, including 404s), keyed by
the page key that answered it (the path, or the defined ``path?query`` for query pages) or by
the bare path when nothing matched.

Each request runs in its own daemon thread (``ThreadingHTTPServer``), so a page with a
``delay`` never holds up other requests, and :meth:`DemoServer.stop` wakes sleeping handlers
(they close their connection without answering) instead of waiting for them.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections import Counter
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

from crawler.demo.site import DemoPage, DemoSite, build_demo_site

_ROBOTS = b"User-agent: *\nDisallow: /private/\n"
_NOT_FOUND = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>404 页面不存在</title></head>"
    "<body><h1>404</h1><p>您访问的页面不存在或已被删除。</p></body></html>"
).encode()
_MAX_BODY = 1 << 20


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 makes a burst of connections wait for SYN retries

    demo: DemoServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "DemoGovWeb/1.0"

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(min(length, _MAX_BODY)) if length > 0 else b""
        self._answer(send_body=True, form=form)

    def _answer(self, send_body: bool, form: bytes = b"") -> None:
        demo = self.server.demo
        key, page = demo._lookup(self.path, form)
        demo._count(key)
        if page is None:
            self._send(404, "text/html; charset=utf-8", _NOT_FOUND, send_body)
            return
        if page.delay > 0 and demo._stopping.wait(page.delay):
            self.close_connection = True  # the server is stopping: hang up, answer nothing
            return
        etag = '"' + hashlib.sha256(page.body).hexdigest()[:32] + '"'
        modified = demo._modified_at(key)
        if page.status == 200 and _not_modified(self.headers, etag, modified):
            self._send(304, page.content_type, b"", False, etag, modified)
            return
        self._send(page.status, page.content_type, page.body, send_body, etag, modified)

    def _send(self, status: int, content_type: str, body: bytes, send_body: bool,
              etag: str | None = None, modified: float | None = None) -> None:
        try:
            self.send_response(status)
            # The server speaks HTTP/1.0 and hangs up after each answer; saying so keeps clients
            # from putting the connection back in their pool (Twisted reuses a connection unless
            # told "close", and a POST sent on one the server already closed is lost).
            self.send_header("Connection", "close")
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            if modified is not None:
                self.send_header("Last-Modified", formatdate(modified, usegmt=True))
            self.end_headers()
            if send_body and body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _etags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


def _not_modified(headers: object, etag: str, modified: float) -> bool:
    """RFC 9110: If-None-Match decides when present, else If-Modified-Since (whole seconds)."""
    if_none_match = headers.get("If-None-Match")  # type: ignore[attr-defined]
    if if_none_match is not None:
        return etag in _etags(if_none_match)
    since = headers.get("If-Modified-Since")  # type: ignore[attr-defined]
    if not since:
        return False
    try:
        return parsedate_to_datetime(since).timestamp() >= int(modified)
    except (TypeError, ValueError):
        return False


class DemoServer:
    """The demo site on ``host:port`` (port 0 picks a free one), served from a thread."""

    def __init__(self, site: DemoSite | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.site = site if site is not None else build_demo_site()
        self.host = host
        self.port = port
        self.request_counts: Counter[str] = Counter()
        self._pages: dict[str, DemoPage] = dict(self.site.pages)
        self._started = time.time()
        self._modified: dict[str, float] = {}  # page key -> when replace_page changed it
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        if "/robots.txt" not in self._pages:
            self._pages["/robots.txt"] = DemoPage(_ROBOTS, "text/plain; charset=utf-8")

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> DemoServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _Server((self.host, self.port), _Handler)
        httpd.demo = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"demo-server-{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; returns at once even while a slow request is being delayed."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the demo server is not running")
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        """``base_url`` + a root-relative path."""
        return self.base_url + path

    # --- changing the site while it runs ----------------------------------------------

    def replace_page(self, path: str, body: bytes) -> None:
        """Serve ``body`` at ``path`` from now on (content type and status kept; a new path
        is added as a UTF-8 HTML page). Used to simulate an edited report."""
        with self._lock:
            old = self._pages.get(path)
            if old is None:
                self._pages[path] = DemoPage(body, "text/html; charset=utf-8")
            else:
                self._pages[path] = DemoPage(body, old.content_type, old.status, old.delay)
            # Last-Modified has whole seconds: make the change visible to If-Modified-Since.
            self._modified[path] = max(time.time(), self._modified_at(path) + 1)

    def remove_page(self, path: str) -> None:
        """Answer 404 at ``path`` from now on (a report taken down)."""
        with self._lock:
            self._pages.pop(path, None)

    def page(self, path: str) -> DemoPage | None:
        """The page currently served under the key ``path``."""
        with self._lock:
            return self._pages.get(path)

    # --- request handling -------------------------------------------------------------

    def _modified_at(self, key: str) -> float:
        return self._modified.get(key, self._started)

    def _count(self, key: str) -> None:
        with self._lock:
            self.request_counts[key] += 1

    def _lookup(self, target: str, form: bytes = b"") -> tuple[str, DemoPage | None]:
        parts = urlsplit(target)
        path = parts.path or "/"
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if form:
            with contextlib.suppress(ValueError):
                params.update(parse_qsl(form.decode("utf-8", "replace"), keep_blank_values=True))
        with self._lock:
            best: tuple[int, str] | None = None
            for key in self._pages:
                if "?" not in key:
                    continue
                key_path, key_query = key.split("?", 1)
                if key_path != path:
                    continue
                wanted = dict(parse_qsl(key_query, keep_blank_values=True))
                if all(params.get(k) == v for k, v in wanted.items()) and (best is None or len(wanted) > best[0]):
                    best = (len(wanted), key)
            if best is not None:
                return best[1], self._pages[best[1]]
            page = self._pages.get(path)
            return path, page
