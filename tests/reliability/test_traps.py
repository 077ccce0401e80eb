"""Crawler traps: list pages that never end. A column calendar whose "下一页" (next page) link
always leads to the next day (``day.html?d=2024-01-02``, ``?d=2024-01-03`` … forever, as
generated calendars and date-filtered columns do), and a column whose next link is the relative
``a/`` -- so ``/a/``, ``/a/a/``, ``/a/a/a/`` … (a misconfigured server answering every path
under a folder with the same page). The crawl ends within the site's page budget, records why
(the site's finish reason and the listing left incomplete, with the reason), and still archives
the real reports linked from the first pages. Real loopback server, real crawl, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from storage.db import open_archive
from storage.models import CrawlError, Document, SiteCrawl
from tests.crawler.harness import run_nianbao
from tests.reliability.conftest import REPORT_TITLE, HostileSite, report_page, send

MAX_PAGES = 25


class _Routes(dict):
    """Exact paths, plus every path under ``/a/`` answered by the self-nesting page."""

    def get(self, path, default=None):  # type: ignore[override]
        if path.startswith("/a/") and path.endswith("/"):
            return super().get("/a/", default)
        return super().get(path, default)


def _column(reports: dict[str, int], next_href: str, heading: str) -> str:
    items = "".join(f'<li><a href="{p}">{REPORT_TITLE.format(year=y)}</a></li>' for p, y in reports.items())
    return (f"<html><head><title>{heading}</title></head><body><h2>{heading}</h2><ul>{items}</ul>"
            f'<div class="pager"><a href="{next_href}">下一页</a></div></body></html>')


def _calendar(handler) -> None:
    query = parse_qs(urlsplit(handler.path).query)
    day = date.fromisoformat(query.get("d", ["2024-01-01"])[0])
    reports = {"/r/2022.html": 2022} if day == date(2024, 1, 1) else {}
    following = (day + timedelta(days=1)).isoformat()
    send(handler, 200, _column(reports, f"day.html?d={following}", f"{day.isoformat()} 信息公开"))


def _nested(handler) -> None:
    reports = {"/r/2023.html": 2023} if handler.path == "/a/" else {}
    send(handler, 200, _column(reports, "a/", "信息公开年报"))


def test_endless_columns_end_within_the_page_budget(site: HostileSite, tmp_path, database_url):
    site.routes = _Routes()
    site.routes["/cal/day.html"] = _calendar
    site.routes["/a/"] = _nested
    site.routes["/r/2022.html"] = lambda h: send(h, 200, report_page(2022))
    site.routes["/r/2023.html"] = lambda h: send(h, 200, report_page(2023))
    sites = tmp_path / "sites.toml"
    sites.write_text(
        '[[sites]]\nkey = "trap-gov"\nname = "示范局"\nregion = "示范省示范市"\nlevel = "department"\n'
        f'family = "generic"\nmax_pages = {MAX_PAGES}\n'
        f'list_urls = ["{site.url("/cal/day.html?d=2024-01-01")}", "{site.url("/a/")}"]\n',
        encoding="utf-8")

    started = time.monotonic()
    result = run_nianbao("--db", database_url, "--sites", str(sites), "crawl", "-q",
                         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                         "-s", "DOWNLOAD_TIMEOUT=5", cwd=tmp_path, timeout=90)
    assert result.returncode in (0, 1), result.stderr
    assert time.monotonic() - started < 60

    # The trap was cut at the budget: a few pages in flight when it ran out, no more.
    requests = [path for path, _ in site.log if path != "/robots.txt"]
    assert len(requests) <= MAX_PAGES + 16, len(requests)
    calendar = site.requests_for("/cal/day.html")
    nested = [path for path in requests if path.startswith("/a/")]
    assert len(calendar) >= 3 and len(nested) >= 3  # both traps were entered ...
    assert len(set(nested)) == len(nested)  # ... and no page fetched twice

    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            documents = sorted(session.scalars(select(Document.url)))
            errors = list(session.scalars(select(CrawlError)))
            (crawl,) = session.scalars(select(SiteCrawl))
            finish_reason, complete, listing = crawl.finish_reason, crawl.listing_complete, crawl.listing
    finally:
        sessions.kw["bind"].dispose()
    assert documents == [site.url("/r/2022.html"), site.url("/r/2023.html")]
    assert errors == []  # nothing failed: the budget stopped the crawl
    assert finish_reason == "closespider_pagecount"
    assert complete is False  # the listing is not trusted as complete
    assert "closespider_pagecount" in str(listing)
