"""The outgoing-request guard as a downloader middleware (crawler/middlewares.py): refusals
before anything is sent, credentials kept on the site's own origins, connect-time refusals
reported with their reason. Whole crawls against real servers are in tests/reliability/."""

import inspect

import pytest
from scrapy import Request
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.utils.test import get_crawler
from twisted.internet.error import DNSLookupError

from crawler import guard
from crawler.config import SiteConfig
from crawler.middlewares import OutgoingRequestGuard

SITE = SiteConfig(key="s", name="S", region="R", level="department", family="generic",
                  list_urls=("http://127.0.0.1:8765/nb/", "https://www.example.gov.cn/col/"))


class FakeSpider:
    site = SITE


@pytest.fixture
def registry():
    saved = set(guard._configured)
    yield
    guard._configured.clear()
    guard._configured.update(saved)


def make_guard(headers=None) -> OutgoingRequestGuard:
    settings = {"DEFAULT_REQUEST_HEADERS": headers} if headers is not None else {}
    crawler = get_crawler(settings_dict=settings)
    crawler.spider = FakeSpider()
    return OutgoingRequestGuard(crawler)


@pytest.mark.parametrize("url, reason", [
    ("file:///etc/hostname?filename=x.pdf", "refused: file: URLs are never fetched"),
    ("data:text/html,<h1>x</h1>", "refused: data: URLs are never fetched"),
    ("ftp://127.0.0.1/x.pdf", "refused: ftp: URLs are never fetched"),
    ("http://169.254.169.254/latest/meta-data/",
     "refused: 169.254.169.254 is a link-local address (not a configured origin of this site)"),
    ("http://127.0.0.1:6379/", "refused: 127.0.0.1 is a loopback address (not a configured origin of this site)"),
    ("https://127.0.0.1:8765/nb/", "refused: 127.0.0.1 is a loopback address (not a configured origin of this site)"),
])
def test_refused_requests_raise_with_their_reason(url, reason, registry):
    """Attack: a hostile page's links and redirects into local files and internal services."""
    with pytest.raises(guard.RefusedRequest) as refused:
        make_guard().process_request(Request(url))
    assert str(refused.value) == reason
    assert isinstance(refused.value, IgnoreRequest)  # the spider's errback records it


def test_the_sites_own_origins_and_public_hosts_pass(registry):
    middleware = make_guard()
    for url in ("http://127.0.0.1:8765/nb/2022.html", "http://0x7f.1:8765/nb/", "https://www.example.gov.cn/a.pdf",
                "http://8.8.8.8/a.pdf", "http://cdn.example.com/a.pdf"):
        assert middleware.process_request(Request(url)) is None, url
    assert ("127.0.0.1", 8765) in guard.configured_origin_keys()  # the resolver knows them now


def test_credentials_stay_on_the_sites_own_origins(registry):
    """Attack: a link or redirect to another host, to collect the run's credentials."""
    middleware = make_guard({"Authorization": "Bearer t", "X-Api-Key": "k", "Accept-Language": "zh-CN"})
    own = Request("https://www.example.gov.cn/col/a.pdf", headers={"Authorization": "Bearer t", "X-Api-Key": "k",
                                                                   "Cookie": "c=1"})
    middleware.process_request(own)
    assert own.headers.get("Authorization") == b"Bearer t" and own.headers.get("Cookie") == b"c=1"
    other = Request("http://cdn.example.com/a.pdf", headers={
        "Authorization": "Bearer t", "X-Api-Key": "k", "Cookie": "c=1", "Proxy-Authorization": "Basic x",
        "Accept-Language": "zh-CN"})
    middleware.process_request(other)
    assert {k.decode().lower() for k in other.headers} == {"accept-language"}
    # another port or scheme of the site's host is another origin
    port = Request("https://www.example.gov.cn:8443/a.pdf", headers={"Authorization": "Bearer t"})
    middleware.process_request(port)
    assert "Authorization" not in port.headers


def test_connect_time_refusals_are_reported_with_their_reason(registry):
    middleware = make_guard()
    request = Request("http://evil.example:6379/")
    reason = "refused: evil.example resolves to 127.0.0.1, a loopback address (not a configured origin of this site)"
    guard._remember_refusal("evil.example", 6379, reason)
    for error in (CannotResolveHostError("no results"), DNSLookupError("no results")):
        with pytest.raises(guard.RefusedRequest, match=r"evil.example resolves to 127.0.0.1"):
            middleware.process_exception(request, error)
    # a name that simply does not resolve stays a DNS failure
    assert middleware.process_exception(Request("http://nowhere.invalid/"), CannotResolveHostError("x")) is None
    assert middleware.process_exception(request, ValueError("other")) is None


def test_another_sites_origin_is_resolved_before_it_is_used(registry):
    """Another configured site's origin is let through by the resolver (process-wide), so the
    middleware resolves it itself: the request waits for that check."""
    guard.register_origins(guard.site_origins(["http://intranet.other:8080/"]))
    result = make_guard().process_request(Request("http://intranet.other:8080/x.pdf"))
    assert inspect.isawaitable(result)
    result.close()  # not run here: it needs the reactor (see tests/reliability/test_resolver.py)
