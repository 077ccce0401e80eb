"""Real HTTP servers on loopback for the outgoing-request guard tests.

:class:`RecordingServer` is the *victim*: a service on the crawling machine that must never be
reached (a Redis, an admin page, a metadata endpoint). It listens on one port at several local
addresses (``127.0.0.1``, ``127.0.0.2``, ``::1`` where the machine has them) and records every
request it receives, so a test can assert that the crawl reached none of them.

:class:`RouteServer` is the *hostile site*: fixed pages, redirects and headers by path, on
``127.0.0.1``; it records every request too (with its headers).
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class Seen:
    address: str
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    location: str | None = None  # a redirect's Location header


@dataclass
class _Shared:
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_POST(self) -> None:
        self._answer(send_body=True)

    def _answer(self, send_body: bool) -> None:
        shared: _Shared = self.server.shared
        with shared.lock:
            shared.seen.append(
                Seen(self.server.server_address[0], self.command, self.path, dict(self.headers.items()))
            )
        path = self.path.split("?", 1)[0]
        route = shared.routes.get(self.path) or shared.routes.get(path)
        if route is None:
            route = Route(b"<html><body>secret data of the victim service</body></html>")
        self.send_response(route.status)
        if route.location is not None:
            self.send_header("Location", route.location)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if send_body and route.body:
            self.wfile.write(route.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class _Server6(_Server):
    address_family = socket.AF_INET6

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


class _Servers:
    """One or more listening sockets on the same port, sharing routes and a request log."""

    def __init__(self, addresses: tuple[str, ...]) -> None:
        self.addresses = addresses
        self.shared = _Shared()
        self.port = 0
        self.bound: list[str] = []
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []

    @property
    def routes(self) -> dict[str, Route]:
        return self.shared.routes

    @property
    def seen(self) -> list[Seen]:
        with self.shared.lock:
            return list(self.shared.seen)

    def start(self) -> _Servers:
        for address in self.addresses:
            cls = _Server6 if ":" in address else _Server
            try:
                server = cls((address, self.port), _Handler)
            except OSError:
                if not self._servers:
                    raise
                continue  # this machine lacks the address (no IPv6, no 127.0.0.2)
            server.shared = self.shared  # type: ignore[attr-defined]
            self.port = server.server_address[1]
            self.bound.append(address)
            self._servers.append(server)
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> _Servers:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class RecordingServer(_Servers):
    """The victim: every local address it can bind, one port, every request recorded."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", "127.0.0.2", "::1"))


class RouteServer(_Servers):
    """A site on ``host`` (default 127.0.0.1) serving :class:`Route` s by path."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__((host,))
        self.host = host

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"
