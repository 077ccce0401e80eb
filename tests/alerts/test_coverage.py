"""The coverage grid: on time, late, missing, not yet due, unknown."""

from __future__ import annotations

import dataclasses
from datetime import date

from alerts.coverage import coverage_grid, report_year_of, year_hints
from crawler.items import PageFailureItem
from storage.models import Document
from tests.alerts.conftest import DEPT, Report


def _grid(sessions, as_of, keys=None):
    with sessions() as session:
        return {(c.site_key, c.report_year): c for c in coverage_grid(session, as_of, keys)}


def test_statuses_of_a_department_as_of_a_day(sessions, recorder):
    recorder.crawl(DEPT, [Report(2021, "2022-01-20"), Report(2022, "2023-02-10")])
    grid = _grid(sessions, date(2024, 2, 1))
    assert sorted(year for _, year in grid) == [2021, 2022, 2023]
    assert grid["tjj", 2021].status == "on_time"
    assert grid["tjj", 2022].status == "late" and grid["tjj", 2022].published == date(2023, 2, 10)
    assert grid["tjj", 2023].status == "missing" and grid["tjj", 2023].due == date(2024, 1, 31)
    # The day of the deadline: not due yet.
    assert _grid(sessions, date(2024, 1, 31))["tjj", 2023].status == "not_due"


def test_grace_days_move_the_due_date(sessions, recorder):
    site = dataclasses.replace(DEPT, deadline_grace_days=5)
    recorder.crawl(site, [Report(2021, "2022-02-03"), Report(2022, "2023-01-10")])
    grid = _grid(sessions, date(2024, 2, 3))
    assert grid["tjj", 2021].status == "on_time"
    assert grid["tjj", 2023].status == "not_due"
    assert _grid(sessions, date(2024, 2, 6))["tjj", 2023].status == "missing"


def test_a_failed_crawl_makes_unknown_never_missing(sessions, recorder):
    recorder.crawl(DEPT, [Report(2021, "2022-01-20"), Report(2022, "2023-01-10")])
    recorder.crawl(DEPT, [], failed=True, failures=[
        PageFailureItem(site_key="tjj", url=DEPT.list_urls[0], reason="connection refused", page_kind="list")
    ])
    cell = _grid(sessions, date(2024, 2, 1))["tjj", 2023]
    assert cell.status == "unknown"
    assert "latest crawl failed (connection refused)" in cell.detail


def test_a_crawl_stopped_by_its_page_budget_proves_nothing(sessions, recorder):
    recorder.crawl(DEPT, [Report(2021, "2022-01-20")], finish_reason="closespider_pagecount")
    grid = _grid(sessions, date(2024, 2, 1))
    assert grid["tjj", 2022].status == "unknown" and "stopped early" in grid["tjj", 2022].detail


def test_a_failed_report_page_hides_only_the_years_its_url_hints_at(sessions, recorder):
    dead = "http://127.0.0.1:9/tjj/202401/t20240115_1.htm"  # published 2024: the 2023 report?
    recorder.crawl(DEPT, [Report(2021, "2022-01-20")], failures=[
        PageFailureItem(site_key="tjj", url=dead, reason="HTTP 404", http_status=404)
    ])
    grid = _grid(sessions, date(2024, 2, 1))
    assert grid["tjj", 2023].status == "unknown" and dead in grid["tjj", 2023].detail
    assert grid["tjj", 2022].status == "missing"


def test_year_hints_from_cms_paths():
    assert year_hints("http://x/tjj/201401/t20140110_1011.htm") == {2013, 2014}
    assert year_hints("http://x/art/2018/3/15/art_1001_5007.html") == {2017, 2018}
    assert year_hints("http://x/xxgk/content_106.html") is None


def test_never_crawled_site_is_unknown(sessions):
    from storage import archive as store

    with sessions() as session, session.begin():
        store.sync_site(session, DEPT)
    grid = _grid(sessions, date(2024, 6, 1))
    assert {c.status for c in grid.values()} == {"unknown"}
    assert grid["tjj", 2021].detail == "site never crawled"


def test_report_year_from_title_variants_and_attachment_names():
    def doc(title, year=None):
        return Document(site_id=1, url="u", title=title, report_year=year)

    assert report_year_of(doc("示范县２０１８年政府信息公开工作年度报告")) == 2018
    assert report_year_of(doc("某局二〇二一年度政府信息公开工作年度报告")) == 2021
    assert report_year_of(doc("某局2019年度政府信息公开工作年度报告")) == 2019
    assert report_year_of(doc("政府信息公开工作年度报告"), ["http://x/2022%E5%B9%B4%E5%B9%B4%E6%8A%A5.pdf"]) == 2022
    assert report_year_of(doc("政府信息公开工作年度报告")) is None
