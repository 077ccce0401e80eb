"""The demo's list2.trsapi column (demo-qu) and its moved report, crawled night after night.

demo-qu stands for the real Pingtan column: its only pager is TRS's list2.trsapi ``listModel``
call, so a crawl that does not read it sees five of the nine reports. The move stands for a
site reorganising its column: the 2019 report is re-published at a new path, the old page
answers 404 and the column links the new address.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from crawler.demo.site_qu import QU_KEY, moved_report_pages
from storage.db import open_archive
from storage.models import Alert, Document, DocumentUrl, SiteCrawl, Version
from tests.crawler.harness import FAST_CRAWL, RunningDemo, demo, run_nianbao  # noqa: F401


def crawl(demo: RunningDemo, database_url: str, cwd: Path):  # noqa: F811
    result = run_nianbao("--db", database_url, "--sites", str(demo.sites_file), "crawl", "-q", *FAST_CRAWL,
                         QU_KEY, cwd=cwd)
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def monitor(demo: RunningDemo, database_url: str, cwd: Path) -> dict[int, dict]:  # noqa: F811
    result = run_nianbao("--db", database_url, "--sites", str(demo.sites_file), "monitor", QU_KEY,
                         "--format", "json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return {cell["report_year"]: cell for cell in json.loads(result.stdout)}


def test_list2_column_is_read_completely(demo, tmp_path, database_url):  # noqa: F811
    crawl(demo, database_url, tmp_path)
    expected = {demo.url(r.path) for r in demo.site.expected_reports if r.site_key == QU_KEY}
    sessions = open_archive(database_url)
    with sessions() as session:
        assert {d.url for d in session.scalars(select(Document))} == expected
        site_crawl = session.scalars(select(SiteCrawl)).one()
        assert site_crawl.listing_complete is True
        assert (site_crawl.list_pages_expected, site_crawl.list_pages_fetched) == (2, 2)
        assert (site_crawl.listed_oldest_year, site_crawl.listed_newest_year) == (2016, 2024)
    cells = monitor(demo, database_url, tmp_path)
    assert {cells[year]["status"] for year in range(2016, 2025)} == {"on_time"}


def test_a_moved_report_stays_one_document_with_two_urls_and_is_not_removed(demo, tmp_path, database_url):  # noqa: F811
    crawl(demo, database_url, tmp_path)
    old, new, pages = moved_report_pages(demo.site.pages)
    demo.server.remove_page(old)
    for path, page in pages.items():
        demo.server.replace_page(path, page.body)
    for _night in range(4):  # more nights than any removal rule waits for
        crawl(demo, database_url, tmp_path)
        cells = monitor(demo, database_url, tmp_path)

    sessions = open_archive(database_url)
    with sessions() as session:
        documents = session.scalars(select(Document).where(Document.report_year == 2019)).all()
        assert len(documents) == 1
        document = documents[0]
        assert document.url == demo.url(new)
        urls = {u.url for u in session.scalars(select(DocumentUrl).where(DocumentUrl.document_id == document.id))}
        assert urls == {demo.url(old), demo.url(new)}
        assert len(session.scalars(select(Version).where(Version.document_id == document.id)).all()) == 1
        assert session.scalars(select(Alert).where(Alert.kind == "report_removed")).all() == []
        assert len(session.scalars(select(Document)).all()) == 9
    assert cells[2019]["status"] == "on_time"
