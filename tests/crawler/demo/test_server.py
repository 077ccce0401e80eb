"""The demo server over real loopback HTTP."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from crawler.demo.server import DemoServer
from crawler.demo.site import DemoSite, build_demo_site

SLOW = 0.5
REPORT = "/tjj/zfxxgk/zfxxgknb/202401/t20240115_1001.htm"
SLOW_PAGE = "/art/2018/3/15/art_1001_5007.html"


@pytest.fixture(scope="module")
def site() -> DemoSite:
    return build_demo_site(slow_seconds=SLOW)


@pytest.fixture
def server(site: DemoSite) -> Iterator[DemoServer]:
    with DemoServer(site) as running:
        yield running


def fetch(url: str, method: str = "GET", data: bytes | None = None,
          headers: dict[str, str] | None = None, timeout: float = 5):
    request = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_serves_a_page_with_its_content_type(server, site):
    status, headers, body = fetch(server.url(REPORT))
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert body == site.pages[REPORT].body
    assert int(headers["Content-Length"]) == len(body)
    assert server.base_url.startswith("http://127.0.0.1:") and server.port > 0


def test_gbk_page_is_sent_as_gbk(server):
    status, headers, body = fetch(server.url("/xian/xxgk/ndbg/list.html"))
    assert status == 200 and headers["Content-Type"] == "text/html; charset=gbk"
    assert "示范县人民政府" in body.decode("gbk")


def test_unknown_path_is_404_with_html(server):
    status, headers, body = fetch(server.url("/tjj/zfxxgk/zfxxgknb/201401/t20140110_1011.htm"))
    assert status == 404
    assert headers["Content-Type"].startswith("text/html")
    assert "404" in body.decode("utf-8")
    assert server.request_counts["/tjj/zfxxgk/zfxxgknb/201401/t20140110_1011.htm"] == 1


def test_head_sends_headers_only(server, site):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("HEAD", REPORT)
        response = conn.getresponse()
        assert response.status == 200
        assert int(response.getheader("Content-Length")) == len(site.pages[REPORT].body)
        assert response.read() == b""
    finally:
        conn.close()


def test_robots_txt(server):
    status, headers, body = fetch(server.url("/robots.txt"))
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert "Disallow: /private/" in body.decode()


def test_robots_txt_is_served_for_a_site_without_one():
    bare = DemoSite(pages={}, expected_reports=[], expected_failures=[], list_paths={})
    with DemoServer(bare) as server:
        status, _, body = fetch(server.url("/robots.txt"))
        assert status == 200 and b"Disallow: /private/" in body
        assert fetch(server.url("/"))[0] == 404


def test_dataproxy_pages_are_chosen_by_the_page_parameter(server):
    url = server.url(
        "/module/web/jpage/dataproxy.jsp?page=2&webid=1&path=/&columnid=1001&unitid=2001"
        "&webname=%E7%A4%BA%E8%8C%83%E5%B8%82%E6%95%99%E8%82%B2%E5%B1%80&permissiontype=0"
    )
    status, headers, body = fetch(url)
    assert status == 200 and headers["Content-Type"].startswith("text/xml")
    xml = body.decode("utf-8")
    assert "art_1001_5009.html" in xml and "art_1001_5001.html" not in xml
    assert xml.count("<record>") == 5
    _, _, third = fetch(server.url("/module/web/jpage/dataproxy.jsp?permissiontype=0&page=3"))
    assert third.decode("utf-8").count("<record>") == 3
    _, _, posted = fetch(server.url("/module/web/jpage/dataproxy.jsp"), method="POST",
                         data=b"page=3&columnid=1001")
    assert posted == third
    assert fetch(server.url("/module/web/jpage/dataproxy.jsp?page=9"))[0] == 404
    assert server.request_counts["/module/web/jpage/dataproxy.jsp?page=3"] == 2


def test_query_is_ignored_for_pages_defined_without_one(server, site):
    status, _, body = fetch(server.url(REPORT + "?from=list"))
    assert status == 200 and body == site.pages[REPORT].body


def test_replace_page_changes_what_is_served(server, site):
    before = fetch(server.url(REPORT))
    edited = site.pages[REPORT].body.replace("总体情况".encode(), "总体情况（修订）".encode())
    server.replace_page(REPORT, edited)
    status, headers, body = fetch(server.url(REPORT))
    assert status == 200 and body == edited
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["ETag"] != before[1]["ETag"]
    assert server.request_counts[REPORT] == 2
    assert site.pages[REPORT].body != edited  # the site object itself is untouched
    server.remove_page(REPORT)
    assert fetch(server.url(REPORT))[0] == 404


def test_etag_answers_304_when_unchanged(server):
    _, headers, _ = fetch(server.url(REPORT))
    status, _, body = fetch(server.url(REPORT), headers={"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""


def test_slow_page_is_slow_while_other_requests_answer_at_once(server):
    results: dict[str, float] = {}

    def slow() -> None:
        started = time.monotonic()
        status, _, _ = fetch(server.url(SLOW_PAGE))
        assert status == 200
        results["slow"] = time.monotonic() - started

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.05)
    started = time.monotonic()
    assert fetch(server.url(REPORT))[0] == 200
    results["fast"] = time.monotonic() - started
    thread.join(timeout=5)
    assert results["slow"] >= 0.4
    assert results["fast"] < 0.3


def test_stop_returns_promptly_while_a_slow_request_is_in_flight(site):
    server = DemoServer(site).start()
    outcome: list[object] = []

    def slow() -> None:
        try:
            outcome.append(fetch(server.url(SLOW_PAGE), timeout=5)[0])
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)

    thread = threading.Thread(target=slow)
    thread.start()
    deadline = time.monotonic() + 2
    while not server.request_counts[SLOW_PAGE] and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 0.3
    thread.join(timeout=5)
    assert outcome and not isinstance(outcome[0], int)  # hung up without an answer
    with pytest.raises(RuntimeError):
        _ = server.base_url  # reading the property is what must raise


def test_counts_are_thread_safe(server):
    threads = [threading.Thread(target=fetch, args=(server.url("/robots.txt"),)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert server.request_counts["/robots.txt"] == 20
