"""Redirects that end a page's fetch say why, so the page leaves a failure with its reason.

Scrapy follows HTTP 3xx (``RedirectMiddleware``) and ``<meta http-equiv="refresh">``
(``MetaRefreshMiddleware``) by handing the engine a new request. Three kinds of redirect used
to make a page vanish from the crawl record:

- **off the site**: the new request goes to a host outside the site's own hosts; Scrapy's
  ``OffsiteMiddleware`` dropped it when it was scheduled -- silently, no errback, no
  ``crawl_errors`` row;
- **a loop** (A → A, A → B → A): the URL comes back and the duplicate filter dropped it as
  already seen -- silently too;
- **too many redirects**: a chain of distinct URLs longer than ``REDIRECT_MAX_TIMES`` ended
  with ``IgnoreRequest("max redirections reached")``, which names neither the chain nor its end.

The two subclasses here refuse such a redirect where it is made, with an ``IgnoreRequest``
naming it ("redirected off the site to http://other.example/… (not followed)", "redirect
loop: … (not followed)", "too many redirects (more than 5): … (not followed)"). Raised from
``process_response``, it reaches the request's errback, and the spider records the page's
failure with that reason. Requests that may leave the site on purpose (attachments:
``dont_filter`` or ``allow_offsite``) are still followed off it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from w3lib.url import canonicalize_url

__all__ = ["MetaRefreshOutcomeMiddleware", "RedirectOutcomeMiddleware", "redirect_refusal"]

# Long URLs are shortened in reasons (the full URL is the failure's own ``url``).
_URL_LIMIT = 120


def _short(url: str) -> str:
    return url if len(url) <= _URL_LIMIT else url[: _URL_LIMIT - 1] + "…"


def _same(a: str, b: str) -> bool:
    return canonicalize_url(a, keep_fragments=False) == canonicalize_url(b, keep_fragments=False)


def on_site(url: str, domains: list[str]) -> bool:
    """The host of ``url`` is one of ``domains`` or below one (Scrapy's offsite rule)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)


def redirect_refusal(request: Request, target: str, allowed_domains: Any) -> str | None:
    """Why the redirect of ``request`` to ``target`` is not followed, or None to follow it.

    ``allowed_domains`` is the spider's (empty: any host is on the site).
    """
    chain = [*request.meta.get("redirect_urls", []), request.url]
    for index, url in enumerate(chain):
        if _same(target, url):
            hops = " → ".join(_short(hop) for hop in [*chain[index:], target])
            return f"redirect loop: {hops} (not followed)"
    domains = [d for d in (allowed_domains or ()) if d]
    offsite_allowed = request.dont_filter or request.meta.get("allow_offsite")
    if domains and not offsite_allowed and not on_site(target, domains):
        return f"redirected off the site to {_short(target)} (not followed)"
    return None


class _RedirectOutcomes:
    """Mixin over Scrapy's BaseRedirectMiddleware._redirect (shared by 3xx and meta refresh)."""

    crawler: Any
    max_redirect_times: int

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        spider = self.crawler.spider
        refusal = redirect_refusal(request, redirected.url, getattr(spider, "allowed_domains", None))
        if refusal is not None:
            kind = "loop" if refusal.startswith("redirect loop") else "offsite"
            self.crawler.stats.inc_value(f"nianbao/redirects_refused/{kind}")
            raise IgnoreRequest(refusal)
        try:
            return super()._redirect(redirected, request, reason)  # type: ignore[misc]
        except IgnoreRequest:
            self.crawler.stats.inc_value("nianbao/redirects_refused/too_many")
            first = [*request.meta.get("redirect_urls", []), request.url][0]
            raise IgnoreRequest(
                f"too many redirects (more than {self.max_redirect_times}): "
                f"{_short(first)} → … → {_short(redirected.url)} (not followed)"
            ) from None


class RedirectOutcomeMiddleware(_RedirectOutcomes, RedirectMiddleware):
    """Scrapy's RedirectMiddleware, refusing off-site redirects and loops with a reason."""


class MetaRefreshOutcomeMiddleware(_RedirectOutcomes, MetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware, refusing off-site redirects and loops with a reason."""
