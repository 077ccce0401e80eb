"""Names that do not resolve. A report page links its report to a host whose name does not
exist (NXDOMAIN -- a bureau that moved to a new domain and let the old one lapse; ``.invalid``
names never resolve), and another to a host whose DNS never answers at all (a dead
authoritative server, a resolver that drops queries; simulated in the crawl's process by
:mod:`tests.reliability.hanging_resolver`). Both are recorded in ``crawl_errors`` with a
readable reason within a bounded time, the reports that do resolve are archived, and the crawl
finishes. Real loopback server, real crawl, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from storage.db import open_archive
from storage.models import CrawlError, Document
from tests.crawler.harness import run_nianbao
from tests.reliability.conftest import HostileSite, list_page, report_page, send, sites_toml
from tests.reliability.test_resolver import stub_env

TIMEOUT = 2
NXDOMAIN = "gone.nianbao-test.invalid"
HANGING = "hang.nianbao.test"


def _archive(database_url: str) -> tuple[set[str], dict[str, tuple[str, str]]]:
    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            documents = set(session.scalars(select(Document.url)))
            errors = {e.url: (e.page_kind, e.reason) for e in session.scalars(select(CrawlError))}
    finally:
        sessions.kw["bind"].dispose()
    return documents, errors


def test_unresolvable_and_hanging_names_are_recorded_and_the_crawl_finishes(
        site: HostileSite, tmp_path, database_url):
    port = site.server_address[1]
    nxdomain = f"http://{NXDOMAIN}:{port}/col/r2020.html"
    hanging = f"http://{HANGING}:{port}/col/r2021.html"
    # The report links point at the two other hosts of the site (its other list URLs make them
    # its own hosts, so they are not dropped as off-site).
    site.routes["/col/index.html"] = lambda h: send(h, 200, list_page(
        {nxdomain: 2020, hanging: 2021, "/col/r2022.html": 2022}))
    site.routes["/col/r2022.html"] = lambda h: send(h, 200, report_page(2022))
    other_columns = [f"http://{NXDOMAIN}:{port}/other/index.html", f"http://{HANGING}:{port}/other/index.html"]

    sites = tmp_path / "sites.toml"
    sites.write_text(sites_toml([site.url("/col/index.html"), *other_columns]), encoding="utf-8")
    settings = ["AUTOTHROTTLE_ENABLED=False", "DOWNLOAD_DELAY=0", f"DOWNLOAD_TIMEOUT={TIMEOUT}",
                "RETRY_TIMES=1", "TWISTED_DNS_RESOLVER=tests.reliability.hanging_resolver.HangingResolver"]
    started = time.monotonic()
    result = run_nianbao("--db", database_url, "--sites", str(sites), "crawl", "-q",
                         *[arg for setting in settings for arg in ("-s", setting)],
                         cwd=tmp_path, env=stub_env(), timeout=90)
    seconds = time.monotonic() - started
    assert result.returncode in (0, 1), result.stderr
    # A hanging lookup costs the download timeout per attempt, never a hang of the crawl.
    assert seconds < 40, result.stdout

    documents, errors = _archive(database_url)
    assert documents == {site.url("/col/r2022.html")}
    assert errors == {
        nxdomain: ("report", f"DNS lookup failed for {NXDOMAIN}"),
        other_columns[0]: ("list", f"DNS lookup failed for {NXDOMAIN}"),
        hanging: ("report", f"timeout after {TIMEOUT}s"),
        other_columns[1]: ("list", f"timeout after {TIMEOUT}s"),
    }
