"""A DNS stand-in for crawls in tests: made-up names answered without any DNS server.

Used as ``-s TWISTED_DNS_RESOLVER=tests.reliability.stub_resolver.StubNamesResolver`` in a
crawl's child process (with the repository on ``PYTHONPATH``). It *is* the production
:class:`~crawler.guard.GuardedResolver` -- every answer still goes through its checks -- only the
underlying lookup answers the names in :data:`NAMES` itself (everything else goes to the system
resolver as usual):

- ``site.nianbao.test`` and ``other-site.nianbao.test``: 127.0.0.1 -- sites configured by name
  that live on a loopback address (an intranet mirror);
- ``rebind.nianbao.test``: 127.0.0.1 -- an attacker's name whose DNS answer points into the
  crawler's machine (the second answer of a DNS-rebinding attack);
- ``cdn.nianbao.test``: 127.0.0.3, which this module makes the guard treat as a *public*
  address (:data:`PUBLIC_STAND_INS`): it stands for a public CDN or another public host, the
  only kind of "other origin" a crawl may reach, so tests can watch what a crawl sends there.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from twisted.internet._resolver import HostResolution
from twisted.internet.address import IPv4Address

from crawler import guard

NAMES = {
    "site.nianbao.test": "127.0.0.1",
    "other-site.nianbao.test": "127.0.0.1",
    "rebind.nianbao.test": "127.0.0.1",
    "cdn.nianbao.test": "127.0.0.3",
}
PUBLIC_STAND_INS = frozenset({ipaddress.IPv4Address("127.0.0.3")})

_real_problem = guard.address_problem


def _problem(address: Any) -> str | None:
    return None if address in PUBLIC_STAND_INS else _real_problem(address)


guard.address_problem = _problem  # type: ignore[assignment]


class _StubLookup:
    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback

    def resolveHostName(self, receiver: Any, hostName: str, portNumber: int = 0,
                        addressTypes: Any = None, transportSemantics: str = "TCP") -> Any:
        address = NAMES.get(hostName.lower().rstrip("."))
        if address is None:
            return self.fallback.resolveHostName(receiver, hostName, portNumber, addressTypes,
                                                 transportSemantics)
        resolution = HostResolution(hostName)
        receiver.resolutionBegan(resolution)
        receiver.addressResolved(IPv4Address("TCP", address, portNumber))
        receiver.resolutionComplete()
        return resolution


class StubNamesResolver(guard.GuardedResolver):
    def __init__(self, reactor: Any, cache_size: int) -> None:
        super().__init__(reactor, cache_size)
        self.original_resolver = _StubLookup(self.original_resolver)
