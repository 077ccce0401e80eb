"""A resolver for crawls in tests whose DNS server never answers for some names.

Used as ``-s TWISTED_DNS_RESOLVER=tests.reliability.hanging_resolver.HangingResolver`` in a
crawl's child process. It is :class:`~tests.reliability.stub_resolver.StubNamesResolver` (so the
production :class:`~crawler.guard.GuardedResolver` with its checks), except that a lookup of a
name in :data:`HANGING` begins and then never completes -- no address, no error, ever -- as when
the crawling machine's resolver, or an authoritative server of a bureau's domain, drops every
query on the floor.
"""

from __future__ import annotations

from typing import Any

from twisted.internet._resolver import HostResolution

from tests.reliability.stub_resolver import StubNamesResolver

HANGING = frozenset({"hang.nianbao.test"})


class _HangingLookup:
    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback
        self.pending: list[Any] = []  # kept alive: the lookup is never answered

    def resolveHostName(self, receiver: Any, hostName: str, portNumber: int = 0,
                        addressTypes: Any = None, transportSemantics: str = "TCP") -> Any:
        if hostName.lower().rstrip(".") not in HANGING:
            return self.fallback.resolveHostName(receiver, hostName, portNumber, addressTypes,
                                                 transportSemantics)
        resolution = HostResolution(hostName)
        receiver.resolutionBegan(resolution)
        self.pending.append(receiver)
        return resolution


class HangingResolver(StubNamesResolver):
    def __init__(self, reactor: Any, cache_size: int) -> None:
        super().__init__(reactor, cache_size)
        self.original_resolver = _HangingLookup(self.original_resolver)
