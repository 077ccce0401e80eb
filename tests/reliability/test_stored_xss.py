"""Row 20: stored XSS, crawled from a hostile bureau site and opened in real Chromium.

A bureau site is untrusted input: a compromised CMS, or one editor pasting markup into a field,
puts script into whatever the crawler stores and the researchers' web app shows. Here the real
``nianbao crawl`` (a child process) crawls a :class:`HostileSite` whose report page carries a
payload in every stored field (title, 索引号/发布机构/文号, body text, a table cell, attachment
link text and file name, a ``javascript:`` link, ``<svg onload>``/``<img onerror>`` markup,
``</script>`` inside text, and live ``<script>`` in the raw page itself). The page is crawled
twice with a changed body, so a version diff exists. Then the real ``nianbao serve`` serves that
archive and headless Chromium opens every page a researcher would.

Every payload would set ``window.__xss``, change ``document.title`` or open a dialog. The pages
are opened with Playwright's ``bypass_csp`` so the test proves the *escaping*: the app's
script-less Content-Security-Policy is a second wall, checked separately on each response. The
archived page "as captured" is never rendered on the app's origin: it is a download
(``Content-Disposition: attachment``, ``application/octet-stream``, ``nosniff``). SQLite and
PostgreSQL, like the existing browser test.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.reliability.conftest import HostileSite, crawl, send
from tests.web.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need, nianbao_serve

TITLE = "示范局2023年政府信息公开工作年度报告"
# Payloads as they appear *escaped* in the bureau's HTML, so extraction stores them as text with
# real markup characters (what a careless template would turn back into markup).
TITLE_PAYLOAD = "<img src=x onerror=alert(1)>"
INDEX_PAYLOAD = 'XSS-<img src=x onerror="window.__xss=2">'
PUBLISHER_PAYLOAD = '示范局<svg onload="window.__xss=3">'
DOC_NO_PAYLOAD = "示政〔2024〕1号</script><script>window.__xss=4</script>"
BODY_SCRIPT = "<script>window.__xss=5</script>"
BODY_SVG = '<svg onload="window.__xss=6">'
BODY_IMG = '<img src=x onerror="window.__xss=7">'
BODY_TITLE_CHANGE = "</script><script>document.title='pwned'</script>"
CELL_PAYLOAD = "10<script>window.__xss=10</script>"
ATTACHMENT_TEXT = "年报附件<script>window.__xss=12</script>.pdf"
ATTACHMENT_PATH = "/files/report<img src=x onerror=window.__xss=11>.pdf"
JS_LINK_TEXT = "点击查看<script>window.__xss=14</script>"
STORED_PAYLOADS = (INDEX_PAYLOAD, PUBLISHER_PAYLOAD, DOC_NO_PAYLOAD, BODY_SCRIPT, BODY_SVG, BODY_IMG,
                   BODY_TITLE_CHANGE, CELL_PAYLOAD)


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def hostile_report(received: int) -> str:
    """The report page: escaped payloads in every field, plus live markup the raw capture keeps
    (a ``<script>`` in the head, an ``<svg onload>`` and ``<img onerror>`` in the body)."""
    return (
        f"<html><head><meta charset='utf-8'><title>{TITLE}{_escaped(TITLE_PAYLOAD)}</title>"
        "<script>window.__xss=100; alert('raw page')</script></head><body>"
        f"<h1>{TITLE}{_escaped(TITLE_PAYLOAD)}</h1>"
        "<table class='meta'>"
        f"<tr><td>索引号：</td><td>{_escaped(INDEX_PAYLOAD)}</td><td>发布机构：</td><td>{_escaped(PUBLISHER_PAYLOAD)}</td></tr>"
        f"<tr><td>文号：</td><td>{_escaped(DOC_NO_PAYLOAD)}</td><td>发布日期：</td><td>2024-01-20</td></tr></table>"
        "<div class='content'><p>一、总体情况</p>"
        f"<p>2023年，本机关认真贯彻落实《中华人民共和国政府信息公开条例》，办理行政复议2件。{_escaped(BODY_SCRIPT)}</p>"
        f"<p>正文{_escaped(BODY_SVG)}与{_escaped(BODY_IMG)}及{_escaped(BODY_TITLE_CHANGE)}</p>"
        "<svg onload=\"window.__xss=8\"></svg><img src='x' onerror=\"window.__xss=9\">"
        f"<p>三、收到和处理政府信息公开申请情况</p><p>本年新收政府信息公开申请{received}件。</p>"
        f"<table border='1'><tr><td>本年新收政府信息公开申请数量</td><td>{_escaped(CELL_PAYLOAD)}</td></tr></table>"
        f"<p>附件：<a href=\"{_escaped(ATTACHMENT_PATH)}\">{_escaped(ATTACHMENT_TEXT)}</a></p>"
        f"<p><a href=\"javascript:window.__xss=13\">{_escaped(JS_LINK_TEXT)}</a></p>"
        "<p><a href=\"javascript:window.__xss=15//x.pdf\">附件2.pdf</a></p>"
        "</div></body></html>"
    )


def serve_route(body: str | bytes, content_type: str = "text/html; charset=utf-8") -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda handler: send(handler, 200, body, content_type=content_type)


def hostile_bureau(site: HostileSite, received: int) -> None:
    """The column links the report (its link text a payload too) and a missing report whose
    failure the crawl-health page lists; the attachment answers with junk bytes."""
    links = (
        f'<li><a href="/nb/t1.htm">{TITLE}{_escaped(BODY_SCRIPT)}</a></li>'
        '<li><a href="/nb/t2.htm?a=%3Cscript%3Ewindow.__xss=16%3C/script%3E">示范局2022年政府信息公开工作年度报告</a></li>'
    )
    site.routes["/nb/"] = serve_route(f"<html><head><title>信息公开年报</title></head><body><ul>{links}</ul></body></html>")
    site.routes["/nb/t1.htm"] = serve_route(hostile_report(received))
    site.routes["/nb/t2.htm"] = lambda handler: send(handler, 404, "<html><body><script>window.__xss=17</script></body></html>")
    site.routes[quote(ATTACHMENT_PATH, safe="/")] = serve_route(b"not really a pdf <script>window.__xss=18</script>",
                                                                "application/pdf")


def crawled_archive(tmp_path: Path, database_url: str, site: HostileSite) -> None:
    """Two crawls of the hostile bureau, the second seeing a changed body (a second version)."""
    # The policy clock is set so the second night's crawl re-checks the report (a page archived
    # the night before would otherwise be served from the archive as "fresh").
    today = datetime.now(UTC).date()
    for received, night in ((10, today), (12, today + timedelta(days=30))):
        hostile_bureau(site, received)
        result = crawl(tmp_path, database_url, [site.url("/nb/")], f"NIANBAO_NOW={night.isoformat()}")
        assert result.returncode in (0, 1), result.stderr  # 1: the missing report is a failure
        assert "Traceback" not in result.stderr


# Any element carrying an event handler, a script element, a javascript: link, an SVG/IMG that
# came from archived text: what escaping must never let through (checked with CSP bypassed).
_LIVE_MARKUP = """() => ({
    scripts: document.querySelectorAll('script').length,
    handlers: [...document.querySelectorAll('*')].filter(
        e => [...e.attributes].some(a => a.name.toLowerCase().startsWith('on'))).length,
    jsLinks: [...document.querySelectorAll('[href],[src],[action]')].filter(
        e => /^\\s*javascript:/i.test(e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))).length,
    svgOrImg: document.querySelectorAll('main svg, main img, main iframe, main object, main embed').length,
    xss: typeof window.__xss,
})"""


def assert_inert(page: Any, where: str, expected_title_start: str | None = None) -> None:
    found = page.evaluate(_LIVE_MARKUP)
    assert found == {"scripts": 0, "handlers": 0, "jsLinks": 0, "svgOrImg": 0, "xss": "undefined"}, (where, found)
    assert "pwned" not in page.title(), where
    if expected_title_start is not None:
        assert page.title().startswith(expected_title_start), (where, page.title())


def test_stored_payloads_never_run_in_chromium(tmp_path: Path, database_url: str, site: HostileSite) -> None:
    """Crawl → archive → web app → Chromium: every researcher-facing page shows the payloads as
    text and runs none of them; the captured page is only ever a download."""
    _need(CHROMIUM.is_file(), f"chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright (python) is not installed")
    crawled_archive(tmp_path, database_url, site)
    ARTIFACTS.mkdir(exist_ok=True)
    dialogs: list[str] = []
    with nianbao_serve(database_url, tmp_path / "nianbao-data", tmp_path) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            # bypass_csp: the escaping alone must hold; the CSP is asserted on the headers.
            context = browser.new_context(bypass_csp=True, accept_downloads=True)
            page = context.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

            def visit(path: str) -> Any:
                response = page.goto(base + path)
                assert response is not None and response.status == 200, (path, response and response.status)
                csp = response.headers.get("content-security-policy", "")
                assert "default-src 'none'" in csp and "script-src" not in csp, (path, csp)
                return response

            report_id = open_report_from_search(page, visit, base)
            check_report_page(page, visit, report_id)
            check_captured_page_is_download(page, context, base, report_id)
            for path in (f"/reports/{report_id}?version=1", f"/reports/{report_id}/diff", "/",
                         "/search?q=" + quote(BODY_SCRIPT), "/search?q=" + quote(DOC_NO_PAYLOAD),
                         "/search?q=" + quote(TITLE_PAYLOAD) + "&site=hostile-gov&region=" + quote(BODY_SVG),
                         "/search?q=复议&site=hostile-gov&publisher=" + quote("<svg"),
                         "/stats?row=" + quote(BODY_SCRIPT), "/coverage", "/health"):
                visit(path)
                assert_inert(page, path)
            page.goto(f"{base}/reports/{report_id}/diff")
            assert "12件" in page.locator("table.diff").inner_text()
            page.screenshot(path=str(ARTIFACTS / "xss-diff.png"), full_page=True)
            page.goto(f"{base}/health")
            assert "t2.htm" in page.locator("main").inner_text()  # the failure is listed, as text
            assert dialogs == []
        finally:
            browser.close()


def open_report_from_search(page: Any, visit: Callable[[str], Any], base: str) -> int:
    """Search for a payload word, as a researcher would, and follow the hit to the report."""
    visit("/search?q=" + quote("复议 " + BODY_SCRIPT))
    assert_inert(page, "search", expected_title_start="复议 " + BODY_SCRIPT)  # the query, as text
    hits = page.locator("li.hit")
    assert hits.count() == 1
    assert TITLE in hits.first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "xss-search.png"), full_page=True)
    hits.first.locator("a.title").click()
    page.wait_for_load_state()
    report_id = int(page.url.rsplit("/", 1)[1].split("?")[0])
    assert page.url == f"{base}/reports/{report_id}"
    return report_id


def check_report_page(page: Any, visit: Callable[[str], Any], report_id: int) -> None:
    """The report page shows every payload as visible text, and nothing of it as markup."""
    visit(f"/reports/{report_id}")
    assert_inert(page, "report", expected_title_start=TITLE)
    title = page.locator("h1.report-title").inner_text()
    assert title.startswith(TITLE) and "<img" in title  # the title payload, as text
    shown = page.locator("main").inner_text()
    for payload in STORED_PAYLOADS:
        assert payload in shown, payload
    attachments = page.locator("ul.attachments").inner_text()
    assert "<script>window.__xss=12</script>" in attachments and "onerror" in attachments
    assert page.locator("a[href^='javascript:']").count() == 0
    page.screenshot(path=str(ARTIFACTS / "xss-report.png"), full_page=True)


def check_captured_page_is_download(page: Any, context: Any, base: str, report_id: int) -> None:
    """The page as captured (with its live ``<script>``) is a download, never rendered here."""
    raw = context.request.get(f"{base}/reports/{report_id}/raw")
    assert raw.status == 200
    assert b"window.__xss=100" in raw.body()  # the evidence is kept byte for byte
    assert raw.headers["content-type"] == "application/octet-stream"
    assert raw.headers["content-disposition"].startswith("attachment")
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert "script-src" not in raw.headers["content-security-policy"]
    with page.expect_download() as download_info:
        page.locator(f"a[href='/reports/{report_id}/raw']").click()
    assert download_info.value.suggested_filename.endswith(".bin")
    assert page.url == f"{base}/reports/{report_id}"  # still on the report page: nothing rendered
    assert_inert(page, "after download")
