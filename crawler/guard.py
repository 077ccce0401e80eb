"""The outgoing-request guard: what the crawler may connect to.

Archived sites are hostile input. A report page can link ``file:///etc/passwd``, a cloud
metadata address, ``http://127.0.0.1:6379/`` or a name whose DNS answer points into the
crawling machine's network; none of that may be fetched. One policy decides, and it is applied
twice -- once when a request is about to be sent, once when its connection is made:

- Only ``http`` and ``https`` URLs are ever fetched (Scrapy's ``file``, ``data``, ``ftp`` and
  ``s3`` download handlers are also switched off in :mod:`crawler.settings`).
- A host is refused when any address it stands for is not public (:func:`address_problem`:
  loopback, private, link-local, multicast, reserved, unspecified, shared, documentation, or an
  IPv6 address embedding such an IPv4 address: IPv4-mapped, NAT64, 6to4) -- unless the
  request's *origin* (scheme, host, port) is one of the site's own configured origins (those of
  its ``list_urls``). A site that itself lives on ``127.0.0.1:8765`` (the demo) or an intranet
  name is crawled as usual; another port of that host is not that origin and is refused.
- Numeric host spellings (``2130706433``, ``127.1``, ``0x7f.1``, ``0177.0.0.1``) are read the
  way the system resolver reads them (``getaddrinfo`` with ``AI_NUMERICHOST``), so they are
  checked as the address they connect to.

:class:`crawler.middlewares.OutgoingRequestGuard` (a downloader middleware every request passes:
list and report pages, attachments, robots.txt, every redirect hop) refuses bad schemes and
literal addresses before anything is sent, with a reason the crawl records. Host *names* are
checked by :class:`GuardedResolver` (Scrapy's ``TWISTED_DNS_RESOLVER``), which sees the
host and port of every connection Twisted makes and hands the connector only addresses it has
checked, so a DNS answer that changes between a check and the connect (DNS rebinding) cannot
slip through: the addresses checked are the addresses connected to.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import socket
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingHostnameResolver
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from w3lib.url import safe_url_string
from zope.interface import implementer

__all__ = [
    "ALLOWED_SCHEMES",
    "NOT_OWN",
    "GuardedResolver",
    "Origin",
    "RefusedRequest",
    "address_problem",
    "canonical_host",
    "configured_origin_keys",
    "connect_refusal",
    "numeric_address",
    "origin_of",
    "register_origins",
    "resolve_addresses",
    "resolver_refusal",
    "site_origins",
    "url_refusal",
]

logger = logging.getLogger(__name__)

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
NOT_OWN = "not a configured origin of this site"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


class RefusedRequest(IgnoreRequest):
    """A request the guard would not send; the message is the reason the crawl records."""


@dataclass(frozen=True, order=True)
class Origin:
    """Scheme, canonical host and port of a URL (the default port filled in)."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


# --- addresses ------------------------------------------------------------------------------


def numeric_address(host: str) -> IPAddress | None:
    """The address a numeric host spelling stands for, read as the system resolver reads it.

    ``getaddrinfo`` with ``AI_NUMERICHOST`` never asks DNS; it accepts every form the connector
    would (``127.1``, ``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``::ffff:127.0.0.1``). None for
    a name.
    """
    host = host.strip("[]")
    if not host:
        return None
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return None
    for info in infos:
        address = _parse_address(str(info[4][0]))
        if address is not None:
            return address
    return None


def _parse_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def _v4_problem(address: ipaddress.IPv4Address) -> str | None:
    if address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address == ipaddress.IPv4Address("255.255.255.255"):
        return "a broadcast address"
    return _common_problem(address)


def _common_problem(address: IPAddress) -> str | None:
    """The checks both families share, in the order their names are most telling."""
    for flag, name in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_site_local", "a site-local address"),  # IPv6 only
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    ):
        if getattr(address, flag, False):
            return name
    return None if address.is_global else "a non-public address"


def _embedded_v4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address carries and connects to, with the embedding's name."""
    if address.ipv4_mapped is not None:
        return "an IPv4-mapped address", address.ipv4_mapped
    if address in _NAT64:
        return "a NAT64 address", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return "a 6to4 address", address.sixtofour
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why connecting to ``address`` is refused ("a loopback address" ...), None when public.

    An IPv6 address that embeds an IPv4 address (IPv4-mapped ``::ffff:0:0/96``, NAT64
    ``64:ff9b::/96``, 6to4 ``2002::/16``) is judged by the IPv4 address it reaches.
    """
    if isinstance(address, ipaddress.IPv4Address):
        return _v4_problem(address)
    embedded = _embedded_v4(address)
    if embedded is not None:
        kind, inner = embedded
        problem = _v4_problem(inner)
        return f"{kind} of {inner}, {problem}" if problem else None
    return _common_problem(address)


def _describe(host: str, address: IPAddress, problem: str, resolved: bool) -> str:
    shown = host.strip("[]")
    if _parse_address(shown) == address:  # a literal address, however it is written
        return f"{shown} is {problem}"
    verb = "resolves to" if resolved else "is"
    return f"{shown} {verb} {address}, {problem}"


# --- origins --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)  # a pure function of the string, asked for every request
def canonical_host(host: str) -> str:
    """Lower case, no brackets, no trailing dot, IDNA; numeric spellings as their address."""
    host = host.strip().strip("[]").lower().rstrip(".")
    if not host.isascii():
        with contextlib.suppress(UnicodeError):  # not IDNA-encodable: keep it as written
            host = host.encode("idna").decode("ascii")
    address = numeric_address(host)
    return str(address) if address is not None else host


def origin_of(url: str) -> Origin | None:
    """The origin of an http(s) URL; None for other schemes or a URL without host or port."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if not host:
        return None
    return Origin(scheme, canonical_host(host), DEFAULT_PORTS[scheme] if port is None else port)


def site_origins(list_urls: Iterable[str]) -> frozenset[Origin]:
    """The configured origins of a site: those of its list URLs (hosts in IDNA form, as the
    requests Scrapy builds from them)."""
    origins = set()
    for url in list_urls:
        origin = origin_of(safe_url_string(url))
        if origin is not None:
            origins.add(origin)
    return frozenset(origins)


# (host, port) of every configured origin of the sites crawled in this process: the resolver
# lets these connect wherever their names point. The middleware adds each site's own.
_configured: set[tuple[str, int]] = set()


def register_origins(origins: Iterable[Origin]) -> None:
    _configured.update((o.host, o.port) for o in origins)


def configured_origin_keys() -> frozenset[tuple[str, int]]:
    return frozenset(_configured)


def url_refusal(url: str, own: frozenset[Origin]) -> str | None:
    """Why a request for ``url`` must not be sent, judged before any DNS lookup; None to send.

    Checks the scheme and, for a numeric host, its address -- the site's own origins excepted.
    Host names are left to :class:`GuardedResolver` (and :func:`connect_refusal`).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return f"refused: {scheme or '(no scheme)'}: URLs are never fetched"
    try:
        port = parts.port
    except ValueError:
        return "refused: the URL's port is not a valid port number"
    host = parts.hostname
    if not host:
        return "refused: the URL has no host"
    origin = Origin(scheme, canonical_host(host), DEFAULT_PORTS[scheme] if port is None else port)
    if origin in own:
        return None
    address = numeric_address(host)
    if address is None:
        return None
    problem = address_problem(address)
    if problem is None:
        return None
    return f"refused: {_describe(host, address, problem, resolved=False)} ({NOT_OWN})"


def connect_refusal(
    host: str,
    port: int,
    addresses: Iterable[str],
    *,
    allowed: Iterable[tuple[str, int]] | None = None,
    why: str = NOT_OWN,
) -> str | None:
    """Why a connection to ``host:port`` at these resolved addresses is refused; None if not.

    ``allowed`` (default: every configured origin of this process) may connect anywhere. Any one
    non-public address refuses the whole host: the connector may try any of them.
    """
    allowed_keys = configured_origin_keys() if allowed is None else frozenset(allowed)
    if (canonical_host(host), port) in allowed_keys:
        return None
    for text in addresses:
        address = _parse_address(text)
        if address is None:
            return f"refused: {host} resolves to {text!r}, not an IP address ({why})"
        problem = address_problem(address)
        if problem is not None:
            return f"refused: {_describe(host, address, problem, resolved=True)} ({why})"
    return None


# --- connect time ---------------------------------------------------------------------------

_REFUSALS_KEPT = 10_000
_refusals: OrderedDict[tuple[str, int], str] = OrderedDict()


def resolver_refusal(host: str, port: int) -> str | None:
    """The reason the resolver last refused ``host:port`` (to report a connect-time refusal)."""
    return _refusals.get((canonical_host(host), port))


def _remember_refusal(host: str, port: int, reason: str | None) -> None:
    key = (canonical_host(host), port)
    if reason is None:
        _refusals.pop(key, None)
        return
    _refusals[key] = reason
    _refusals.move_to_end(key)
    while len(_refusals) > _REFUSALS_KEPT:
        _refusals.popitem(last=False)


@implementer(IResolutionReceiver)
class _Collector:
    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.done: Deferred[list[str]] = Deferred()

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        pass

    def addressResolved(self, address: IAddress) -> None:
        self.addresses.append(str(getattr(address, "host", "")))

    def resolutionComplete(self) -> None:
        self.done.callback(self.addresses)


def resolve_addresses(host: str, port: int) -> Deferred[list[str]]:
    """The addresses the reactor's resolver gives ``host`` -- the same answers (and cache) the
    connection will use; empty when the name does not resolve (or the resolver refused it)."""
    from twisted.internet import reactor

    collector = _Collector()
    reactor.nameResolver.resolveHostName(collector, host, port)
    return collector.done


@implementer(IResolutionReceiver)
class _GuardedReceiver:
    """Holds a resolution's addresses back until all are known, then passes them all on -- or
    none, when one of them is refused (the connector then fails with a DNS lookup error that
    the middleware turns back into the refusal)."""

    def __init__(self, receiver: Any, host: str, port: int) -> None:
        self.receiver = receiver
        self.host = host
        self.port = port
        self.addresses: list[IAddress] = []

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        texts = [str(getattr(a, "host", "")) for a in self.addresses]
        reason = connect_refusal(self.host, self.port, texts) if texts else None
        _remember_refusal(self.host, self.port, reason)
        if reason is None:
            for address in self.addresses:
                self.receiver.addressResolved(address)
        else:
            logger.warning("%s (at connect time, port %s)", reason, self.port)
        self.receiver.resolutionComplete()


@implementer(IHostnameResolver)
class GuardedResolver(CachingHostnameResolver):
    """Scrapy's caching IPv4+IPv6 resolver, with every answer checked before it is used.

    Installed as ``TWISTED_DNS_RESOLVER``. Twisted's HTTP agent resolves every connection
    through the reactor's name resolver -- literal addresses included -- with the port it will
    connect to, so this sees the real (host, port, addresses) of every connection. Answers are
    cached by name unfiltered, and filtered on every use.
    """

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Any = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        guarded = _GuardedReceiver(resolutionReceiver, hostName, portNumber)
        return super().resolveHostName(
            # zope's @implementer(IResolutionReceiver) is invisible to mypy (no zope plugin)
            guarded, hostName, portNumber, addressTypes, transportSemantics  # type: ignore[arg-type]
        )
