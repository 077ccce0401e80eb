"""Reliability row 11: redirect loops, ping-pong, long chains (7 and 30 hops), off-site
redirects and meta refreshes. Each used to make a report page vanish silently (Scrapy dropped the
redirected request); each now leaves a ``crawl_errors`` row at the listed URL saying where it led,
and a redirect to the report's new address on the site is still followed and archived. One real
crawl against a real loopback server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import open_archive
from storage.models import CrawlError, Document, Version
from tests.crawler.test_run_outcomes import _env

# --- redirects that go nowhere ----------------------------------------------------------------


def _report_page(title: str, year: int) -> bytes:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>
<div class="info"><span>发布机构：示范跳转局</span><span>发布日期：{year + 1}-01-20</span>
<span>索引号：TZ/{year}-00001</span></div>
<div class="article-content"><p>一、总体情况。{year}年，本局认真贯彻落实《中华人民共和国政府信息公开条例》。</p>
<p>二、主动公开政府信息情况。本年主动公开政府信息一百二十条。</p></div></body></html>""".encode()


class _RedirectSite:
    """A column whose report links redirect in every way that used to lose the page."""

    TITLE = "示范跳转局{year}年政府信息公开工作年度报告"

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        links = {
            2016: "offsite.html",  # 302 to another host
            2017: "loop.html",  # 302 to itself
            2018: "ping.html",  # 302 to pong.html, which 302s back
            2019: "chain0.html",  # seven distinct hops: more than REDIRECT_MAX_TIMES (5)
            2015: "long0.html",  # thirty hops (a CMS that appends a parameter on every visit)
            2020: "refresh.html",  # <meta refresh> to another host
            2021: "moved.html",  # 301 to the report's new address: followed and archived
            2022: "plain.html",  # an ordinary report
        }
        items = "".join(
            f'<li><a href="{path}">{self.TITLE.format(year=year)}</a></li>' for year, path in links.items()
        )
        self.add("/xxgk/ndbg/list.html", 200, {},
                 f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>年报</title></head>'
                 f"<body><h1>政府信息公开年报</h1><ul>{items}</ul></body></html>".encode())
        base = "/xxgk/ndbg/"
        self.add(base + "offsite.html", 302, {"Location": "http://other.example/xxgk/2016.html"})
        self.add(base + "loop.html", 302, {"Location": base + "loop.html"})
        self.add(base + "ping.html", 302, {"Location": base + "pong.html"})
        self.add(base + "pong.html", 302, {"Location": base + "ping.html"})
        for hop in range(7):
            self.add(base + f"chain{hop}.html", 302, {"Location": base + f"chain{hop + 1}.html"})
        self.add(base + "chain7.html", 200, {}, _report_page(self.TITLE.format(year=2019), 2019))
        for hop in range(30):
            self.add(base + f"long{hop}.html", 302, {"Location": base + f"long{hop + 1}.html"})
        self.add(base + "long30.html", 200, {}, _report_page(self.TITLE.format(year=2015), 2015))
        self.add(base + "refresh.html", 200, {},
                 b'<!DOCTYPE html><html><head><meta charset="utf-8">'
                 b'<meta http-equiv="refresh" content="0; url=http://other.example/xxgk/2020.html">'
                 b"</head><body>\xe9\xa1\xb5\xe9\x9d\xa2\xe5\xb7\xb2\xe8\xbf\x81\xe7\xa7\xbb</body></html>")
        self.add(base + "moved.html", 301, {"Location": base + "new/2021.html"})
        self.add(base + "new/2021.html", 200, {}, _report_page(self.TITLE.format(year=2021), 2021))
        self.add(base + "plain.html", 200, {}, _report_page(self.TITLE.format(year=2022), 2022))

    def add(self, path: str, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.routes[path] = (status, {"Content-Type": "text/html; charset=utf-8", **headers}, body)


@pytest.fixture
def redirect_server() -> Iterator[str]:
    site = _RedirectSite()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            status, headers, body = site.routes.get(self.path.split("?")[0], (404, {}, b"not found"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_report_pages_lost_to_off_site_redirects_and_loops_are_recorded_with_the_reason(
    redirect_server: str, tmp_path: Path, database_url: str
) -> None:
    """A bureau's report link that redirects to another host (a portal that moved, a hijacked
    domain), into a loop (a misconfigured CMS) or through more hops than the crawler follows
    used to leave no trace: Scrapy dropped the redirected request silently. Each now leaves a
    `crawl_errors` row saying where it led; a redirect to the report's new address on the
    site is followed and archived as before."""
    base = redirect_server + "/xxgk/ndbg/"
    sites = tmp_path / "sites.toml"
    sites.write_text(
        '[[sites]]\nkey = "redirects"\nname = "示范跳转局"\nregion = "示范市"\nlevel = "department"\n'
        f'family = "generic"\nlist_urls = ["{base}list.html"]\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "--db", database_url, "--sites", str(sites), "crawl", "-q",
         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_TIMES=0"],
        cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            errors = {e.reason: e for e in session.scalars(select(CrawlError))}
            documents = sorted(session.scalars(select(Document.url)))
            assert len(session.scalars(select(Version)).all()) == len(documents)
    finally:
        sessions.kw["bind"].dispose()
    reasons = sorted(errors)
    assert reasons == sorted([
        "redirected off the site to http://other.example/xxgk/2016.html (not followed)",
        f"redirect loop: {base}loop.html → {base}loop.html (not followed)",
        f"redirect loop: {base}ping.html → {base}pong.html → {base}ping.html (not followed)",
        f"too many redirects (more than 5): {base}chain0.html → … → {base}chain6.html (not followed)",
        f"too many redirects (more than 5): {base}long0.html → … → {base}long6.html (not followed)",
        "redirected off the site to http://other.example/xxgk/2020.html (not followed)",
    ]), reasons
    assert {e.page_kind for e in errors.values()} == {"report"}
    assert errors["redirected off the site to http://other.example/xxgk/2016.html (not followed)"].url == base + "offsite.html"
    assert errors["redirected off the site to http://other.example/xxgk/2020.html (not followed)"].url == base + "refresh.html"
    # A failure is recorded at the URL the listing gave, not at the chain's last hop.
    assert errors[f"redirect loop: {base}ping.html → {base}pong.html → {base}ping.html (not followed)"].url == (
        base + "ping.html")
    assert errors[f"too many redirects (more than 5): {base}chain0.html → … → {base}chain6.html (not followed)"].url == (
        base + "chain0.html")
    assert errors[f"too many redirects (more than 5): {base}long0.html → … → {base}long6.html (not followed)"].url == (
        base + "long0.html")
    assert documents == [base + "new/2021.html", base + "plain.html"]
    assert "Failures:" in result.stdout and "redirected off the site" in result.stdout
