"""Watch: the alerts page and API, and the Atom feeds a monitor subscribes to, on both databases.

The archive is the hostile one of conftest.py (a bureau whose name and report title carry script
and markup, a report changed once, a calm county government); alerts are written into it the way
the monitor writes them (storage.outbox.raise_alert / notice / resolve_alert), standing for what
a season of nightly crawls leaves behind: a missing report still open, a silent change announced
once, a site that was down and came back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select

from storage import finish_run, open_archive, record_report, start_run
from storage.models import Site
from storage.outbox import Finding, alert_key, notice, raise_alert, resolve_alert
from tests.web.conftest import HOSTILE_TITLE, OTHER, SCRIPT, SITE, HostileArchive, _item
from web.app import create_app
from web.settings import WebSettings

ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ("reports", "changes", "alerts")


@pytest.fixture
def watched(hostile: HostileArchive) -> HostileArchive:
    """Three alerts: evil-gov's 2022 report missing (open, 1 April), its report changed after
    publication (a notice, 2 April), calm-gov unreachable from 1 March until resolved 3 April."""
    sessions = open_archive(hostile.url)
    try:
        with sessions() as session, session.begin():
            evil = session.scalars(select(Site).where(Site.key == SITE.key)).one()
            calm = session.scalars(select(Site).where(Site.key == OTHER.key)).one()
            raise_alert(session, Finding("report_missing", evil, f"2022 report not found {SCRIPT}", report_year=2022),
                        now=datetime(2024, 4, 1, tzinfo=UTC))
            notice(session, Finding("report_changed", evil, "text changed: 10 → 12 applications",
                                    report_year=2023, document_id=hostile.report_id, extra="v2"),
                   now=datetime(2024, 4, 2, tzinfo=UTC))
            raise_alert(session, Finding("site_unreachable", calm, "HTTP 503 on the column"),
                        now=datetime(2024, 3, 1, tzinfo=UTC))
            resolve_alert(session, alert_key("site_unreachable", calm.key), calm, "the column answers again",
                          now=datetime(2024, 4, 3, tzinfo=UTC))
    finally:
        sessions.kw["bind"].dispose()
    return hostile


@pytest.fixture
def watch_client(watched: HostileArchive, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app as deployed: Chinese unless the request asks otherwise (the suite's English
    default, tests/conftest.py, is lifted)."""
    monkeypatch.delenv("NIANBAO_LANG", raising=False)
    with TestClient(create_app(WebSettings(database_url=watched.url, row_cap=50))) as test_client:
        yield test_client


def _kinds(client: TestClient, query: str) -> list[str]:
    response = client.get(f"/api/alerts?{query}")
    assert response.status_code == 200, response.text
    return [a["kind"] for a in response.json()["alerts"]]


def _feed(client: TestClient, path: str) -> etree._Element:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = etree.fromstring(response.content)  # well-formed XML, or this raises
    assert root.tag == f"{ATOM}feed"
    return root


def _entries(root: etree._Element) -> list[dict[str, str]]:
    return [{"id": e.findtext(f"{ATOM}id"), "title": e.findtext(f"{ATOM}title"),
             "updated": e.findtext(f"{ATOM}updated"), "link": e.find(f"{ATOM}link").get("href"),
             "summary": e.findtext(f"{ATOM}summary")} for e in root.iter(f"{ATOM}entry")]


def test_the_api_filters_by_state_kind_site_and_region(watch_client: TestClient) -> None:
    """A monitor asks for what is open now, what was resolved, one kind, one site or one region."""
    assert _kinds(watch_client, "") == ["report_missing"]  # open by default
    assert _kinds(watch_client, "state=resolved") == ["site_unreachable"]
    assert _kinds(watch_client, "state=notice") == ["report_changed"]
    # Newest first by the latest event: resolved 3 April, noticed 2 April, opened 1 April.
    assert _kinds(watch_client, "state=all") == ["site_unreachable", "report_changed", "report_missing"]
    assert _kinds(watch_client, "state=all&kind=report_changed") == ["report_changed"]
    assert _kinds(watch_client, f"state=all&site={OTHER.key}") == ["site_unreachable"]
    assert _kinds(watch_client, "state=all&region=示范市") == ["report_changed", "report_missing"]
    assert _kinds(watch_client, "state=all&region=%25") == []  # a wildcard is a literal character
    assert _kinds(watch_client, "state=all&site=nosuch") == []

    first = watch_client.get("/api/alerts?state=all&per_page=2").json()
    second = watch_client.get("/api/alerts?state=all&per_page=2&page=2").json()
    assert (first["total"], first["has_more"], len(first["alerts"])) == (3, True, 2)
    assert (second["total"], second["has_more"], [a["kind"] for a in second["alerts"]]) == (3, False, ["report_missing"])

    changed = watch_client.get("/api/alerts?state=notice").json()["alerts"][0]
    assert changed["diff_path"] == f"/reports/{changed['document_id']}/diff?old=1&new=2"
    assert changed["report_path"] == f"/reports/{changed['document_id']}"
    resolved = watch_client.get("/api/alerts?state=resolved").json()["alerts"][0]
    assert resolved["resolved_at"].startswith("2024-04-03") and resolved["opened_at"].startswith("2024-03-01")
    assert resolved["resolution"] == "the column answers again"


def test_an_unknown_kind_or_state_is_refused(watch_client: TestClient) -> None:
    """A typo in a monitor's query must say so, not quietly list nothing (or everything)."""
    for query in ("kind=site_down", "state=closed", "kind=report_missing%27%20OR%201=1", "per_page=0"):
        api = watch_client.get(f"/api/alerts?{query}")
        assert api.status_code == 422, query
        assert api.json()["status"] == 422
        assert watch_client.get(f"/alerts?{query}").status_code == 422, query


def test_the_alerts_page_speaks_chinese_links_sites_reports_and_feeds(watch_client: TestClient) -> None:
    """What an archivist sees: kinds in Chinese, the site linked, the diff of a change, and the
    feeds to subscribe to; a hostile site name is inert text."""
    page = watch_client.get("/alerts?state=all&region=示范市")
    assert page.status_code == 200
    html = page.text
    assert "<td>年报缺失</td>" in html and "<td>年报发布后被修改</td>" in html
    assert "<td>网站无法访问</td>" not in html  # calm-gov is not in 示范市
    assert f'href="/sites/{SITE.key}"' in html
    assert "/diff?old=1&amp;new=2" in html
    assert SCRIPT not in html and "&lt;script&gt;" in html
    region = "region=%E7%A4%BA%E8%8C%83%E5%B8%82"
    assert html.count('<link rel="alternate" type="application/atom+xml"') == len(FEEDS)
    for name in FEEDS:
        assert f'href="/feeds/{name}.atom?{region}"' in html
    assert "共 2 条告警" in html

    english = watch_client.get("/alerts?lang=en").text
    assert "Missing report" in english and "1 alert matches" in english and "年报缺失" not in english


def test_feeds_are_atom_with_stable_unique_ids_newest_first(watch_client: TestClient) -> None:
    """A feed reader polls twice and must see the same entries with the same ids, newest on top,
    each linking back to this app with an absolute URL."""
    for name in FEEDS:
        first = _entries(_feed(watch_client, f"/feeds/{name}.atom"))
        again = _entries(_feed(watch_client, f"/feeds/{name}.atom"))
        assert first, name
        ids = [e["id"] for e in first]
        assert len(set(ids)) == len(ids)
        assert ids == [e["id"] for e in again]
        assert all(i.startswith("tag:testserver,") for i in ids)
        times = [datetime.fromisoformat(e["updated"]) for e in first]
        assert times == sorted(times, reverse=True)
        assert all(e["link"].startswith("http://testserver/") for e in first)

    reports = _entries(_feed(watch_client, "/feeds/reports.atom"))
    assert len(reports) == 2 and all(e["title"].startswith("新年报：") for e in reports)
    changes = _entries(_feed(watch_client, "/feeds/changes.atom"))
    assert [e["link"].split("testserver")[1].split("/diff")[1] for e in changes] == ["?old=1&new=2"]
    alerts = _entries(_feed(watch_client, "/feeds/alerts.atom"))
    assert [e["title"].split("]")[0] for e in alerts] == ["[已解除", "[通知", "[未解除"]


def test_per_site_and_per_region_feeds_hold_only_theirs(watch_client: TestClient, watched: HostileArchive) -> None:
    """A monitor of one bureau or one region subscribes to its own feed and sees nothing else."""
    calm = _entries(_feed(watch_client, f"/feeds/reports.atom?site={OTHER.key}"))
    assert [e["link"] for e in calm] == [f"http://testserver/reports/{watched.calm_id}"]
    assert _entries(_feed(watch_client, f"/feeds/changes.atom?site={OTHER.key}")) == []
    assert len(_entries(_feed(watch_client, f"/feeds/changes.atom?site={SITE.key}"))) == 1
    region_alerts = _entries(_feed(watch_client, "/feeds/alerts.atom?region=平静县"))
    assert len(region_alerts) == 1 and "网站无法访问" in region_alerts[0]["title"]
    region_reports = _feed(watch_client, "/feeds/reports.atom?region=示范市")
    assert [e["link"] for e in _entries(region_reports)] == [f"http://testserver/reports/{watched.report_id}"]
    # The scope is part of the feed's own id and self link, so two subscriptions never merge.
    ids = {_feed(watch_client, f"/feeds/alerts.atom{q}").findtext(f"{ATOM}id")
           for q in ("", f"?site={OTHER.key}", "?region=平静县")}
    assert len(ids) == 3
    assert watch_client.get("/feeds/alerts.atom?site=nosuch").status_code == 404


def test_hostile_titles_are_escaped_text_and_control_characters_do_not_break_the_feed(
    watch_client: TestClient, watched: HostileArchive,
) -> None:
    """An archived title with markup stays the same text in the feed (escaped, never elements);
    a title with a control character (XML cannot carry it) still yields a valid feed."""
    raw = watch_client.get("/feeds/reports.atom").content
    assert b"<script" not in raw and b"<svg" not in raw
    titles = [e["title"] for e in _entries(etree.fromstring(raw))]
    assert f"新年报：{HOSTILE_TITLE}" in titles
    root = etree.fromstring(raw)
    assert not list(root.iter("script", "svg", "{http://www.w3.org/1999/xhtml}script"))
    summaries = [e["summary"] for e in _entries(root)]
    assert any(SCRIPT in s for s in summaries)  # the hostile site name, as plain text
    assert all(e.get("type") in (None, "text") for e in root.iter(f"{ATOM}summary", f"{ATOM}title"))

    sessions = open_archive(watched.url)
    try:
        with sessions() as session, session.begin():
            run = start_run(session, [OTHER.key])
            record_report(session, run.id, _item(
                site_key=OTHER.key, url="http://127.0.0.1:9/calm/t3.htm", title="平静县2024年\x0b年度报告\x1b[0m",
                body_text="二〇二四年，依申请公开工作平稳。", report_year=2024, attachments=[],
                fetched_at=datetime(2025, 2, 1, tzinfo=UTC)))
            finish_run(session, run.id)
    finally:
        sessions.kw["bind"].dispose()
    newest = _entries(_feed(watch_client, "/feeds/reports.atom"))[0]
    assert newest["title"].startswith("新年报：平静县2024年")
    assert "\x0b" not in newest["title"] and "\x1b" not in newest["title"]


def test_feeds_speak_the_requested_language_and_use_the_public_url(
    watch_client: TestClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chinese by default, English with ?lang=en; behind a proxy NIANBAO_PUBLIC_URL makes the links."""
    chinese = _feed(watch_client, "/feeds/changes.atom")
    assert chinese.findtext(f"{ATOM}title") == "年报档案库：变更的年报"
    assert chinese.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"
    assert _entries(chinese)[0]["title"].startswith("年报变更（第2版）：")

    monkeypatch.setenv("NIANBAO_PUBLIC_URL", "https://nianbao.example.org/archive/")
    english = _feed(watch_client, "/feeds/changes.atom?lang=en")
    assert english.findtext(f"{ATOM}title") == "nianbao: changed reports"
    assert english.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    entry = _entries(english)[0]
    assert entry["title"].startswith("Report changed (version 2): ")
    assert entry["link"].startswith("https://nianbao.example.org/archive/reports/")
    assert entry["id"].startswith("tag:nianbao.example.org,")
    self_link = [link.get("href") for link in english.iter(f"{ATOM}link") if link.get("rel") == "self"]
    assert self_link == ["https://nianbao.example.org/archive/feeds/changes.atom"]
