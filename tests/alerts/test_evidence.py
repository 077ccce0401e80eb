"""MISSING only on evidence: the monitor's verdicts follow what the latest crawl actually read.

Each test records crawls the way the pipeline does (tests/alerts/conftest.py) with the listing
record a real crawl would produce, e.g. a TRS column whose second page answered 404.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from alerts.coverage import coverage_grid
from alerts.monitor import run_monitor
from crawler.items import PageFailureItem
from storage.models import Alert
from tests.alerts.conftest import DEPT, Report, listing


def _grid(sessions, as_of):
    with sessions() as session:
        return {c.report_year: c for c in coverage_grid(session, as_of, ["tjj"])}


def test_years_an_incomplete_listing_did_not_reach_are_unknown_with_the_pages_not_read(sessions, recorder):
    """Page 1 listed 2022-2023; page 2, which would hold 2021, answered 404."""
    recorder.crawl(DEPT, [Report(2023, "2024-01-20")],
                   listing=listing(pages=2, read=1, years=(2022, 2023)))
    grid = _grid(sessions, date(2024, 6, 1))
    assert grid[2021].status == "unknown"
    assert grid[2021].detail == "list page 2 not read (HTTP 404)"
    # 2022 lies between the oldest and newest year page 1 listed: its absence is evidence.
    assert grid[2022].status == "missing"
    assert grid[2023].status == "on_time"


def test_the_same_years_are_missing_once_the_listing_is_complete(sessions, recorder):
    recorder.crawl(DEPT, [Report(2023, "2024-01-20")], listing=listing(pages=2, read=1, years=(2023,)))
    recorder.crawl(DEPT, [Report(2023, "2024-01-20")], listing=listing(pages=2, read=2, years=(2023,)))
    grid = _grid(sessions, date(2024, 6, 1))
    assert (grid[2021].status, grid[2022].status) == ("missing", "missing")


def test_a_listed_report_whose_page_failed_leaves_its_listed_year_unknown(sessions, recorder):
    """The 2022 report is listed but its page times out: the title's year is unknown, others not."""
    dead = "http://127.0.0.1:9/tjj/content_17.htm"  # no date in the path: only the title says
    recorder.crawl(DEPT, [Report(2023, "2024-01-20")], listing=listing(pages=1, read=1, years=(2021, 2022, 2023)),
                   failures=[PageFailureItem(site_key="tjj", url=dead, reason="timeout after 30s", report_year=2022)])
    grid = _grid(sessions, date(2024, 6, 1))
    assert grid[2022].status == "unknown" and "timeout after 30s" in grid[2022].detail
    assert grid[2021].status == "missing"


def test_an_interrupted_crawl_is_no_evidence(sessions, recorder):
    """A complete crawl, then one stopped by Ctrl-C before it read anything: verdicts stand on
    the complete one."""
    recorder.crawl(DEPT, [Report(2023, "2024-01-20")], listing=listing(pages=1, read=1, years=(2023,)))
    run_id = recorder.crawl(DEPT, [], finish_reason="shutdown", listing=listing(pages=2, read=0))
    with sessions() as session, session.begin():
        from storage.models import SiteCrawl

        session.execute(SiteCrawl.__table__.update().where(SiteCrawl.run_id == run_id).values(status="interrupted"))
    grid = _grid(sessions, date(2024, 6, 1))
    assert grid[2021].status == "missing"


def _removed(sessions, nights: int = 3):
    now = datetime(2024, 6, 1, tzinfo=UTC)
    with sessions() as session, session.begin():
        run_monitor(session, ["tjj"], as_of=now.date(), now=now, removed_after_nights=nights)
    with sessions() as session:
        return session.scalars(select(Alert).where(Alert.kind == "report_removed", Alert.state == "open")).all()


def test_a_listed_report_answering_404_three_nights_running_is_removed(sessions, recorder):
    url = "http://127.0.0.1:9/tjj/2023.htm"
    recorder.crawl(DEPT, [Report(2023, "2024-01-20", url=url)], listing=listing(pages=1, read=1, years=(2023,)))
    gone = PageFailureItem(site_key="tjj", url=url, reason="HTTP 404", http_status=404, report_year=2023)
    for night in range(3):
        recorder.crawl(DEPT, [], failures=[gone], listing=listing(pages=1, read=1, years=(2023,)))
        alerts = _removed(sessions)
        assert len(alerts) == (1 if night == 2 else 0), night
    assert "answered 404/410 in each of the last 3 crawls" in alerts[0].message


def test_a_timeout_is_not_a_removal(sessions, recorder):
    url = "http://127.0.0.1:9/tjj/2023.htm"
    recorder.crawl(DEPT, [Report(2023, "2024-01-20", url=url)], listing=listing(pages=1, read=1, years=(2023,)))
    slow = PageFailureItem(site_key="tjj", url=url, reason="timeout after 30s", report_year=2023)
    for _ in range(4):
        recorder.crawl(DEPT, [], failures=[slow], listing=listing(pages=1, read=1, years=(2023,)))
    assert _removed(sessions) == []
