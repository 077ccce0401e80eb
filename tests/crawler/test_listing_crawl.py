"""Whole crawls of the real Pingtan annual-report column, served on loopback at its original
paths: the listing is read completely or known not to be, and the monitor's verdicts rest on
what was read.

The column (``corpus/dev/pingtan-list``) is TRS's newer ``list2.trsapi`` template: its pager
declares two static pages (``index.html`` and ``index_1.html``). Its report pages are the real
2024 and 2011 reports (``corpus/dev/pingtan-2024``, ``pingtan-2011``); every other report link of
the column answers 404 here, as pages do when a site has lost them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import select

from crawler.demo.server import DemoServer
from crawler.demo.site import DemoPage, DemoSite
from storage.db import open_archive
from storage.models import CrawlError, CrawlRun, Document, SiteCrawl, Version
from tests.crawler.harness import FAST_CRAWL, run_nianbao
from web.queries import health_view

COLUMN = "/zwgk/zfxxgk/zfxxgknb/"
HTML = "text/html; charset=utf-8"
REPORT_2024 = COLUMN + "202503/t20250310_97791.htm"
REPORT_2011 = COLUMN + "201204/t20120420_80678.htm"
# The static list's items, between the "showStatic" block's start and the dynamic template.
_STATIC_ITEMS = re.compile(
    r'(ms-visible="showStatic">)(.*?)(</div>\s*<div class="rules_tabs_01[^"]*" ms-visible="!showStatic")', re.S
)


def _item(path: str, title: str, date: str) -> str:
    return (
        '<dl><dd class="trt-col-sm-24 slb-trt-col-24 text_align_left">'
        f'<a href=".{path[len(COLUMN) - 1:]}" target="_blank" title="{title}">{title}</a></dd>'
        f'<dd class="trt-col-4 trt-col-sm-24 slb-trt-col-24 text_align_left">{date}</dd></dl>\n'
    )


def second_page(first_page: str, items: list[tuple[str, int, str]]) -> str:
    """The column's static page 2 (``index_1.html``) as TRS writes it: the first page's template
    with older items. ``items`` are (path, report year, publication date)."""
    listed = "".join(
        _item(path, f"平潭综合实验区{year}年度政府信息公开工作年度报告", date) for path, year, date in items
    )
    page, count = _STATIC_ITEMS.subn(lambda m: m.group(1) + "\n" + listed + m.group(3), first_page)
    assert count == 1, "the saved list page no longer has its static item block"
    return page


def pingtan_site(corpus_dev: Path, page_two: str | None) -> DemoSite:
    def read(name: str) -> bytes:
        return (corpus_dev / name / "page.html").read_bytes()

    pages = {
        COLUMN: DemoPage(read("pingtan-list"), HTML),
        COLUMN + "index.html": DemoPage(read("pingtan-list"), HTML),
        REPORT_2024: DemoPage(read("pingtan-2024"), HTML),
        REPORT_2011: DemoPage(read("pingtan-2011"), HTML),
    }
    if page_two is not None:
        pages[COLUMN + "index_1.html"] = DemoPage(page_two.encode("utf-8"), HTML)
    return DemoSite(pages=pages, expected_reports=[], expected_failures=[], list_paths={})


def sites_toml(base_url: str, first_report_year: int = 2011) -> str:
    return "\n".join([
        "[[sites]]",
        'key = "pingtan"',
        'name = "平潭综合实验区管委会"',
        'region = "福建省平潭综合实验区"',
        'level = "government"',
        'family = "trs"',
        f'list_urls = ["{base_url}{COLUMN}"]',
        f"first_report_year = {first_report_year}",
        "",
    ])


def crawl_and_monitor(tmp_path: Path, database_url: str, site: DemoSite, first_report_year: int = 2011):
    sites_file = tmp_path / "sites.toml"
    with DemoServer(site) as server:
        sites_file.write_text(sites_toml(server.base_url, first_report_year), encoding="utf-8")
        crawl = run_nianbao("--db", database_url, "--sites", str(sites_file), "crawl", "-q", *FAST_CRAWL,
                            cwd=tmp_path)
        counts = dict(server.request_counts)
    monitor = run_nianbao("--db", database_url, "--sites", str(sites_file), "monitor", "--format", "json",
                          cwd=tmp_path)
    assert monitor.returncode == 0, monitor.stderr
    cells = {cell["report_year"]: cell for cell in json.loads(monitor.stdout)}
    return crawl, counts, cells


def _latest_site_crawl(database_url: str) -> SiteCrawl:
    sessions = open_archive(database_url)
    with sessions() as session:
        return session.scalars(select(SiteCrawl).order_by(SiteCrawl.id.desc())).first()


def test_real_column_page_two_answering_404_leaves_the_old_years_unknown(corpus_dev, tmp_path, database_url):
    """The case that made the monitor accuse Pingtan of five missing reports: the crawl read
    page 1 only. Now it asks for index_1.html; page 2 answers 404, so the listing is incomplete
    and the years it would have covered are unknown, never missing."""
    site = pingtan_site(corpus_dev, page_two=None)
    crawl, counts, cells = crawl_and_monitor(tmp_path, database_url, site)
    assert crawl.returncode == 0, crawl.stderr
    assert counts.get(COLUMN + "index_1.html") == 1

    sessions = open_archive(database_url)
    with sessions() as session:
        documents = session.scalars(select(Document)).all()
        assert [d.url.removeprefix(d.url.split(COLUMN)[0]) for d in documents] == [REPORT_2024]
        report = documents[0]
        assert (report.report_year, report.pub_date, report.title) == (
            2024, "2025-03-10", "平潭综合实验区2024年度政府信息公开工作年度报告")
        assert report.publisher == "平潭综合实验区管委会办公室"
        version = session.get(Version, report.latest_version_id)
        assert version.has_tables and version.tables["format"] == "2021"
        site_crawl = session.scalars(select(SiteCrawl)).one()
        assert site_crawl.listing_complete is False
        assert (site_crawl.list_pages_expected, site_crawl.list_pages_fetched, site_crawl.list_pages_failed) == (2, 1, 1)
        assert (site_crawl.listed_oldest_year, site_crawl.listed_newest_year) == (2016, 2025)
        assert site_crawl.listing["unread"] == [
            {"label": "list page 2", "url": site_crawl.listing["unread"][0]["url"], "reason": "HTTP 404"}
        ]
        # Every listed report that answered 404 is recorded with the year its title names.
        years = sorted(e.report_year for e in session.scalars(select(CrawlError).where(CrawlError.page_kind == "report")))
        assert years == [*range(2016, 2024), 2025]

    assert not [year for year, cell in cells.items() if cell["status"] == "missing"]
    assert cells[2024]["status"] == "on_time"
    for year in range(2011, 2016):
        assert cells[year]["status"] == "unknown"
        assert "list page 2 not read (HTTP 404)" in cells[year]["detail"]
    for year in range(2016, 2024):
        assert cells[year]["status"] == "unknown"
        assert "listed report page failed (HTTP 404)" in cells[year]["detail"]
    # An incomplete listing is the site crawl's problem, shown as such; the run finished.
    assert "list page 2 not read (HTTP 404)" in crawl.stdout
    assert "INCOMPLETE 1/2" in crawl.stdout
    with sessions() as session:
        assert session.scalars(select(CrawlRun.status)).one() == "finished"
        health = health_view(session, 1, 20).sites[0]
        assert (health.listing_complete, health.list_pages_fetched, health.list_pages_expected) == (False, 1, 2)
        assert [(u.page, u.reason) for u in health.unread_pages] == [("list page 2", "HTTP 404")]
    listed = run_nianbao("--db", database_url, "--sites", str(tmp_path / "sites.toml"), "sites", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "INCOMPLETE 1/2" in listed.stdout and "pingtan: list page 2 not read (HTTP 404)" in listed.stdout
    as_json = run_nianbao("--db", database_url, "--sites", str(tmp_path / "sites.toml"), "sites", "list",
                          "--format", "json", cwd=tmp_path)
    listing = json.loads(as_json.stdout)[0]["listing"]
    assert (listing["complete"], listing["pages_expected"], listing["pages_fetched"]) == (False, 2, 1)
    assert listing["unread"][0]["page"] == "list page 2"


def test_real_column_with_a_second_page_of_older_reports(corpus_dev, tmp_path, database_url):
    """Page 2 lists the older reports: the ones it can fetch are archived (2011, a real page),
    the ones answering 404 are unknown, and the listing is complete."""
    first = (corpus_dev / "pingtan-list" / "page.html").read_text(encoding="utf-8")
    older = [(COLUMN + f"20{y + 1 - 2000:02d}01/t20{y + 1 - 2000:02d}0115_{7000 + y}.htm", y, f"{y + 1}-01-15")
             for y in range(2015, 2011, -1)]
    older.append((REPORT_2011, 2011, "2012-04-11"))
    site = pingtan_site(corpus_dev, page_two=second_page(first, older))
    crawl, _, cells = crawl_and_monitor(tmp_path, database_url, site)
    assert crawl.returncode == 0, crawl.stderr

    site_crawl = _latest_site_crawl(database_url)
    assert site_crawl.listing_complete is True
    assert (site_crawl.list_pages_expected, site_crawl.list_pages_fetched) == (2, 2)
    assert (site_crawl.listed_oldest_year, site_crawl.listed_newest_year) == (2011, 2025)
    # The real 2011 report was published on 11 April 2012, after the 31 March deadline.
    assert (cells[2011]["status"], cells[2011]["published"]) == ("late", "2012-04-11")
    assert cells[2024]["status"] == "on_time"
    assert {cells[y]["status"] for y in range(2012, 2024)} == {"unknown"}
    assert not [year for year, cell in cells.items() if cell["status"] == "missing"]


def test_a_complete_listing_without_a_year_is_evidence_of_a_missing_report(corpus_dev, tmp_path, database_url):
    """The same column read completely, with no 2011 report in it: now, and only now, the
    monitor may say MISSING."""
    first = (corpus_dev / "pingtan-list" / "page.html").read_text(encoding="utf-8")
    older = [(COLUMN + f"20{y + 1 - 2000:02d}01/t20{y + 1 - 2000:02d}0115_{7000 + y}.htm", y, f"{y + 1}-01-15")
             for y in range(2015, 2011, -1)]
    site = pingtan_site(corpus_dev, page_two=second_page(first, older))
    crawl, _, cells = crawl_and_monitor(tmp_path, database_url, site)
    assert crawl.returncode == 0, crawl.stderr
    assert cells[2011]["status"] == "missing"
    assert [year for year, cell in cells.items() if cell["status"] == "missing"] == [2011]
