"""Fixtures for the storage tests: an opened archive on each backend, sites and report items."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from crawler.config import SiteConfig
from crawler.items import ReportItem
from storage import open_archive, start_run, sync_site

SITE_A = SiteConfig(
    key="putian-tjj",
    name="莆田市统计局",
    region="福建省莆田市",
    level="department",
    family="trs",
    list_urls=("https://www.putian.gov.cn/zwgk/zfxxgknb/",),
)
SITE_B = SiteConfig(
    key="pingtan-gov",
    name="平潭综合实验区管委会",
    region="福建省平潭综合实验区",
    level="government",
    family="trs",
    list_urls=("https://www.pingtan.gov.cn/xxgk/ndbg/",),
    deadline="03-31",
)

BODY = (
    "一、总体情况\n"
    "2023年，我局坚持以习近平新时代中国特色社会主义思想为指导，认真贯彻落实《中华人民共和国政府信息公开条例》。\n"
    "二、主动公开政府信息情况\n"
    "本年主动公开政府信息388条。\n"
    "三、收到和处理政府信息公开申请情况\n"
    "本年新收政府信息公开申请10件。"
)


@pytest.fixture
def archive(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated, empty archive; the engine is disposed afterwards."""
    Session = open_archive(database_url)
    try:
        yield Session
    finally:
        Session.kw["bind"].dispose()


@pytest.fixture
def site_configs() -> tuple[SiteConfig, SiteConfig]:
    """The two test sites' configurations (not synced)."""
    return SITE_A, SITE_B


@pytest.fixture
def sites(archive: sessionmaker[Session]) -> tuple[SiteConfig, SiteConfig]:
    """Both test sites, synced; the first is where ``make_item`` reports come from."""
    with archive() as session, session.begin():
        sync_site(session, SITE_A)
        sync_site(session, SITE_B)
    return SITE_A, SITE_B


@pytest.fixture
def new_run(archive: sessionmaker[Session], sites: Any) -> Callable[..., int]:
    """Start a run over both sites (or the given keys) and return its id."""

    def start(keys: tuple[str, ...] = (SITE_A.key, SITE_B.key)) -> int:
        with archive() as session, session.begin():
            return start_run(session, keys).id

    return start


@pytest.fixture
def make_item() -> Callable[..., ReportItem]:
    """A factory of report items for the first site; keyword arguments override fields."""
    return _make_item


def _make_item(**overrides: Any) -> ReportItem:
    values: dict[str, Any] = {
        "site_key": SITE_A.key,
        "url": "https://www.putian.gov.cn/zwgk/zfxxgknb/202401/t20240115_1.htm",
        "title": "莆田市统计局2023年政府信息公开工作年度报告",
        "index_no": "003519001/2024-00012",
        "publisher": "莆田市统计局",
        "pub_date": "2024-01-15",
        "written_date": "2024-01-12",
        "doc_no": None,
        "topic": "统计",
        "report_year": 2023,
        "body_text": BODY,
        "attachments": ["https://www.putian.gov.cn/zwgk/zfxxgknb/202401/P020240115.pdf"],
        "missing_fields": ["doc_no"],
        "encoding": "utf-8",
    }
    values.update(overrides)
    return ReportItem(**values)
