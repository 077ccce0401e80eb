"""A reader's walk through the web app in a real browser, in Chinese and in English (issue 15).

What it stands for: an archivist on a Chinese desktop (browser locale zh-CN, the Debian CJK font
``fonts-noto-cjk`` installed) opens the archive, goes from the home page to a bureau's page, to
its annual report, to the archived page as it was captured, to the diff between the two
versions and to the alerts -- only by clicking links -- and a foreign researcher does the same
with ``?lang=en`` (remembered by the app in a cookie) or an English browser.

The archive comes from a real crawl (``nianbao crawl`` in a child process, WARC evidence kept)
of a loopback bureau site on two nights: the bureau silently corrects one figure (申请218件 →
申请219件), so the report has two versions and a diff. Its report page is hostile, as a
compromised or merely tracking government page would be: a script that tries to set flags on
``window.parent``/``window.top``, to log to the console, to ``fetch``, ``sendBeacon`` and load an
image from a *trap* server, plus an ``<img>`` and a stylesheet pointing at that trap. The replay
view must run none of it and fetch nothing: the browser may talk only to the app's own origin,
the replay frame only for its own document, and the trap server must receive nothing at all.

Chinese must be drawn as characters, not as boxes: ``fc-list :lang=zh`` must list a CJK font,
Chromium must report (over CDP) a Noto CJK face used for the Chinese heading, and two different
Chinese characters drawn in the heading's font must differ pixel by pixel (missing glyphs are
identical boxes). Screenshots of every step go to ``test-artifacts/walk-*.png``.

The app's own export and pager fixes of this part are checked in-process at the end:
``/search.csv`` and ``/search.jsonl`` without a query list like ``/search``; the shared pager
and the level names are translated.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from storage import open_archive
from storage.models import Document, Site
from storage.outbox import Finding, raise_alert
from tests.reliability.conftest import HostileSite, list_page, send
from tests.web.conftest import HostileArchive
from tests.web.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need, nianbao_serve
from tests.web.test_report import crawl_each_night

REPORT_TITLE = "示范局2024年政府信息公开工作年度报告"
# Printed by the planted script if it ever ran: no console message may contain it.
MARKER = "walk-pwned"

# The headings each step must show, per language (the catalog's words, written out here so a
# changed translation is noticed).
HEADINGS: dict[str, dict[str, str]] = {
    "zh": {"home": "年报档案库", "site": "按年度的年报", "level": "部门", "versions": "版本",
           "replay": "第 2 版抓取时的网页", "diff": "改动：", "alerts": "告警", "alert_kind": "年报缺失"},
    "en": {"home": "Annual reports archive", "site": "Reports by year", "level": "department", "versions": "Versions",
           "replay": "Version 2 as captured", "diff": "Changes:", "alerts": "Alerts", "alert_kind": "Missing report"},
}


def hostile_report_page(figure: int, trap: str) -> bytes:
    """The bureau's report page: real report text, and every way a page reaches the network."""
    script = (
        f"<script>try {{ window.parent.__walk_pwned = 1; window.top.__walk_pwned = 1; }} catch (e) {{}}"
        f"window.__walk_pwned = 1; console.log('{MARKER}');"
        f"fetch('{trap}/fetch'); navigator.sendBeacon('{trap}/beacon', 'x'); new Image().src = '{trap}/js-image';"
        "</script>"
    )
    html = (
        f"<html><head><meta charset=\"utf-8\"><title>{REPORT_TITLE}</title>"
        f"<link rel=\"stylesheet\" href=\"{trap}/style.css\"></head><body><h1>{REPORT_TITLE}</h1>"
        "<div class='content'><p>一、总体情况</p>"
        "<p>2024年，本机关认真贯彻落实《中华人民共和国政府信息公开条例》，主动公开政府信息。</p>"
        "<p>三、收到和处理政府信息公开申请情况</p>"
        f"<p>本年新收政府信息公开申请{figure}件。</p>{script}<img src=\"{trap}/pixel.gif\"></div></body></html>"
    )
    return html.encode("utf-8")


@dataclass
class WalkArchive:
    url: str
    data_dir: Path
    document_id: int
    trap: HostileSite


def _started(server: HostileSite) -> HostileSite:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _stop(server: HostileSite) -> None:
    server.shutdown()
    server.server_close()


def _crawl_two_nights(tmp_path: Path, database_url: str, trap: HostileSite) -> None:
    """``nianbao crawl`` on two nights of a bureau whose report figure changes in between."""
    bureau = _started(HostileSite())
    try:
        night = {"night": 1}
        bureau.routes["/nb/"] = lambda h: send(h, 200, list_page({"/nb/t1.htm": 2024}))
        bureau.routes["/nb/t1.htm"] = lambda h: send(h, 200, hostile_report_page(217 + night["night"], trap.base))
        crawl_each_night(tmp_path, database_url, "walk-gov", bureau.url("/nb/"), night)
    finally:
        _stop(bureau)


def _open_alert(database_url: str) -> int:
    """A monitor's open alert on the bureau (its 2023 report is missing); the report's id."""
    sessions = open_archive(database_url)
    try:
        with sessions() as session, session.begin():
            site = session.scalars(select(Site).where(Site.key == "walk-gov")).one()
            raise_alert(session, Finding("report_missing", site, "示范局2023年年报尚未发布", report_year=2023))
            return session.scalars(select(Document.id)).one()
    finally:
        sessions.kw["bind"].dispose()


@pytest.fixture
def walk_archive(database_url: str, tmp_path: Path) -> Iterator[WalkArchive]:
    trap = _started(HostileSite())  # answers 404 to everything, but logs every request it gets
    try:
        _crawl_two_nights(tmp_path, database_url, trap)
        document_id = _open_alert(database_url)
        yield WalkArchive(url=database_url, data_dir=tmp_path / "nianbao-data", document_id=document_id, trap=trap)
    finally:
        _stop(trap)


@pytest.fixture
def served_walk(walk_archive: WalkArchive, tmp_path: Path) -> Iterator[tuple[str, WalkArchive]]:
    """``nianbao serve`` in a child process over the crawled archive (its WARC files included)."""
    without = ("NIANBAO_WARC_DIR", "NIANBAO_LANG", "NIANBAO_PUBLIC_URL", "NIANBAO_DATABASE_URL")
    with nianbao_serve(walk_archive.url, walk_archive.data_dir, tmp_path, without=without) as base_url:
        yield base_url, walk_archive


@dataclass
class Traffic:
    """Everything the browser asked for during one walk, what became of it, and what it printed.

    ``requests``: every request the page or a frame made (Playwright's request event), as (url,
    from a child frame, resource type); ``blocked``: those the browser itself refused
    (failed with "csp": they never left it); ``sent``: those that reached the network layer
    (route interception sees each one before it goes out, and lets it go on unchanged, so a leak
    would really reach the trap server)."""

    requests: list[tuple[str, bool, str]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    sent: list[tuple[str, bool, str]] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    @staticmethod
    def _described(request: Any) -> tuple[str, bool, str]:
        try:
            child = request.frame.parent_frame is not None
        except Exception:  # a request with no frame (a worker's): counted as the top page's
            child = False
        return request.url, child, request.resource_type

    def record(self, request: Any) -> None:
        self.requests.append(self._described(request))

    def record_failure(self, request: Any) -> None:
        # Chromium reports a request its Content-Security-Policy refused as failed with "csp".
        if request.failure in ("csp", "net::ERR_BLOCKED_BY_CSP"):
            self.blocked.append(request.url)

    def record_console(self, message: Any) -> None:
        self.console.append(message.text)

    def record_sent(self, route: Any) -> None:
        self.sent.append(self._described(route.request))
        route.continue_()


def _chinese_is_drawn_with_a_real_font(page: Any, cdp: Any, selector: str) -> None:
    """The element's Chinese is drawn by a Noto CJK face, and its glyphs are not boxes."""
    document = cdp.send("DOM.getDocument", {"depth": 0})
    node = cdp.send("DOM.querySelector", {"nodeId": document["root"]["nodeId"], "selector": selector})
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    assert any("CJK" in f["familyName"] and f["glyphCount"] > 0 for f in fonts), fonts
    # Two different characters, drawn in the element's own font: missing glyphs would be the
    # same empty box, real ones differ (and are not blank).
    pixels = page.evaluate(
        """([selector]) => {
            const family = getComputedStyle(document.querySelector(selector)).fontFamily;
            const draw = (text) => {
                const canvas = document.createElement('canvas');
                canvas.width = 64; canvas.height = 64;
                const context = canvas.getContext('2d');
                context.font = `48px ${family}`;
                context.fillText(text, 4, 52);
                return Array.from(context.getImageData(0, 0, 64, 64).data.filter((_, i) => i % 4 === 3));
            };
            return [draw('年'), draw('报')];
        }""",
        [selector],
    )
    first, second = pixels
    assert any(first) and any(second), "the glyphs drew nothing"
    assert first != second, "two different Chinese characters drew the same shape (tofu boxes)"


def _replay_ran_nothing(page: Any, base: str, archive: WalkArchive, traffic: Traffic) -> None:
    frame = next(f for f in page.frames if f.url.endswith("/replay"))
    # The archived page is really there (the frame shows it), but its script never ran.
    assert "申请219件" in frame.locator("body").inner_text()
    assert frame.evaluate("typeof window.__walk_pwned") == "undefined"
    assert page.evaluate("typeof window.__walk_pwned") == "undefined"
    # The frame asked for its own document, and nothing it tried (stylesheet, image) got out.
    replay = f"{base}/reports/{archive.document_id}/versions/2/replay"
    assert [(url, kind) for url, child, kind in traffic.sent if child] == [(replay, "document")], traffic.sent
    tried = [url for url, child, _kind in traffic.requests if child and url != replay]
    assert tried and all(url.startswith(archive.trap.base) for url in tried), tried
    assert set(tried) <= set(traffic.blocked), (tried, traffic.blocked)


def _walk(page: Any, cdp: Any, base: str, archive: WalkArchive, language: str, traffic: Traffic, start: str) -> None:
    """home → site → report → replay view → diff → alerts, by clicking; headings in ``language``."""
    words = HEADINGS[language]

    def shot(step: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"walk-{language}-{step}.png"), full_page=True)

    page.goto(f"{base}{start}")
    assert page.locator("h1").inner_text() == words["home"]
    if language == "zh":
        _chinese_is_drawn_with_a_real_font(page, cdp, "h1")
    shot("1-home")

    page.locator("a.site-link").first.click()
    page.wait_for_url(f"{base}/sites/walk-gov")
    assert words["site"] in page.locator("h2").all_inner_texts()
    assert page.locator("dl.metadata dd").nth(1).inner_text() == words["level"]
    shot("2-site")

    page.locator(f"section.site-year a[href='/reports/{archive.document_id}']").click()
    page.wait_for_url(f"{base}/reports/{archive.document_id}")
    assert page.locator("h1.report-title").inner_text() == REPORT_TITLE
    assert page.locator("h2#versions").inner_text() == words["versions"]
    assert page.locator("dl.metadata dd").first.inner_text().endswith(f", {words['level']}")
    shot("3-report")

    page.locator("details[open] a.replay-link").click()
    page.wait_for_url(f"{base}/reports/{archive.document_id}/versions/2/view")
    page.wait_for_load_state("load")  # the replay frame included
    assert page.locator("h1").inner_text().startswith(words["replay"])
    _replay_ran_nothing(page, base, archive, traffic)
    shot("4-replay")

    page.locator("h1 a").click()  # back to the version's own page, then its diff link
    page.wait_for_url(f"{base}/reports/{archive.document_id}/versions/2")
    page.locator("a.diff-link").last.click()
    page.wait_for_url(re.compile(rf"{re.escape(base)}/reports/{archive.document_id}/diff"))
    assert page.locator("h1").inner_text().startswith(words["diff"])
    assert any("219" in text for text in page.locator("table.diff td.new").all_inner_texts())
    shot("5-diff")

    page.locator("header nav a[href='/alerts']").click()
    page.wait_for_url(f"{base}/alerts")
    assert page.locator("h1").inner_text() == words["alerts"]
    assert words["alert_kind"] in page.locator("table.alerts tbody").inner_text()
    shot("6-alerts")


def _only_the_app_was_asked(base: str, archive: WalkArchive, traffic: Traffic) -> None:
    strangers = [url for url, _child, _kind in traffic.sent if not url.startswith(f"{base}/")]
    assert strangers == [], strangers
    refused = {url for url, _child, _kind in traffic.requests if not url.startswith(f"{base}/")}
    assert refused <= set(traffic.blocked), (refused, traffic.blocked)  # refused by the browser, not sent
    assert archive.trap.log == [], archive.trap.log  # the trap server never heard from anyone
    assert not [text for text in traffic.console if MARKER in text], traffic.console


# (language expected, browser locale, first address): each walk in a fresh browser context.
WALKS = (
    ("zh", "zh-CN", "/"),  # a Chinese browser: the app's default and Accept-Language agree
    ("en", "zh-CN", "/?lang=en"),  # ?lang=en on a Chinese browser: the cookie keeps it over the clicks
    ("en", "en-US", "/"),  # an English browser: Accept-Language alone
)


def test_walk_from_home_to_alerts_in_chromium(served_walk: tuple[str, WalkArchive]) -> None:
    """The three walks share one crawl and one server (a crawl costs seconds); each has its own
    browser context (no cookie carried over) and its own record of traffic."""
    _need(CHROMIUM.is_file(), f"chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright (python) is not installed")
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout
    _need("Noto Sans CJK" in fonts, "no Noto CJK font (Debian fonts-noto-cjk; make system-packages)")
    base, archive = served_walk
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            for language, locale, start in WALKS:
                traffic = Traffic()
                context = browser.new_context(locale=locale)
                context.on("request", traffic.record)
                context.on("requestfailed", traffic.record_failure)
                context.route("**/*", traffic.record_sent)
                page = context.new_page()
                page.on("console", traffic.record_console)
                cdp = context.new_cdp_session(page)
                cdp.send("DOM.enable")
                cdp.send("CSS.enable")
                _walk(page, cdp, base, archive, language, traffic, start)
                context.close()
                _only_the_app_was_asked(base, archive, traffic)
        finally:
            browser.close()


# --- the exports and the shared pager (in-process) ---------------------------------------------


def _ids_of_csv(text: str) -> list[int]:
    return [int(row["id"]) for row in csv.DictReader(io.StringIO(text))]


def test_exports_without_a_query_list_what_the_search_page_lists(client: TestClient, hostile: HostileArchive) -> None:
    """A researcher downloads "every report" (or every report of one level) without typing words:
    /search.csv and /search.jsonl give the same reports as /api/search without a query."""
    for params in ({}, {"q": "  "}, {"level": "government"}):
        listed = [hit["id"] for hit in client.get("/api/search", params=params).json()["hits"]]
        assert listed, params
        csv_ids = _ids_of_csv(client.get("/search.csv", params=params).text)
        jsonl_ids = [json.loads(line)["id"] for line in client.get("/search.jsonl", params=params).text.splitlines()]
        assert csv_ids == listed and jsonl_ids == listed, params
    assert set(_ids_of_csv(client.get("/search.csv").text)) == {hostile.report_id, hostile.calm_id}
    assert _ids_of_csv(client.get("/search.csv", params={"level": "government"}).text) == [hostile.calm_id]


def test_pager_and_level_names_are_translated(client: TestClient, hostile: HostileArchive,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared pager ("← previous", "page N", "next →") and the bureau's level speak the
    reader's language; the English words stay available with ?lang=en."""
    monkeypatch.delenv("NIANBAO_LANG", raising=False)  # the app as deployed: Chinese by default
    first, second = (client.get("/search", params={"per_page": 1, "page": n}).text for n in (1, 2))
    assert "第 1 页" in first and "下一页 →" in first and "page 1" not in first
    assert "← 上一页" in second and "第 2 页" in second and "previous" not in second
    calm_zh = client.get(f"/reports/{hostile.calm_id}").text
    # English last: ?lang=en leaves a cookie that keeps the client in English.
    english = client.get("/search", params={"per_page": 1, "page": 2, "lang": "en"}).text
    assert "← previous" in english and "page 2" in english
    calm_en = client.get(f"/reports/{hostile.calm_id}").text
    assert "示范省平静县, 政府</dd>" in calm_zh and "示范省平静县, government</dd>" in calm_en
