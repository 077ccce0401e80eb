"""Credentials given for a site stay on the site's own origins.

A run may be given credentials for the sites it crawls (``-s DEFAULT_REQUEST_HEADERS`` with an
``Authorization`` token, a session ``Cookie``, an API key header). A hostile report page links an
attachment on another host, or the site's own attachment URL redirects there: the other host
must not receive them. Scrapy's RedirectMiddleware drops ``Authorization``/``Cookie`` on a
cross-origin redirect, but DefaultHeadersMiddleware puts them straight back on the redirected
request; the guard removes them after it.

The other host is ``cdn.nianbao.test`` on 127.0.0.3, which the stub resolver makes the guard
treat as public (tests/reliability/stub_resolver.py): a crawl may only reach another origin
when it is public. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.demo.pdf import make_pdf
from tests.crawler.harness import FAST_CRAWL, run_nianbao
from tests.reliability.servers import Route, RouteServer
from tests.reliability.test_resolver import STUB, _bureau, _site, stub_env

HEADERS = {
    "Authorization": "Bearer site-secret",
    "Cookie": "session=site-cookie",
    "X-Api-Key": "site-api-key",
    "Accept-Language": "zh-CN",
}
SECRETS = ("authorization", "cookie", "x-api-key", "proxy-authorization")


@pytest.fixture
def cdn():
    try:
        server = RouteServer("127.0.0.3").start()
    except OSError:
        pytest.skip("127.0.0.3 cannot be bound on this machine")
    try:
        yield server
    finally:
        server.stop()


def test_site_credentials_never_reach_another_origin(cdn: RouteServer, tmp_path: Path, database_url: str):
    """Attack: credential theft by redirect or link. The run carries the site's token, cookie
    and API key; the site's page links http://cdn.nianbao.test:PORT/… and its moved.pdf answers
    302 to the same host, hoping the crawler replays the headers there."""
    pdf = make_pdf("示范市档案局2022年政府信息公开工作年度报告", ["附件正文"])
    cdn.routes["/files/linked.pdf"] = Route(pdf, "application/pdf")
    cdn.routes["/files/moved.pdf"] = Route(pdf + b"\n%moved\n", "application/pdf")
    cdn_url = f"http://cdn.nianbao.test:{cdn.port}"
    with RouteServer() as site:
        _bureau(site, "示范市档案局", (
            f'<p><a href="{cdn_url}/files/linked.pdf">附件1.pdf</a></p>'
            '<p><a href="moved.pdf">附件2.pdf</a></p><p><a href="self.pdf">附件3.pdf</a></p>'
        ))
        site.routes["/nb/moved.pdf"] = Route(status=302, location=f"{cdn_url}/files/moved.pdf")
        # a redirect within the site's own origin keeps the credentials
        site.routes["/nb/self.pdf"] = Route(status=302, location="/nb/own.pdf")
        site.routes["/nb/own.pdf"] = Route(pdf + b"\n%own\n", "application/pdf")
        sites = tmp_path / "sites.toml"
        sites.write_text(_site("cred-dag", "示范市档案局", f"{site.base_url}/nb/index.html"), encoding="utf-8")
        result = run_nianbao(
            "--db", database_url, "--sites", str(sites), "crawl", "-q", *FAST_CRAWL,
            "-s", f"TWISTED_DNS_RESOLVER={STUB}",
            "-s", f"DEFAULT_REQUEST_HEADERS={json.dumps(HEADERS)}",
            cwd=tmp_path, env=stub_env(), timeout=180,
        )
        assert result.returncode == 0, result.stderr + result.stdout

        # The site's own origin got the credentials on every request, the redirect hop included.
        own = {s.path: {k.lower(): v for k, v in s.headers.items()} for s in site.seen}
        assert {"/nb/index.html", "/nb/2022.html", "/nb/moved.pdf", "/nb/self.pdf", "/nb/own.pdf"} <= set(own)
        for path, headers in own.items():
            assert headers.get("authorization") == "Bearer site-secret", path
            assert headers.get("x-api-key") == "site-api-key", path

    # The other origin was reached (it is "public") -- without any of them.
    seen = {s.path: {k.lower(): v for k, v in s.headers.items()} for s in cdn.seen}
    assert {"/files/linked.pdf", "/files/moved.pdf"} <= set(seen), seen
    for path, headers in seen.items():
        leaked = [name for name in SECRETS if name in headers]
        assert not leaked, (path, leaked, headers)
        assert headers.get("accept-language") == "zh-CN"  # content negotiation may go anywhere
