"""The connect-time half of the guard: :class:`crawler.guard.GuardedResolver` checks the very
addresses a connection is about to use, so a DNS answer cannot change between a check and the
connect (DNS rebinding), and a configured origin is allowed by host *and port*.

Unit tests drive the resolver with a scripted lookup; the crawl tests run real crawls in which
made-up names resolve to 127.0.0.1 (tests/reliability/stub_resolver.py), through the CLI, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy.resolver import dnscache
from sqlalchemy import select
from twisted.internet._resolver import HostResolution
from twisted.internet.address import IPv4Address, IPv6Address

from crawler import guard
from storage.db import open_archive
from storage.models import CrawlError, Document
from tests.conftest import REPO_ROOT
from tests.crawler.harness import FAST_CRAWL, run_nianbao
from tests.reliability.servers import RecordingServer, Route, RouteServer

STUB = "tests.reliability.stub_resolver.StubNamesResolver"
LOOPBACK = r"a loopback address \(not a configured origin of this site\)"


class ScriptedLookup:
    """Answers each lookup of a name with the next answer of its script (the last one repeats)."""

    def __init__(self, script: dict[str, list[list[str]]]) -> None:
        self.script = script
        self.calls: list[tuple[str, int]] = []

    def resolveHostName(self, receiver: Any, hostName: str, portNumber: int = 0,
                        addressTypes: Any = None, transportSemantics: str = "TCP") -> Any:
        self.calls.append((hostName, portNumber))
        answers = self.script[hostName]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        resolution = HostResolution(hostName)
        receiver.resolutionBegan(resolution)
        for address in answer:
            cls = IPv6Address if ":" in address else IPv4Address
            receiver.addressResolved(cls("TCP", address, portNumber))
        receiver.resolutionComplete()
        return resolution


class FakeReactor:
    def __init__(self, lookup: ScriptedLookup) -> None:
        self.nameResolver = lookup


class Receiver:
    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.began = self.completed = False

    def resolutionBegan(self, resolution: Any) -> None:
        self.began = True

    def addressResolved(self, address: Any) -> None:
        self.addresses.append(address.host)

    def resolutionComplete(self) -> None:
        self.completed = True


@pytest.fixture
def configured() -> Iterator[None]:
    saved = set(guard._configured)
    guard._configured.clear()
    guard.register_origins(guard.site_origins(["http://intranet.example:8080/nb/"]))
    dnscache.clear()
    yield
    guard._configured.clear()
    guard._configured.update(saved)
    dnscache.clear()


def resolve(script: dict[str, list[list[str]]], host: str, port: int, cache_size: int = 0) -> tuple[Receiver, ScriptedLookup]:
    lookup = ScriptedLookup(script)
    resolver = guard.GuardedResolver(FakeReactor(lookup), cache_size)  # type: ignore[arg-type]
    receiver = Receiver()
    resolver.resolveHostName(receiver, host, port)
    return receiver, lookup


@pytest.mark.usefixtures("configured")
class TestGuardedResolver:
    def test_a_name_pointing_at_loopback_is_refused(self):
        """Attack: an attacker's domain (linked from a hostile report page) whose A record is
        127.0.0.1, to reach a service on the crawler's machine."""
        receiver, _ = resolve({"evil.example": [["127.0.0.1"]]}, "evil.example", 6379)
        assert receiver.began and receiver.completed and receiver.addresses == []
        assert guard.resolver_refusal("evil.example", 6379) == (
            "refused: evil.example resolves to 127.0.0.1, a loopback address"
            " (not a configured origin of this site)"
        )

    def test_one_private_answer_among_public_ones_refuses_the_name(self):
        """Attack: a name with two A records, one public and one private, hoping the connector
        tries the private one (Twisted's HostnameEndpoint races them all)."""
        receiver, _ = resolve({"mixed.example": [["93.184.216.34", "10.0.0.7"]]}, "mixed.example", 80)
        assert receiver.addresses == []
        assert "10.0.0.7, a private address" in (guard.resolver_refusal("mixed.example", 80) or "")

    def test_aaaa_answers_are_checked_too(self):
        """Attack: the IPv6 side: an AAAA record of ::1 or of an IPv4-mapped private address."""
        for answer in (["::1"], ["::ffff:169.254.169.254"], ["64:ff9b::a00:1"], ["fe80::1"]):
            receiver, _ = resolve({"v6.example": [answer]}, "v6.example", 80)
            assert receiver.addresses == [], answer

    def test_public_answers_pass_unchanged(self):
        receiver, _ = resolve({"www.gov.cn": [["93.184.216.34", "2606:2800:220:1::1"]]}, "www.gov.cn", 443)
        assert receiver.addresses == ["93.184.216.34", "2606:2800:220:1::1"]
        assert guard.resolver_refusal("www.gov.cn", 443) is None

    def test_dns_rebinding_second_answer_is_checked_at_connect_time(self):
        """Attack: DNS rebinding -- the name answers a public address when it is first looked up
        (passing any early check) and 127.0.0.1 when the connection is made. The resolver checks
        every answer it hands to the connector, so the second one is refused."""
        script = {"rebind.example": [["93.184.216.34"], ["127.0.0.1"]]}
        lookup = ScriptedLookup(script)
        resolver = guard.GuardedResolver(FakeReactor(lookup), 0)  # type: ignore[arg-type]
        first, second = Receiver(), Receiver()
        resolver.resolveHostName(first, "rebind.example", 80)
        resolver.resolveHostName(second, "rebind.example", 80)
        assert first.addresses == ["93.184.216.34"]
        assert second.addresses == [] and second.completed
        assert len(lookup.calls) == 2
        assert "127.0.0.1, a loopback address" in (guard.resolver_refusal("rebind.example", 80) or "")

    def test_cached_answers_are_checked_on_every_use(self):
        """The DNS cache keeps answers unfiltered; a cached private answer is refused each time."""
        script = {"cached.example": [["192.168.1.1"]]}
        lookup = ScriptedLookup(script)
        resolver = guard.GuardedResolver(FakeReactor(lookup), 100)  # type: ignore[arg-type]
        for _ in range(2):
            receiver = Receiver()
            resolver.resolveHostName(receiver, "cached.example", 80)
            assert receiver.addresses == [] and receiver.completed
        assert len(lookup.calls) == 1

    def test_a_configured_origin_may_be_private_but_only_at_its_own_port(self):
        """A site configured on an intranet name keeps working; the same name at another port
        (an attacker linking http://intranet.example:22/) is not that origin."""
        receiver, _ = resolve({"intranet.example": [["10.1.2.3"]]}, "intranet.example", 8080)
        assert receiver.addresses == ["10.1.2.3"]
        receiver, _ = resolve({"intranet.example": [["10.1.2.3"]]}, "intranet.example", 22)
        assert receiver.addresses == []

    def test_literal_addresses_reach_the_resolver_and_are_checked(self):
        """Twisted's agent resolves literal hosts through the resolver as well (with the port), so
        a literal loopback address is refused at connect time even if it got past the middleware."""
        receiver, _ = resolve({"127.0.0.2": [["127.0.0.2"]]}, "127.0.0.2", 80)
        assert receiver.addresses == []
        assert guard.resolver_refusal("127.0.0.2", 80) == (
            "refused: 127.0.0.2 is a loopback address (not a configured origin of this site)"
        )


# --- whole crawls with made-up names -------------------------------------------------------

PROSE = "本报告根据《中华人民共和国政府信息公开条例》编制，所列数据的统计期限自1月1日起至12月31日止。" * 3


def _report(title: str, links: str) -> bytes:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body>'
        f'<h1 class="title">{title}</h1><div class="TRS_Editor"><p>{PROSE}</p>{links}</div></body></html>'
    ).encode()


def _bureau(server: RouteServer, name: str, links: str) -> None:
    title = f"{name}2022年政府信息公开工作年度报告"
    server.routes["/nb/index.html"] = Route(
        f'<html><body><ul><li><a href="2022.html">{title}</a></li></ul></body></html>'.encode())
    server.routes["/nb/2022.html"] = Route(_report(title, links))


def _site(key: str, name: str, url: str) -> str:
    return (f'[[sites]]\nkey = "{key}"\nname = "{name}"\nregion = "示范市"\nlevel = "department"\n'
            f'family = "generic"\nlist_urls = ["{url}"]\n')


def stub_env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{path}" if path else str(REPO_ROOT)}


def test_names_are_checked_at_connect_time_per_origin(tmp_path: Path, database_url: str):
    """Attack: names instead of addresses. A hostile report page links
    http://rebind.nianbao.test:B/ (a name whose DNS answer is 127.0.0.1, as in DNS rebinding),
    http://site.nianbao.test:B/ (the site's own configured host name, another port) and
    http://other-site.nianbao.test:C/ (another configured site's intranet origin). The site itself
    lives on site.nianbao.test:A -> 127.0.0.1 and must still be crawled, as must the other site."""
    with RecordingServer() as victim, RouteServer() as site, RouteServer() as other:
        b = victim.port
        links = "".join(
            f'<p><a href="{url}">附件{i}.pdf</a></p>'
            for i, url in enumerate([
                f"http://rebind.nianbao.test:{b}/x.pdf",
                f"http://site.nianbao.test:{b}/y.pdf",
                f"http://other-site.nianbao.test:{other.port}/nb/z.pdf",
                f"http://site.nianbao.test:{site.port}/nb/own.pdf",
            ])
        )
        _bureau(site, "示范市档案局", links)
        site.routes["/nb/own.pdf"] = Route(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf")
        _bureau(other, "示范市统计局", "")
        sites = tmp_path / "sites.toml"
        sites.write_text(
            _site("named-dag", "示范市档案局", f"http://site.nianbao.test:{site.port}/nb/index.html")
            + _site("named-tjj", "示范市统计局", f"http://other-site.nianbao.test:{other.port}/nb/index.html"),
            encoding="utf-8",
        )
        result = run_nianbao("--db", database_url, "--sites", str(sites), "crawl", "-q", *FAST_CRAWL,
                             "-s", f"TWISTED_DNS_RESOLVER={STUB}", cwd=tmp_path, env=stub_env(), timeout=180)
        assert result.returncode == 0, result.stderr + result.stdout
        assert victim.seen == [], victim.seen
        assert not any(s.path == "/nb/z.pdf" for s in other.seen), other.seen
        assert any(s.path == "/nb/own.pdf" for s in site.seen)

    with open_archive(database_url)() as session:
        documents = {d.url for d in session.scalars(select(Document))}
        assert f"http://site.nianbao.test:{site.port}/nb/2022.html" in documents
        assert f"http://other-site.nianbao.test:{other.port}/nb/2022.html" in documents
        errors = {e.url: e.reason for e in session.scalars(select(CrawlError))}
    expected = {
        f"http://rebind.nianbao.test:{b}/x.pdf": rf"refused: rebind\.nianbao\.test resolves to 127\.0\.0\.1, {LOOPBACK}",
        f"http://site.nianbao.test:{b}/y.pdf": rf"refused: site\.nianbao\.test resolves to 127\.0\.0\.1, {LOOPBACK}",
        f"http://other-site.nianbao.test:{other.port}/nb/z.pdf":
            rf"refused: other-site\.nianbao\.test resolves to 127\.0\.0\.1, {LOOPBACK}",
    }
    assert set(errors) == set(expected), errors
    for url, pattern in expected.items():
        assert re.fullmatch(pattern, errors[url]), (url, errors[url])
