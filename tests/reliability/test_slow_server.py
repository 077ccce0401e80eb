"""A bureau server that answers, but only just too late: each answer comes slightly more than
``DOWNLOAD_TIMEOUT`` after the request (an overloaded server, a slow proxy in front of it). The
page is retried exactly ``RETRY_TIMES`` times -- counted at the server -- and then recorded in
``crawl_errors`` as "timeout after Ns"; the rest of the column is archived and the crawl
finishes. Real loopback server, real crawl, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import time

from sqlalchemy import select

from storage.db import open_archive
from storage.models import CrawlError, Document
from tests.reliability.conftest import HostileSite, crawl, list_page, report_page, send

TIMEOUT = 1
RETRY_TIMES = 2


def _late(handler) -> None:
    """Answer a correct page 0.6 s after the crawler has given up."""
    time.sleep(TIMEOUT + 0.6)
    with contextlib.suppress(OSError):  # the crawler hung up already
        send(handler, 200, report_page(2021))


def test_a_server_slower_than_the_timeout_is_retried_then_recorded(site: HostileSite, tmp_path, database_url):
    site.routes["/col/index.html"] = lambda h: send(
        h, 200, list_page({"/col/slow.html": 2021, "/col/ok.html": 2022}))
    site.routes["/col/slow.html"] = _late
    site.routes["/col/ok.html"] = lambda h: send(h, 200, report_page(2022))

    result = crawl(tmp_path, database_url, [site.url("/col/index.html")],
                   f"DOWNLOAD_TIMEOUT={TIMEOUT}", f"RETRY_TIMES={RETRY_TIMES}", timeout=60)
    assert result.returncode in (0, 1), result.stderr
    # Three attempts of about a second each, not a hang.
    assert result.seconds < 30, result.stdout

    # The first attempt plus exactly RETRY_TIMES retries reached the server.
    assert len(site.requests_for("/col/slow.html")) == 1 + RETRY_TIMES
    assert len(site.requests_for("/col/ok.html")) == 1

    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            errors = [(e.url, e.page_kind, e.reason) for e in session.scalars(select(CrawlError))]
            documents = list(session.scalars(select(Document.url)))
    finally:
        sessions.kw["bind"].dispose()
    assert errors == [(site.url("/col/slow.html"), "report", f"timeout after {TIMEOUT}s")]
    assert documents == [site.url("/col/ok.html")]
