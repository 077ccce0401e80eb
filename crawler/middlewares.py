"""Downloader middlewares.

:class:`OutgoingRequestGuard` is the crawl's one gate to the network (the policy is in
:mod:`crawler.guard`). Every request passes it just before it is sent -- list and report pages,
attachments, robots.txt, and every redirect hop (HTTP 3xx and meta refresh come back through
the middleware chain as new requests):

- a scheme other than http/https, or a numeric host that is not a public address, is refused
  unless the request goes to one of the site's own configured origins (scheme, host, port of
  its list URLs): the request fails with :class:`~crawler.guard.RefusedRequest`, whose message
  ("refused: 127.0.0.2 is a loopback address (not a configured origin of this site)") the
  spider records as the failure's reason, and nothing is sent;
- host names are checked at connect time by :class:`~crawler.guard.GuardedResolver`; when it
  refuses one, the connection fails as a DNS error, which :meth:`process_exception` turns back
  into the refusal (before RetryMiddleware would retry it);
- a request to any other origin loses the credentials the run was given for the site:
  ``Authorization``, ``Proxy-Authorization``, ``Cookie`` and every header the run added with
  ``-s DEFAULT_REQUEST_HEADERS`` (content negotiation headers excepted). It sits after
  DefaultHeadersMiddleware (400), which would otherwise put them back on a redirect hop.

It is registered at 560: after DefaultHeadersMiddleware and UserAgentMiddleware, and before
RetryMiddleware (550) in exception order, RedirectMiddleware and the capture middleware (950).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CannotResolveHostError
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.error import DNSLookupError

from crawler import guard

logger = logging.getLogger(__name__)

# Headers that carry credentials: sent to the site's own origins only.
CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie")
# DEFAULT_REQUEST_HEADERS entries that may go anywhere (content negotiation).
NEUTRAL_HEADERS = frozenset({"accept", "accept-language", "accept-encoding", "user-agent"})


class OutgoingRequestGuard:
    """Refuse requests the guard forbids; keep the site's credentials on the site."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        added = crawler.settings.getdict("DEFAULT_REQUEST_HEADERS")
        self.site_headers = tuple(
            dict.fromkeys(
                [*CREDENTIAL_HEADERS, *(str(n) for n in added if str(n).lower() not in NEUTRAL_HEADERS)]
            )
        )
        self._own: frozenset[guard.Origin] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OutgoingRequestGuard:
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        return middleware

    def spider_opened(self, spider: Any) -> None:
        self.own_origins()
        try:
            from twisted.internet import reactor

            resolver = reactor.nameResolver
        except Exception:
            return
        if not isinstance(resolver, guard.GuardedResolver):
            logger.warning(
                "the DNS resolver is %s, not crawler.guard.GuardedResolver: host names are not "
                "checked at connect time (TWISTED_DNS_RESOLVER was overridden?)",
                type(resolver).__name__,
            )

    def own_origins(self) -> frozenset[guard.Origin]:
        """The site's configured origins (registered with the resolver on first use)."""
        if self._own is None:
            site = getattr(self.crawler.spider, "site", None)
            self._own = guard.site_origins(getattr(site, "list_urls", ()) or ())
            guard.register_origins(self._own)
        return self._own

    # --- requests -----------------------------------------------------------------------

    def process_request(self, request: Request) -> Any:
        own = self.own_origins()
        reason = guard.url_refusal(request.url, own)
        if reason is not None:
            self._refuse(request, reason)
        origin = guard.origin_of(request.url)
        assert origin is not None  # url_refusal refuses URLs without an origin
        if origin in own:
            return None
        self._strip_site_headers(request)
        if (
            guard.numeric_address(origin.host) is None
            and (origin.host, origin.port) in guard.configured_origin_keys()
        ):
            # Another site's configured origin: the resolver lets it through, so check here
            # whether it is private (this site may not reach it then).
            return self._check_other_sites_origin(request, origin)
        return None

    async def _check_other_sites_origin(self, request: Request, origin: guard.Origin) -> None:
        """Resolved through the reactor's resolver (the answers the connection will use): any
        non-public address refuses the request, as it is not this site's own origin."""
        addresses = await maybe_deferred_to_future(guard.resolve_addresses(origin.host, origin.port))
        reason = guard.connect_refusal(origin.host, origin.port, addresses, allowed=())
        if reason is not None:
            self._refuse(request, reason)
        return None

    def _strip_site_headers(self, request: Request) -> None:
        for name in self.site_headers:
            if request.headers.pop(name, None) is not None:
                self.stats.inc_value("nianbao/guard/headers_stripped")

    def _refuse(self, request: Request, reason: str) -> None:
        self.stats.inc_value("nianbao/guard/refused")
        logger.warning("%s: %s", reason, request.url)
        raise guard.RefusedRequest(reason)

    # --- connect-time refusals ----------------------------------------------------------

    def process_exception(self, request: Request, exception: BaseException) -> None:
        if not isinstance(exception, (DNSLookupError, CannotResolveHostError)):
            return None
        origin = guard.origin_of(request.url)
        if origin is None:
            return None
        reason = guard.resolver_refusal(origin.host, origin.port)
        if reason is not None:
            self.stats.inc_value("nianbao/guard/refused")
            raise guard.RefusedRequest(reason)
        return None
