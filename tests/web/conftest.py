"""A small archive full of hostile content, and the read-only web app over it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from crawler.config import SiteConfig
from crawler.items import PageFailureItem, ReportItem
from storage import (
    finish_run,
    finish_site_crawl,
    open_archive,
    record_failure,
    record_report,
    start_run,
    sync_site,
)
from web.app import create_app
from web.settings import WebSettings

# Archived pages are hostile: these strings must come out as inert text everywhere.
SCRIPT = "<script>window.__pwned = 1; alert('pwned')</script>"
ONERROR = '<img src=x onerror="window.__pwned = 2">'
JS_URL = "javascript:window.__pwned=3"
HOSTILE_TITLE = f'示范局2023年政府信息公开工作年度报告"><svg onload="window.__pwned=4">{SCRIPT}'

SITE = SiteConfig(
    key="evil-gov",
    name=f"示范局{SCRIPT}",
    region="示范省示范市",
    level="department",
    family="trs",
    list_urls=("http://127.0.0.1:9/nb/",),
)
OTHER = SiteConfig(key="calm-gov", name="平静县人民政府", region="示范省平静县", level="government", family="trs",
                   list_urls=("http://127.0.0.1:9/calm/",))

BODY_V1 = (
    "一、总体情况\n"
    f"本机关收到行政复议申请2件。{SCRIPT}\n"
    f"二、主动公开政府信息情况\n{ONERROR}\n"
    "三、收到和处理政府信息公开申请情况\n本年新收政府信息公开申请10件。"
)
BODY_V2 = BODY_V1.replace("申请10件", "申请12件") + "\n六、其他需要报告的事项\n本年度未收取信息处理费。"

TABLES = {
    "format": "2021",
    "table3": {
        "columns": ["natural_person", "commercial", "research", "social_welfare", "legal_services", "other", "total"],
        "rows": {"new_requests": [10, 2, 0, 0, 0, 0, 12], "total": [9, 2, 0, 0, 0, 0, 11]},
    },
    "checks": {},
}


@dataclass
class HostileArchive:
    url: str
    report_id: int
    calm_id: int


def _item(**values: Any) -> ReportItem:
    defaults: dict[str, Any] = {
        "site_key": SITE.key,
        "url": "http://127.0.0.1:9/nb/t1.htm",
        "title": HOSTILE_TITLE,
        "publisher": f"示范局{ONERROR}",
        "pub_date": "2024-01-20",
        "report_year": 2023,
        "body_text": BODY_V1,
        "attachments": [JS_URL, "http://127.0.0.1:9/nb/P0201.pdf"],
        "fetched_at": datetime(2024, 2, 1, tzinfo=UTC),
    }
    defaults.update(values)
    fields = ReportItem.__dataclass_fields__
    return ReportItem(**{k: v for k, v in defaults.items() if k in fields})


def build_hostile_archive(database_url: str) -> HostileArchive:
    sessions = open_archive(database_url)
    try:
        with sessions() as session, session.begin():
            sync_site(session, SITE)
            sync_site(session, OTHER)
            run = start_run(session, [SITE.key, OTHER.key])
            record_report(session, run.id, _item())
            record_report(session, run.id, _item(body_text=BODY_V2, tables=TABLES, fetched_at=datetime(2024, 3, 1, tzinfo=UTC)))
            record_report(session, run.id, _item(
                site_key=OTHER.key, url="http://127.0.0.1:9/calm/t2.htm", title="平静县2023年政府信息公开工作年度报告",
                publisher="平静县人民政府", body_text="依申请公开工作平稳。公开。", attachments=[], pub_date="2024-03-20",
            ))
            record_failure(session, run.id, PageFailureItem(
                site_key=SITE.key, url=JS_URL, reason=f"HTTP 404 {SCRIPT}", http_status=404,
            ))
            finish_site_crawl(session, run.id, SITE.key, pages=3, finish_reason="finished", failed=False)
            finish_site_crawl(session, run.id, OTHER.key, pages=2, finish_reason="finished", failed=False)
            finish_run(session, run.id)
        with sessions() as session, session.begin():
            from storage.models import Document, Version

            ids = {d.url: d.id for d in session.query(Document)}
            if hasattr(Version, "tables"):  # the extraction columns (set directly if the item did not)
                for version in session.query(Version).filter(Version.document_id == ids["http://127.0.0.1:9/nb/t1.htm"]):
                    if version.number == 2 and not version.tables:
                        version.tables = TABLES
                        version.has_tables = True
    finally:
        sessions.kw["bind"].dispose()
    return HostileArchive(url=database_url, report_id=ids["http://127.0.0.1:9/nb/t1.htm"], calm_id=ids["http://127.0.0.1:9/calm/t2.htm"])


@pytest.fixture
def hostile(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HostileArchive:
    monkeypatch.setenv("NIANBAO_DATA_DIR", str(tmp_path / "data"))
    return build_hostile_archive(database_url)


@pytest.fixture
def client(hostile: HostileArchive) -> Iterator[TestClient]:
    app = create_app(WebSettings(database_url=hostile.url, row_cap=50))
    with TestClient(app) as test_client:
        yield test_client
