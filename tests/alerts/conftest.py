"""Fixtures for the monitoring tests: an archive and a small API to record crawls in it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from crawler.config import SiteConfig
from crawler.items import PageFailureItem, ReportItem
from storage import archive as store
from storage.db import open_archive
from storage.listing import ListingRecord

DEPT = SiteConfig(
    key="tjj", name="示例市统计局", region="福建省示例市", level="department", family="trs",
    list_urls=("http://127.0.0.1:9/tjj/index.html",), first_report_year=2021,
)


@dataclass
class Report:
    year: int
    pub_date: str | None
    url: str | None = None
    body: str | None = None
    title: str | None = None
    missing_fields: tuple[str, ...] = ()


class Archive:
    """Record crawls the way the pipeline does, without crawling."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def crawl(self, site: SiteConfig, reports: list[Report], *, failed: bool = False,
              failures: list[PageFailureItem] = (), finish_reason: str = "finished",
              listing: ListingRecord | None = None) -> int:
        with self.sessions() as session, session.begin():
            store.sync_site(session, site)
            run_id = store.start_run(session, [site.key]).id
        for report in reports:
            item = ReportItem(
                site_key=site.key,
                url=report.url or f"http://127.0.0.1:9/tjj/{report.year}.htm",
                title=report.title or f"{site.name}{report.year}年政府信息公开工作年度报告",
                pub_date=report.pub_date, report_year=report.year,
                body_text=report.body or f"{report.year}年度报告正文。\n第二行。",
                missing_fields=list(report.missing_fields), fetched_at=datetime.now(UTC),
            )
            with self.sessions() as session, session.begin():
                store.record_report(session, run_id, item)
        for failure in failures:
            with self.sessions() as session, session.begin():
                store.record_failure(session, run_id, failure)
        with self.sessions() as session, session.begin():
            store.finish_site_crawl(session, run_id, site.key, pages=len(reports) + 1,
                                    finish_reason=finish_reason, failed=failed, listing=listing)
            store.finish_run(session, run_id)
        return run_id


def listing(*, pages: int = 2, read: int = 2, years: tuple[int, ...] = (), failure: str = "HTTP 404") -> ListingRecord:
    """A listing record of DEPT's column with ``pages`` pages of which the first ``read`` were
    read (the others failed with ``failure``), naming ``years``."""
    column = DEPT.list_urls[0]
    record = ListingRecord()
    record.add_column(column)
    record.declare(column, pages)
    for number in range(1, pages + 1):
        url = column if number == 1 else column.replace("index.html", f"index_{number - 1}.html")
        record.plan(url, column, number, url)
        if number <= read:
            record.mark_fetched(url)
        else:
            record.mark_failed(url, failure)
    for year in years:
        record.add_year(year)
    return record


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    sessions = open_archive(database_url)
    try:
        yield sessions
    finally:
        sessions.kw["bind"].dispose()


@pytest.fixture
def recorder(sessions: sessionmaker[Session]) -> Archive:
    return Archive(sessions)
