"""The guard's address classifier and URL check (crawler/guard.py): every kind of non-public
address an attacker can point the crawler at, in every spelling the system resolver accepts."""

from __future__ import annotations

import ipaddress

import pytest

from crawler import guard

OWN = guard.site_origins(["http://127.0.0.1:8765/nb/index.html", "https://intranet.example/col/"])


@pytest.mark.parametrize("address, problem", [
    # IPv4
    ("127.0.0.1", "a loopback address"),
    ("127.255.255.254", "a loopback address"),
    ("10.0.0.1", "a private address"),
    ("172.16.5.4", "a private address"),
    ("192.168.1.1", "a private address"),
    ("169.254.169.254", "a link-local address"),  # cloud metadata
    ("224.0.0.251", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("0.0.0.0", "an unspecified address"),
    ("0.1.2.3", "a private address"),  # "this network"
    ("100.64.0.1", "a shared (carrier-grade NAT) address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a broadcast address"),
    ("192.0.2.1", "a private address"),  # documentation
    ("198.18.0.1", "a private address"),  # benchmarking
    # IPv6
    ("::1", "a loopback address"),
    ("::", "an unspecified address"),
    ("fe80::1", "a link-local address"),
    ("fc00::1", "a private address"),
    ("fd12:3456::1", "a private address"),
    ("ff02::1", "a multicast address"),
    ("fec0::1", "a site-local address"),
    ("2001:db8::1", "a private address"),  # documentation
    ("::7f00:1", "a reserved address"),  # IPv4-compatible ::127.0.0.1
    # IPv6 embedding a non-public IPv4 address
    ("::ffff:127.0.0.1", "an IPv4-mapped address of 127.0.0.1, a loopback address"),
    ("::ffff:10.0.0.1", "an IPv4-mapped address of 10.0.0.1, a private address"),
    ("::ffff:169.254.169.254", "an IPv4-mapped address of 169.254.169.254, a link-local address"),
    ("64:ff9b::7f00:1", "a NAT64 address of 127.0.0.1, a loopback address"),
    ("64:ff9b::c0a8:101", "a NAT64 address of 192.168.1.1, a private address"),
    ("2002:7f00:1::1", "a 6to4 address of 127.0.0.1, a loopback address"),
    ("2002:a9fe:a9fe::", "a 6to4 address of 169.254.169.254, a link-local address"),
])
def test_non_public_addresses_are_named(address, problem):
    assert guard.address_problem(ipaddress.ip_address(address)) == problem


@pytest.mark.parametrize("address", [
    "8.8.8.8", "93.184.216.34", "223.5.5.5", "2606:2800:220:1::1", "2400:3200::1",
    # embeddings of public addresses connect to public addresses
    "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
])
def test_public_addresses_pass(address):
    assert guard.address_problem(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("spelling, address", [
    ("2130706433", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("0", "0.0.0.0"),
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
    ("[::1]", "::1"),
    ("10.1", "10.0.0.1"),
])
def test_numeric_spellings_are_read_as_the_resolver_reads_them(spelling, address):
    """Attack: the same loopback address written so that a naive check does not recognise it."""
    assert guard.numeric_address(spelling) == ipaddress.ip_address(address)


@pytest.mark.parametrize("name", ["localhost", "www.gov.cn", "127.0.0.1.example", "xn--fiqs8s.cn", ""])
def test_names_are_not_numeric(name):
    assert guard.numeric_address(name) is None


@pytest.mark.parametrize("url, reason", [
    ("file:///etc/hostname?x=1.pdf", "refused: file: URLs are never fetched"),
    ("file:///dev/zero", "refused: file: URLs are never fetched"),
    ("s3://bucket/key.pdf", "refused: s3: URLs are never fetched"),
    ("gopher://127.0.0.1:6379/_FLUSHALL", "refused: gopher: URLs are never fetched"),
    ("http://127.0.0.2:8765/a.pdf", "refused: 127.0.0.2 is a loopback address (not a configured origin of this site)"),
    ("http://127.0.0.1:8766/a.pdf", "refused: 127.0.0.1 is a loopback address (not a configured origin of this site)"),
    ("http://2130706433:9/a.pdf",
     "refused: 2130706433 is 127.0.0.1, a loopback address (not a configured origin of this site)"),
    ("http://[::ffff:127.0.0.1]:9/a.pdf", "refused: ::ffff:127.0.0.1 is an IPv4-mapped address of 127.0.0.1,"
                                          " a loopback address (not a configured origin of this site)"),
    ("http://0.0.0.0:9/", "refused: 0.0.0.0 is an unspecified address (not a configured origin of this site)"),
    ("http://[::1]:8765/", "refused: ::1 is a loopback address (not a configured origin of this site)"),
    ("http://[fe80::1%25eth0]/", "refused: fe80::1%25eth0 is a link-local address (not a configured origin of this site)"),
    ("http://127.0.0.1:70000/", "refused: the URL's port is not a valid port number"),
    ("http:///nohost", "refused: the URL has no host"),
])
def test_url_refusals(url, reason):
    assert guard.url_refusal(url, OWN) == reason


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8765/nb/2022.html",  # the configured origin itself
    "http://2130706433:8765/nb/",  # the same origin in another spelling
    "https://intranet.example/a.pdf",  # a configured origin by name (its address: the resolver's job)
    "http://localhost:8765/",  # a name: checked at connect time by the resolver
    "http://8.8.8.8/a.pdf",
    "HTTPS://www.gov.cn/a.pdf",
])
def test_urls_left_to_send(url):
    assert guard.url_refusal(url, OWN) is None


def test_origins_are_scheme_host_and_port():
    assert guard.origin_of("http://Example.GOV.cn./a") == guard.Origin("http", "example.gov.cn", 80)
    assert guard.origin_of("https://[::1]/") == guard.Origin("https", "::1", 443)
    assert guard.origin_of("http://0x7f.1:8080/") == guard.Origin("http", "127.0.0.1", 8080)
    assert guard.origin_of("file:///etc/passwd") is None
    assert guard.site_origins(["http://政府.cn/nb/"]) == {guard.Origin("http", "xn--mxtq1m.cn", 80)}


def test_connect_refusal_allows_configured_origins_only_at_their_port():
    allowed = {("intranet.example", 443)}
    assert guard.connect_refusal("intranet.example", 443, ["10.0.0.5"], allowed=allowed) is None
    assert guard.connect_refusal("intranet.example", 22, ["10.0.0.5"], allowed=allowed) == (
        "refused: intranet.example resolves to 10.0.0.5, a private address (not a configured origin of this site)"
    )
    assert guard.connect_refusal("www.gov.cn", 80, ["93.184.216.34"], allowed=allowed) is None
    assert guard.connect_refusal("www.gov.cn", 80, [], allowed=allowed) is None  # no answer: a DNS failure


def test_the_guard_is_wired_into_every_crawl():
    """file:///dev/zero once grew a crawl to 3.5 GB (Scrapy's file handler ignores
    DOWNLOAD_MAXSIZE): the non-http handlers are off even if a request got past the guard."""
    from crawler.runner import build_settings

    settings = build_settings()
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    assert all(handlers[scheme] is None for scheme in ("file", "data", "ftp", "s3"))
    assert settings["TWISTED_DNS_RESOLVER"] == "crawler.guard.GuardedResolver"
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    priority = middlewares["crawler.middlewares.OutgoingRequestGuard"]
    # after DefaultHeadersMiddleware (400) puts headers on; its errors seen before RetryMiddleware (550)
    assert priority > 400 and priority > 550
    assert priority < middlewares["crawler.capture.middleware.CaptureMiddleware"]  # before replays
