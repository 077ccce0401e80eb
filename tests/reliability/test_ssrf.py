"""A configured bureau site turned hostile: its pages link local files and the crawling machine's
own services in every spelling an attacker would try, and the crawl must fetch none of them.

The site runs on 127.0.0.1:PORT_A (its configured origin); the *victim* -- standing for a Redis,
an admin console or a cloud metadata endpoint on the crawler's machine -- listens on PORT_B at
127.0.0.1, 127.0.0.2 and ::1 and records every request. Crawled through the real CLI, on SQLite
and PostgreSQL, and then served by the web app.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crawler.demo.pdf import make_pdf
from storage.db import open_archive
from storage.models import Attachment, AttachmentLink, CrawlError, Document
from tests.crawler.harness import FAST_CRAWL, run_nianbao
from tests.reliability.servers import RecordingServer, Route, RouteServer
from web.app import create_app
from web.settings import WebSettings

BUREAU = "示范市档案局"
LOOPBACK = r"a loopback address \(not a configured origin of this site\)"
FILE = "refused: file: URLs are never fetched"


def _page(title: str, body: str, head: str = "") -> bytes:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8">{head}<title>{title}</title></head>'
        f'<body><h1 class="title">{title}</h1><div class="TRS_Editor">{body}</div></body></html>'
    ).encode()


def _title(year: int) -> str:
    return f"{BUREAU}{year}年政府信息公开工作年度报告"


PROSE = "本报告根据《中华人民共和国政府信息公开条例》编制，所列数据的统计期限自1月1日起至12月31日止。" * 3


def hostile_site(site: RouteServer, victim_port: int) -> tuple[dict[str, str], dict[str, str]]:
    """Install the hostile pages; return the expected refusals {url: reason regex} of report
    links and of attachment links."""
    b = victim_port
    a = site.port
    # Report links to file: (2021) are not links to the list reader, and report links to other
    # hosts (2020) are dropped by the offsite filter: neither becomes a request at all.
    # A report page's redirect off the site's origin may also be stopped before the guard, by the
    # redirect middleware ("redirected off the site to … (not followed)", recorded on the page).
    def redirect(path: str) -> str:
        target = f"http://127.0.0.1:{b}/{path}"
        return (rf"refused: 127\.0\.0\.1 is {LOOPBACK}"
                rf"|redirected off the site to {re.escape(target)} \(not followed\)")

    reports = {
        # the site's own page redirects (HTTP 302) to the victim
        f"{site.base_url}/nb/2019.html": redirect("2019.html"),
        # the site's own page redirects (meta refresh) to the victim
        f"{site.base_url}/nb/2018.html": redirect("2018.html"),
        # the same host as the site, another port: not the site's origin
        f"http://127.0.0.1:{b}/2017.html": rf"refused: 127\.0\.0\.1 is {LOOPBACK}",
    }
    attachments = {
        "file:///etc/hostname?filename=1.pdf": re.escape(FILE),
        "file:///dev/zero?filename=z.pdf": re.escape(FILE),
        f"http://127.0.0.2:{b}/a.pdf": rf"refused: 127\.0\.0\.2 is {LOOPBACK}",
        f"http://2130706433:{b}/b.pdf": rf"refused: 2130706433 is 127\.0\.0\.1, {LOOPBACK}",
        f"http://[::ffff:127.0.0.1]:{b}/c.pdf":
            rf"refused: ::ffff:127\.0\.0\.1 is an IPv4-mapped address of 127\.0\.0\.1, {LOOPBACK}",
        f"http://127.1:{b}/d.pdf": rf"refused: 127\.1 is 127\.0\.0\.1, {LOOPBACK}",
        f"http://0.0.0.0:{b}/e.pdf":
            r"refused: 0\.0\.0\.0 is an unspecified address \(not a configured origin of this site\)",
        f"http://localhost:{b}/f.pdf": rf"refused: localhost resolves to (127\.0\.0\.1|::1), {LOOPBACK}",
        f"http://[::1]:{b}/g.pdf": rf"refused: ::1 is {LOOPBACK}",
        f"http://0x7f.1:{b}/h.pdf": rf"refused: 0x7f\.1 is 127\.0\.0\.1, {LOOPBACK}",
        f"http://0177.0.0.1:{b}/i.pdf": rf"refused: 0177\.0\.0\.1 is 127\.0\.0\.1, {LOOPBACK}",
        # the site's own attachment URL redirects to the victim
        f"http://127.0.0.1:{b}/j.pdf": rf"refused: 127\.0\.0\.1 is {LOOPBACK}",
        # the site's own host under another name
        f"http://localhost:{a}/nb/ok.pdf": rf"refused: localhost resolves to (127\.0\.0\.1|::1), {LOOPBACK}",
    }
    hostile_links = [url for url in attachments if url != f"http://127.0.0.1:{b}/j.pdf"]
    links = "".join(f'<p><a href="{url}">附件{i}.pdf</a></p>' for i, url in enumerate(hostile_links))
    links += '<p><a href="moved.pdf">附件-moved.pdf</a></p><p><a href="to-file.pdf">附件-file.pdf</a></p>'
    links += '<p><a href="ok.pdf">附件-ok.pdf</a></p>'
    routes = site.routes
    routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", "text/plain")
    listed = [("2022.html", _title(2022)), ("file:///etc/hostname?x=1.pdf", _title(2021)),
              (f"http://127.0.0.2:{b}/2020.html", _title(2020)), ("2019.html", _title(2019)),
              ("2018.html", _title(2018)), (f"http://127.0.0.1:{b}/2017.html", _title(2017))]
    routes["/nb/index.html"] = Route(_page("信息公开年报", "".join(
        f'<li><a href="{href}">{title}</a></li>' for href, title in listed)))
    routes["/nb/2022.html"] = Route(_page(_title(2022), f"<p>{PROSE}</p>{links}"))
    routes["/nb/2019.html"] = Route(status=302, location=f"http://127.0.0.1:{b}/2019.html")
    routes["/nb/2018.html"] = Route(_page(_title(2018), "<p>已迁移</p>", head=(
        f'<meta http-equiv="refresh" content="0;url=http://127.0.0.1:{b}/2018.html">')))
    routes["/nb/moved.pdf"] = Route(status=302, location=f"http://127.0.0.1:{b}/j.pdf")
    routes["/nb/to-file.pdf"] = Route(status=302, location="file:///etc/hostname")
    routes["/nb/ok.pdf"] = Route(make_pdf(_title(2022), ["附件正文：主动公开信息128条"]), "application/pdf")
    return reports, attachments


@pytest.fixture
def servers():
    with RecordingServer() as victim, RouteServer() as site:
        yield site, victim


def test_hostile_links_are_refused_recorded_and_never_fetched(servers, tmp_path: Path, database_url: str,
                                                               monkeypatch: pytest.MonkeyPatch):
    """The attack: a report page links file:///etc/hostname, file:///dev/zero and the crawler's
    own loopback services (127.0.0.2, 2130706433, [::ffff:127.0.0.1], 127.1, 0.0.0.0, 0x7f.1,
    0177.0.0.1, localhost, [::1], another port of the site's own host, HTTP and meta-refresh
    redirects into them), hoping the crawl reads local files or internal services into the
    archive, where `nianbao serve` would hand them out at /attachments/ID."""
    site, victim = servers
    reports, attachments = hostile_site(site, victim.port)
    sites = tmp_path / "sites.toml"
    sites.write_text(
        f'[[sites]]\nkey = "evil-dag"\nname = "{BUREAU}"\nregion = "示范市"\nlevel = "department"\n'
        f'family = "generic"\nlist_urls = ["{site.base_url}/nb/index.html"]\n',
        encoding="utf-8",
    )
    result = run_nianbao("--db", database_url, "--sites", str(sites), "crawl", "-q", *FAST_CRAWL,
                         "-s", "DOWNLOAD_MAXSIZE=2000000", cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr + result.stdout

    # Nothing reached the victim, on any of its addresses.
    assert victim.seen == [], victim.seen
    # The site itself was crawled (its own origin is allowed).
    assert any(s.path == "/nb/2022.html" for s in site.seen)

    with open_archive(database_url)() as session:
        errors = {(e.url, e.page_kind): e.reason for e in session.scalars(select(CrawlError))}
        for url, pattern in reports.items():
            target = site.routes[urlsplit(url).path].location if url.startswith(site.base_url) else None
            reason = errors.get((url, "report")) or errors.get((target, "report")) or ""
            if not reason and target is None:  # the meta refresh: its target is in the page
                reason = next((r for (u, kind), r in errors.items() if u.endswith("/2018.html")), "")
            assert re.fullmatch(pattern, reason), (url, errors)
        for url, pattern in attachments.items():
            assert re.fullmatch(pattern, errors.get((url, "attachment"), "")), (url, errors)
        # Nothing else failed: every failure is one of the refusals above.
        assert len(errors) == len(reports) + len(attachments), errors

        document = session.scalars(select(Document).where(Document.url == f"{site.base_url}/nb/2022.html")).one()
        links = {link.url: link for link in session.scalars(
            select(AttachmentLink).where(AttachmentLink.version_id == document.latest_version_id))}
        for url, pattern in attachments.items():
            link = links[url]  # a redirected link is recorded at the URL it was refused at
            assert link.attachment_id is None and re.fullmatch(pattern, link.error or ""), (url, link.error)
        # A redirect to file: is not followed: the 302 itself is the answer.
        assert links[f"{site.base_url}/nb/to-file.pdf"].attachment_id is None
        # The one legitimate attachment is the only file stored.
        stored = session.scalars(select(Attachment)).all()
        assert [a.id for a in stored] == [links[f"{site.base_url}/nb/ok.pdf"].attachment_id]
        assert "主动公开信息128条" in (stored[0].text or "")

    # The web app serves nothing but that file.
    monkeypatch.setenv("NIANBAO_DATA_DIR", str(tmp_path / "nianbao-data"))
    hostname = Path("/etc/hostname").read_bytes() if Path("/etc/hostname").exists() else None
    with TestClient(create_app(WebSettings(database_url=database_url))) as web:
        answer = web.get(f"/attachments/{stored[0].id}")
        assert answer.status_code == 200 and answer.content.startswith(b"%PDF")
        if hostname:
            assert hostname not in answer.content
        assert web.get(f"/attachments/{stored[0].id + 1}").status_code == 404
    data = tmp_path / "nianbao-data" / "attachments"
    files = [p for p in data.rglob("*") if p.is_file()]
    assert len(files) == 1
    if hostname:
        assert all(p.read_bytes() != hostname for p in files)
