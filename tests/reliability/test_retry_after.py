"""Servers that rate-limit: a 429 (or 503) with ``Retry-After`` must hold the whole host for
that long -- the retried page and every other page queued for the host -- up to
``NIANBAO_RETRY_AFTER_MAX``; a server asking for longer gets the page recorded as rate-limited,
and the crawl goes on. Real loopback servers, real crawls, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from crawler.ratelimit import retry_after_seconds
from storage.db import open_archive
from storage.models import CrawlError, Document
from tests.reliability.conftest import HostileSite, crawl, list_page, report_page, send


def _archive(database_url: str) -> tuple[set[str], list[CrawlError]]:
    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            urls = set(session.scalars(select(Document.url)))
            errors = list(session.scalars(select(CrawlError)))
            session.expunge_all()
    finally:
        sessions.kw["bind"].dispose()
    return urls, errors


def _serve_column(site: HostileSite) -> None:
    site.routes["/a/index.html"] = lambda h: send(h, 200, list_page({"/a/r2022.html": 2022}))
    site.routes["/b/index.html"] = lambda h: send(h, 200, list_page({"/b/r2023.html": 2023}))
    site.routes["/a/r2022.html"] = lambda h: send(h, 200, report_page(2022))
    site.routes["/b/r2023.html"] = lambda h: send(h, 200, report_page(2023))


def _http_date_in(seconds: int) -> str:
    # An HTTP date has whole seconds: "3 s from now" asks for between 2 and 3 seconds.
    return format_datetime(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize("retry_after", ["2", "http-date"])
def test_retry_after_holds_every_request_to_the_host(site: HostileSite, tmp_path, database_url, retry_after):
    """A server answers its first page with ``429 Too Many Requests`` and ``Retry-After: 2``
    (or an HTTP date 3 s ahead): nothing may reach it for 2 s -- neither the retry nor the
    other column page that was already queued for the same host.

    One request at a time with a 0.2 s delay: with DOWNLOAD_DELAY=0 Scrapy's downloader hands
    out a slot's queued requests together, so the second page would already be on the wire
    when the 429 arrives (nothing can hold a request already sent)."""
    _serve_column(site)
    first = {"answered": False}
    pages = {"/a/index.html", "/b/index.html"}
    for path in pages:
        normal = site.routes[path]

        def limited(h, normal=normal):
            if not first["answered"]:
                first["answered"] = True
                value = _http_date_in(3) if retry_after == "http-date" else retry_after
                send(h, 429, "slow down", {"Retry-After": value})
                return
            normal(h)

        site.routes[path] = limited

    result = crawl(tmp_path, database_url, [site.url("/a/index.html"), site.url("/b/index.html")],
                   "RETRY_TIMES=2", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "DOWNLOAD_DELAY=0.2")
    assert result.returncode == 0, result.stderr + result.stdout

    log = [(path, at) for path, at in site.log if path != "/robots.txt"]
    limited_at = next(i for i, (path, _) in enumerate(log) if path in pages)
    refused_path, refused_at = log[limited_at]
    after = log[limited_at + 1:]
    gaps = {path: round(at - refused_at, 2) for path, at in after}
    # Every later request waited at least the 2 s asked for, the retry and the other page alike.
    assert after and min(at - refused_at for _, at in after) >= 2.0, gaps
    other = (pages - {refused_path}).pop()
    assert site.requests_for(other)[0] - refused_at >= 2.0, gaps  # held, not only the retried page
    assert len(site.requests_for(refused_path)) == 2  # the 429, then one retry
    documents, errors = _archive(database_url)
    assert documents == {site.url("/a/r2022.html"), site.url("/b/r2023.html")}
    assert errors == []


def test_retry_after_beyond_the_limit_is_recorded_as_rate_limited(site: HostileSite, tmp_path, database_url):
    """A server answers ``429`` with ``Retry-After: 3600``: the crawl does not wait an hour
    (nor retry): the page is recorded as rate-limited with a readable reason, and the rest of
    the column is crawled."""
    _serve_column(site)
    site.routes["/a/index.html"] = lambda h: send(h, 429, "come back in an hour", {"Retry-After": "3600"})
    result = crawl(tmp_path, database_url, [site.url("/a/index.html"), site.url("/b/index.html")], "RETRY_TIMES=2")
    assert result.seconds < 30, result.stdout
    assert len(site.requests_for("/a/index.html")) == 1  # not retried
    documents, errors = _archive(database_url)
    assert documents == {site.url("/b/r2023.html")}
    assert [(e.url, e.page_kind, e.reason) for e in errors] == [
        (site.url("/a/index.html"), "list", "rate-limited: the server asked to wait 3600 s (limit 300 s)")
    ]


def test_the_limit_is_a_setting(site: HostileSite, tmp_path, database_url):
    """``-s NIANBAO_RETRY_AFTER_MAX=1``: a 503 asking for 2 s is already too long."""
    _serve_column(site)
    site.routes["/a/index.html"] = lambda h: send(h, 503, "maintenance", {"Retry-After": "2"})
    result = crawl(tmp_path, database_url, [site.url("/a/index.html")], "NIANBAO_RETRY_AFTER_MAX=1")
    assert result.seconds < 30
    _, errors = _archive(database_url)
    assert [e.reason for e in errors] == ["rate-limited: the server asked to wait 2 s (limit 1 s)"]


def test_retry_after_values():
    """Delay seconds and HTTP dates (RFC 9110 10.2.3); anything else is ignored."""
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(b"120", now) == 120
    assert retry_after_seconds(" 7 ", now) == 7
    assert retry_after_seconds("Wed, 01 May 2024 12:00:30 GMT", now) == 30
    assert retry_after_seconds("Wed, 01 May 2024 11:00:00 GMT", now) == 0  # in the past: now
    assert retry_after_seconds("99999999999999999999", now) == 1e20
    for junk in (None, b"", "-5", "soon", "1e3", "Wed, 99 May 2024 12:00:30 GMT", "inf", "nan"):
        assert retry_after_seconds(junk, now) is None, junk
