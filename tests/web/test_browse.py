"""Browse: the home page (what's new, what's wrong), regions, sites, and /search without a query.

The conftest archive stands for two bureaus crawled once in 2024 (one report changed then). The
``browse`` archive adds what a monitor meets a week later: a third bureau whose report was
re-published yesterday with new text (a changed report), whose region name carries markup and a
slash, whose column could only be read in part (list page 2 answered HTTP 500), and alerts the
monitor opened (report missing, site unreachable), resolved (listing broken) or sent as a
one-off notice. Every name that comes from a sites file or an archived page is hostile text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerts.health import assess_pending
from crawler.config import SiteConfig
from storage import finish_run, finish_site_crawl, open_archive, record_report, start_run, sync_site
from storage.listing import ListingRecord
from storage.models import Document, Site
from storage.outbox import Finding, notice, raise_alert, resolve_alert
from tests.web.conftest import OTHER, SCRIPT, SITE, HostileArchive, _item, build_hostile_archive
from tests.web.test_app import assert_inert
from web.app import create_app
from web.settings import WebSettings

# A township whose sites-file region and name carry markup; the region also has a slash (it
# must still reach its page) and the name a quote (it must not end an attribute).
NEW_REGION = "示范省新区/<i>开发区</i>"
NEW = SiteConfig(key="new-gov", name=f'新区管委会"><b>{SCRIPT}', region=NEW_REGION, level="township",
                 family="trs", list_urls=("http://127.0.0.1:9/new/",))
NEW_URL = "http://127.0.0.1:9/new/t3.htm"


@dataclass
class BrowseArchive:
    url: str
    report_id: int
    calm_id: int
    new_id: int


def _new_listing() -> ListingRecord:
    """The new bureau's column: page 1 read, page 2 failed with a hostile reason."""
    column = NEW.list_urls[0]
    listing = ListingRecord()
    listing.add_column(column)
    listing.plan("p1", column, 1, column)
    listing.mark_fetched("p1")
    listing.plan("p2", column, 2, column + "index_1.html")
    listing.mark_failed("p2", f"HTTP 500 {SCRIPT}")
    listing.declare(column, 2)
    return listing


def build_browse_archive(database_url: str) -> BrowseArchive:
    hostile = build_hostile_archive(database_url)
    now = datetime.now(UTC)
    sessions = open_archive(database_url)
    try:
        with sessions() as session, session.begin():
            sync_site(session, NEW)
            run = start_run(session, [NEW.key])
            new_report: dict[str, Any] = {
                "site_key": NEW.key, "url": NEW_URL, "title": "新区2024年政府信息公开工作年度报告",
                "publisher": "新区管委会", "pub_date": "2025-03-01", "report_year": 2024, "attachments": [],
            }
            record_report(session, run.id, _item(**new_report, body_text="一、总体情况\n旧文本。",
                                                 fetched_at=now - timedelta(days=30)))
            record_report(session, run.id, _item(**new_report, body_text="一、总体情况\n改过的文本。",
                                                 fetched_at=now - timedelta(days=1)))
            finish_site_crawl(session, run.id, NEW.key, pages=2, finish_reason="finished", failed=False,
                              listing=_new_listing())
            finish_run(session, run.id)
            assess_pending(session)  # every finished site crawl gets its health verdict
            sites = {site.key: site for site in session.scalars(select(Site))}
            raise_alert(session, Finding("report_missing", sites[SITE.key], f"2022 missing {SCRIPT}", report_year=2022),
                        now=now - timedelta(days=2))
            raise_alert(session, Finding("site_unreachable", sites[NEW.key], "list page failed"), now=now)
            closed = Finding("listing_broken", sites[OTHER.key], "no reports listed")
            raise_alert(session, closed, now=now - timedelta(days=3))
            resolve_alert(session, closed.key, sites[OTHER.key], "reports listed again", now=now)
            notice(session, Finding("report_changed", sites[NEW.key], "changed", document_id=None), now=now)
            new_id = session.scalar(select(Document.id).where(Document.url == NEW_URL))
    finally:
        sessions.kw["bind"].dispose()
    assert new_id is not None
    return BrowseArchive(url=database_url, report_id=hostile.report_id, calm_id=hostile.calm_id, new_id=new_id)


@pytest.fixture(autouse=True)
def chinese_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """The web app as deployed: NIANBAO_LANG unset, so Chinese unless the request asks."""
    monkeypatch.delenv("NIANBAO_LANG", raising=False)


@pytest.fixture
def browse(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BrowseArchive:
    monkeypatch.setenv("NIANBAO_DATA_DIR", str(tmp_path / "data"))
    return build_browse_archive(database_url)


@pytest.fixture
def browse_client(browse: BrowseArchive) -> Iterator[TestClient]:
    with TestClient(create_app(WebSettings(database_url=browse.url, row_cap=50))) as test_client:
        yield test_client


def _ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


# --- home ---------------------------------------------------------------------------------------


def test_home_on_the_conftest_archive_shows_every_section(client: TestClient, hostile: HostileArchive) -> None:
    """Two bureaus crawled in 2024: newest archived first, nothing changed this week, no alert,
    both 2023 reports on time as of June 2024."""
    home = client.get("/api/home", params={"as_of": "2024-06-01"}).json()
    assert (home["sites"], home["reports"]) == (2, 2)
    assert _ids(home["latest"]) == [hostile.calm_id, hostile.report_id]  # same crawl: the later row first
    assert home["latest"][1]["version"] == 2 and home["latest"][1]["site"] == SITE.key
    assert home["changed"] == {"reports": [], "total": 0}
    assert home["alerts"]["open"] == 0 and home["alerts"]["newest"] == []
    assert home["coverage"] == {"as_of": "2024-06-01", "counts": {"on_time": 2}}
    html = client.get("/", params={"as_of": "2024-06-01"}).text
    for heading in ("最新年报", "近7天内有变化的年报", "未处理的告警", "覆盖情况一览"):
        assert f"<h2>{heading}</h2>" in html
    assert 'action="/search"' in html and "没有未处理的告警。" in html
    assert f'href="/sites/{SITE.key}"' in html and f'href="/sites/{OTHER.key}"' in html
    assert "按时: 2" in html
    assert_inert(html)


def test_home_shows_the_changed_report_and_open_alerts(browse_client: TestClient, browse: BrowseArchive) -> None:
    """A report re-published yesterday is "changed this week"; open alerts are counted by kind,
    the resolved one and the one-off notice are not; coverage counts are the grid's."""
    home = browse_client.get("/api/home", params={"as_of": "2026-06-01"}).json()
    assert _ids(home["latest"]) == [browse.new_id, browse.calm_id, browse.report_id]
    assert home["changed"]["total"] == 1 and _ids(home["changed"]["reports"]) == [browse.new_id]
    assert home["changed"]["reports"][0]["version"] == 2
    assert home["alerts"]["open"] == 2
    assert home["alerts"]["by_kind"] == {"report_missing": 1, "site_unreachable": 1}
    assert [a["kind"] for a in home["alerts"]["newest"]] == ["site_unreachable", "report_missing"]  # newest first
    assert home["alerts"]["outbox_pending"] >= 2  # the messages the monitor queued, not sent here
    grid = browse_client.get("/api/coverage", params={"as_of": "2026-06-01"}).json()
    assert home["coverage"]["counts"] == grid["counts"]
    html = browse_client.get("/", params={"as_of": "2026-06-01"}).text
    changed = html.split('class="home-changed"')[1].split("</section>")[0]
    assert f'href="/reports/{browse.new_id}"' in changed and f'href="/reports/{browse.report_id}"' not in changed
    alerts = html.split('class="home-alerts"')[1].split("</section>")[0]
    assert "年报缺失" in alerts and "网站无法访问" in alerts and "栏目异常" not in alerts
    assert f'href="/sites/{NEW.key}"' in alerts and f'href="/sites/{SITE.key}"' in alerts
    assert "新区管委会&#34;&gt;&lt;b&gt;&lt;script&gt;" in html  # the hostile name, as text
    assert_inert(html)


# --- regions and sites ----------------------------------------------------------------------------


def test_regions_list_every_region_with_its_sites_and_counts(browse_client: TestClient, browse: BrowseArchive) -> None:
    regions = browse_client.get("/api/regions").json()["regions"]
    by_name = {r["region"]: r for r in regions}
    assert set(by_name) == {SITE.region, OTHER.region, NEW_REGION}
    assert by_name[SITE.region]["reports"] == 1 and by_name[NEW_REGION]["sites"][0]["site"] == NEW.key
    html = browse_client.get("/regions").text
    assert_inert(html)
    link = re.search(r'href="(/regions/[^"]*%3Ci%3E[^"]*)"', html)
    assert link is not None, "the hostile region is linked, url-encoded"
    region_page = browse_client.get(link.group(1).replace("&amp;", "&"))
    assert region_page.status_code == 200  # the slash in the name still reaches the region
    assert "示范省新区/&lt;i&gt;开发区&lt;/i&gt;" in region_page.text
    assert f'href="/sites/{NEW.key}"' in region_page.text
    assert_inert(region_page.text)


def test_a_region_page_has_its_sites_latest_reports_and_coverage(browse_client: TestClient, browse: BrowseArchive) -> None:
    region = browse_client.get(f"/api/regions/{quote(SITE.region)}", params={"as_of": "2024-06-01"}).json()
    assert [s["site"] for s in region["sites"]] == [SITE.key]  # exact name: not 示范省's other towns
    assert _ids(region["latest"]["reports"]) == [browse.report_id] and region["latest"]["total"] == 1
    assert region["coverage"]["counts"] == {"on_time": 1}
    html = browse_client.get(f"/regions/{quote(SITE.region)}").text
    assert f'href="/reports/{browse.report_id}"' in html and f'href="/sites/{SITE.key}"' in html


def test_an_unknown_region_is_not_found(browse_client: TestClient) -> None:
    """Only the exact name of a site's region is a region (a prefix, a LIKE pattern or SQL are not)."""
    for name in ("示范省", "不存在", "' OR '1'='1", "示范省示范市%", "<script>x</script>"):
        api = browse_client.get(f"/api/regions/{quote(name)}")
        assert api.status_code == 404 and api.json()["status"] == 404, name
        page = browse_client.get(f"/regions/{quote(name)}")
        assert page.status_code == 404 and "没有地区为" in page.text, name
        assert_inert(page.text)


def test_a_site_page_has_reports_by_year_health_listing_and_alerts(browse_client: TestClient, browse: BrowseArchive) -> None:
    site = browse_client.get(f"/api/sites/{SITE.key}", params={"as_of": "2024-06-01"}).json()
    assert site["reports"] == 1 and site["truncated"] is False
    assert [(y["report_year"], y["coverage"]) for y in site["years"]] == [(2023, "on_time")]
    assert site["years"][0]["reports"][0]["id"] == browse.report_id
    assert site["years"][0]["reports"][0]["versions"] == 2
    assert site["health"]["state"] == "ok"
    assert [a["kind"] for a in site["alerts"]] == ["report_missing"]
    calm = browse_client.get(f"/api/sites/{OTHER.key}").json()
    assert calm["alerts"] == []  # its listing_broken alert was resolved
    new = browse_client.get(f"/api/sites/{NEW.key}").json()
    assert new["listing"]["complete"] is False and new["listing"]["failed"] == 1
    assert new["listing"]["unread_pages"][0]["reason"] == f"HTTP 500 {SCRIPT}"
    assert [a["kind"] for a in new["alerts"]] == ["site_unreachable"]  # the notice is not an open alert
    html = browse_client.get(f"/sites/{SITE.key}", params={"as_of": "2024-06-01"}).text
    assert "按年度的年报" in html and "<h3>2023" in html and f'href="/reports/{browse.report_id}/diff">2</a>' in html
    assert f'href="/regions/{quote(SITE.region)}"' in html
    assert "年报缺失" in html and "&lt;script&gt;" in html
    assert_inert(html)
    assert_inert(browse_client.get(f"/sites/{NEW.key}").text)


def test_an_unknown_site_is_not_found(browse_client: TestClient) -> None:
    """A key is compared as data: SQL, a LIKE wildcard or another case name no site."""
    for key in ("nobody", "evil-gov' OR '1'='1", "EVIL-GOV", "%", "<script>x"):
        api = browse_client.get(f"/api/sites/{quote(key, safe='')}")
        assert api.status_code == 404 and api.json()["status"] == 404, key
        page = browse_client.get(f"/sites/{quote(key, safe='')}")
        assert page.status_code == 404 and "没有网站的标识为" in page.text, key
        assert_inert(page.text)


# --- /search without a query --------------------------------------------------------------------


def test_search_without_a_query_lists_reports_newest_first_with_the_total(
    browse_client: TestClient, browse: BrowseArchive
) -> None:
    """Before this page existed, /search with no words (or only site=…) showed nothing."""
    everything = browse_client.get("/api/search").json()
    assert everything["total"] == 3
    assert _ids(everything["hits"]) == [browse.new_id, browse.calm_id, browse.report_id]  # newest published first
    assert everything["hits"][2]["version"] == 2 and everything["hits"][0]["snippet"] == []
    oldest = browse_client.get("/api/search", params={"sort": "date_asc"}).json()
    assert _ids(oldest["hits"]) == [browse.report_id, browse.calm_id, browse.new_id]
    second = browse_client.get("/api/search", params={"per_page": 1, "page": 2}).json()
    assert (_ids(second["hits"]), second["total"], second["has_more"]) == ([browse.calm_id], 3, True)
    last = browse_client.get("/api/search", params={"per_page": 1, "page": 3}).json()
    assert last["has_more"] is False


FILTERS: list[tuple[dict[str, Any], list[str]]] = [
    ({"site": "calm-gov"}, ["calm"]),
    ({"site": ["calm-gov", "evil-gov"]}, ["calm", "evil"]),
    ({"site": "nobody"}, []),
    ({"region": "示范省"}, ["new", "calm", "evil"]),  # region filters match a part of the name
    ({"region": "平静县"}, ["calm"]),
    ({"level": "township"}, ["new"]),
    ({"year": 2023}, ["calm", "evil"]),
    ({"from_year": 2024}, ["new"]),
    ({"to_year": 2023, "site": "evil-gov"}, ["evil"]),
    ({"has_tables": "true"}, ["evil"]),
]


def test_search_without_a_query_takes_every_filter(browse_client: TestClient, browse: BrowseArchive) -> None:
    ids = {"new": browse.new_id, "calm": browse.calm_id, "evil": browse.report_id}
    for params, expected in FILTERS:
        found = browse_client.get("/api/search", params=params).json()
        assert _ids(found["hits"]) == [ids[name] for name in expected], params
        assert found["total"] == len(expected), params


def test_the_search_page_without_a_query_lists_with_site_links(browse_client: TestClient, browse: BrowseArchive) -> None:
    html = browse_client.get("/search", params={"site": "calm-gov"}).text
    assert html.count('class="hit"') == 1 and f'href="/reports/{browse.calm_id}"' in html
    assert "共 1 份年报" in html and f'href="/sites/{OTHER.key}"' in html
    everything = browse_client.get("/search").text
    assert everything.count('class="hit"') == 3 and "共 3 份年报" in everything
    assert everything.count('href="/sites/') >= 3
    assert_inert(everything)
    words = browse_client.get("/search", params={"q": "复议"}).text  # a query still searches
    assert words.count('class="hit"') == 1 and "<mark>复议</mark>" in words
    assert f'href="/sites/{SITE.key}"' in words


def test_the_row_cap_bounds_the_listing(browse: BrowseArchive) -> None:
    with TestClient(create_app(WebSettings(database_url=browse.url, row_cap=2))) as capped:
        first = capped.get("/api/search", params={"per_page": 2}).json()
        beyond = capped.get("/api/search", params={"per_page": 2, "page": 2}).json()
    assert len(first["hits"]) == 2 and first["has_more"] is False and first["total"] == 3
    assert beyond["hits"] == [] and beyond["total"] == 3


# --- language -------------------------------------------------------------------------------------


def test_chinese_by_default_english_on_request(browse_client: TestClient) -> None:
    for path in ("/", "/regions", f"/sites/{SITE.key}", "/search"):
        _speaks_chinese_unless_asked(browse_client, path)


def _speaks_chinese_unless_asked(browse_client: TestClient, path: str) -> None:
    browse_client.cookies.clear()
    chinese = browse_client.get(path).text
    assert '<html lang="zh-CN">' in chinese
    by_parameter = browse_client.get(path, params={"lang": "en"}).text
    browse_client.cookies.clear()  # ?lang= is remembered; the header must work on its own
    by_header = browse_client.get(path, headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    for english in (by_parameter, by_header):
        assert '<html lang="en">' in english
    english_words = {"/": "Latest reports", "/regions": "Region", f"/sites/{SITE.key}": "Reports by year",
                     "/search": "newest published first"}[path]
    chinese_words = {"/": "最新年报", "/regions": "地区", f"/sites/{SITE.key}": "按年度的年报",
                     "/search": "按发布日期从新到旧"}[path]
    assert chinese_words in chinese and english_words not in chinese
    assert english_words in by_parameter and english_words in by_header
