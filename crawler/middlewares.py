"""Downloader middlewares.

:class:`PrivateRedirectGuard` refuses redirects (HTTP 3xx and meta refresh) that lead into
private, loopback, link-local or otherwise non-public addresses. Archived sites are hostile
input: a bureau page that redirects to ``http://127.0.0.1:6379/`` or a cloud metadata address
must not make the crawler fetch it. The site's own configured hosts stay allowed, so a site
that itself lives on a private address (the demo site on 127.0.0.1, an intranet mirror) can
still be crawled.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest


class PrivateRedirectGuard:
    """Drop redirected requests whose host resolves to a non-public address."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateRedirectGuard:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if not request.meta.get("redirect_times"):
            return None
        host = urlsplit(request.url).hostname or ""
        spider = spider or self.crawler.spider
        own_hosts = set(getattr(getattr(spider, "site", None), "allowed_hosts", ()) or ())
        if host in own_hosts:
            return None
        address = non_public_address(host)
        if address is not None:
            self.crawler.stats.inc_value("nianbao/private_redirects_refused")
            raise IgnoreRequest(f"redirect into non-public address {address} ({host}) refused")
        return None


def non_public_address(host: str, resolve: Any = socket.getaddrinfo) -> str | None:
    """The first non-public address ``host`` stands for, or None when all are public.

    A host that does not resolve is left to the downloader (it fails with a DNS error there).
    """
    if not host:
        return "(empty host)"
    try:
        candidates = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = resolve(host, None)
        except (OSError, UnicodeError):
            return None
        candidates = []
        for info in infos:
            try:
                candidates.append(ipaddress.ip_address(info[4][0].split("%", 1)[0]))
            except ValueError:
                continue
    for address in candidates:
        if not address.is_global or address.is_multicast:
            return str(address)
    return None
