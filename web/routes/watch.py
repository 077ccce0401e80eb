"""Watch: the alerts page, its API twin, and Atom feeds a monitor subscribes to.

- ``/alerts`` and ``/api/alerts``: alerts filtered by state (open by default, resolved, notice,
  all), kind, site key and region; newest first, paginated, with how many match.
- ``/feeds/reports.atom`` (new reports), ``/feeds/changes.atom`` (new versions of reports
  archived before) and ``/feeds/alerts.atom`` (alerts opened or resolved), each for everything,
  ``?site=KEY`` or ``?region=NAME``.

Feeds are built by feedgen (lxml underneath), so archived titles are escaped XML text; entries
carry plain-text summaries only, never markup from the archive. Entry ids are tag: URIs made of
the app's host name and the row's id, so they stay the same from one request to the next; links
are absolute, from ``NIANBAO_PUBLIC_URL`` when set, else the request's base URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from feedgen.feed import FeedGenerator

from crawler import i18n
from crawler.i18n import gettext as _
from storage.models import ALERT_KINDS
from storage.settings import environment_value
from web.deps import Db, Templates
from web.queries_watch import (
    ALERT_STATE_CHOICES,
    AlertFilters,
    FeedScope,
    ReportEntry,
    alert_events,
    alerts_view,
    kind_label,
    new_reports,
    new_versions,
    site_exists,
    state_label,
)
from web.schemas import AlertOut, AlertsOut
from web.settings import WebSettings

__all__ = ["FEED_ENTRIES", "router"]

router = APIRouter()

FEED_ENTRIES = 50  # newest entries per feed: a subscriber polls often, history lives on the pages
ATOM_TYPE = "application/atom+xml"
# Tag URIs (RFC 4151) need a date on which the authority named the things: the feeds' first year.
TAG_DATE = "2026"
# Characters XML 1.0 cannot carry at all (lxml refuses them): archived text may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

StateChoice = Annotated[str, Query(pattern="^(" + "|".join(ALERT_STATE_CHOICES) + ")$",
                                   description="open (default), resolved, notice or all")]
KindChoice = Annotated[str, Query(pattern="^(|" + "|".join(ALERT_KINDS) + ")$",
                                  description="an alert kind; empty for every kind")]
SiteKey = Annotated[str, Query(max_length=64, description="a site key")]
RegionName = Annotated[str, Query(max_length=100, description="sites whose region contains this name")]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]
PerPage = Annotated[int | None, Query(ge=1, le=100, description="rows per page (default: the app's page size)")]


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def _feed_size(request: Request) -> int:
    return max(1, min(FEED_ENTRIES, _settings(request).row_cap))


def _filters(state: str, kind: str, site: str, region: str) -> AlertFilters:
    return AlertFilters(state=state, kind=kind or None, scope=FeedScope(site=site.strip() or None,
                                                                        region=region.strip() or None))


# --- alerts -----------------------------------------------------------------------------------


@router.get("/api/alerts", response_model=AlertsOut, tags=["api"])
def api_alerts(request: Request, db: Db, state: StateChoice = "open", kind: KindChoice = "", site: SiteKey = "",
               region: RegionName = "", page: PageNumber = 1, per_page: PerPage = None) -> AlertsOut:
    """Alerts by state (open by default, resolved, notice, all), kind, site and region; newest first."""
    return alerts_view(db, _filters(state, kind, site, region), page, _settings(request).per_page(per_page))


@router.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
def alerts_page(request: Request, db: Db, templates: Templates, state: StateChoice = "open", kind: KindChoice = "",
                site: SiteKey = "", region: RegionName = "", page: PageNumber = 1,
                per_page: PerPage = None) -> HTMLResponse:
    filters = _filters(state, kind, site, region)
    result = alerts_view(db, filters, page, _settings(request).per_page(per_page))
    scope = _scope_query(filters.scope)
    return templates.TemplateResponse(request, "alerts.html", {
        "result": result, "states": [(s, state_label(s)) for s in ALERT_STATE_CHOICES],
        "kinds": [(k, kind_label(k)) for k in ALERT_KINDS],
        "feeds": _feed_links(scope), "query_string": request.url.query,
    })


def _scope_query(scope: FeedScope) -> str:
    """``?site=…`` / ``?region=…`` of a scope ('' for everything), for the feed links."""
    pairs = [(name, value) for name, value in (("site", scope.site), ("region", scope.region)) if value]
    return "?" + urlencode(pairs) if pairs else ""


def _feed_links(scope_query: str) -> list[tuple[str, str]]:
    return [
        (_("New reports"), f"/feeds/reports.atom{scope_query}"),
        (_("Changed reports"), f"/feeds/changes.atom{scope_query}"),
        (_("Alerts"), f"/feeds/alerts.atom{scope_query}"),
    ]


# --- feeds ------------------------------------------------------------------------------------


def _base_url(request: Request) -> str:
    """Where this app is reached: NIANBAO_PUBLIC_URL when set (behind a proxy), else the request's."""
    return (environment_value("NIANBAO_PUBLIC_URL") or str(request.base_url)).rstrip("/")


def _tag(base_url: str, specific: str) -> str:
    """A tag: URI for ``specific`` under this app's host name (stable while the host is)."""
    host = urlsplit(base_url).hostname or "localhost"
    return f"tag:{host},{TAG_DATE}:{specific}"


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _scope_tag(scope: FeedScope) -> str:
    if scope.site:
        return f"/site/{quote(scope.site, safe='')}"
    if scope.region:
        return f"/region/{quote(scope.region, safe='')}"
    return ""


def _scope_title(scope: FeedScope) -> str:
    if scope.site:
        return " · " + _("site %(site)s", site=scope.site)
    if scope.region:
        return " · " + _("region %(region)s", region=scope.region)
    return ""


def _scope_or_404(db: Db, site: str, region: str) -> FeedScope:
    scope = FeedScope(site=site.strip() or None, region=region.strip() or None)
    if scope.site and not site_exists(db, scope.site):
        # A subscriber with a mistyped key should hear about it, not read an empty feed forever.
        raise HTTPException(404, _("no site with key %(site)s", site=scope.site))
    return scope


def _feed(request: Request, name: str, title: str, scope: FeedScope, updated: Sequence[datetime]) -> FeedGenerator:
    base = _base_url(request)
    feed = FeedGenerator()
    feed.id(_tag(base, f"feeds/{name}{_scope_tag(scope)}"))
    feed.title(_xml_text(title + _scope_title(scope)))
    feed.author({"name": "nianbao"})
    feed.language(i18n.HTML_LANG[i18n.current_language()])
    feed.link(href=f"{base}/feeds/{name}.atom{_scope_query(scope)}", rel="self", type=ATOM_TYPE)
    feed.link(href=f"{base}/alerts{_scope_query(scope)}", rel="alternate", type="text/html")
    # The feed changed when its newest entry did; an empty feed says "now".
    feed.updated(max(updated, default=datetime.now(UTC)).replace(microsecond=0))
    return feed


def _add_entry(feed: FeedGenerator, entry_id: str, title: str, updated: datetime, link: str, summary: str) -> None:
    entry = feed.add_entry(order="append")
    entry.id(entry_id)
    entry.title(_xml_text(title))
    entry.updated(updated.replace(microsecond=0))
    entry.link(href=link, rel="alternate", type="text/html")
    entry.summary(_xml_text(summary))  # plain text (no type="html"): markup in it stays visible text


def _atom(feed: FeedGenerator) -> Response:
    return Response(feed.atom_str(pretty=True), media_type=f"{ATOM_TYPE}; charset=utf-8")


def _report_summary(entry: ReportEntry) -> str:
    parts = [entry.site_name, entry.region]
    if entry.report_year is not None:
        parts.append(_("report year %(year)d", year=entry.report_year))
    if entry.pub_date:
        parts.append(_("published %(date)s", date=entry.pub_date))
    parts.append(_("archived %(at)s", at=entry.archived_at.isoformat(timespec="seconds")))
    return " · ".join(parts)


def _report_title(entry: ReportEntry) -> str:
    return entry.title or _("(untitled report %(id)d)", id=entry.document_id)


def _report_feed(request: Request, name: str, title: str, scope: FeedScope, entries: list[ReportEntry],
                 describe: Callable[[ReportEntry], tuple[str, str, str]]) -> Response:
    feed = _feed(request, name, title, scope, [e.archived_at for e in entries])
    base = _base_url(request)
    for entry in entries:
        specific, entry_title, path = describe(entry)
        _add_entry(feed, _tag(base, specific), entry_title, entry.archived_at, base + path, _report_summary(entry))
    return _atom(feed)


@router.get("/feeds/reports.atom", tags=["feeds"])
def reports_feed(request: Request, db: Db, site: SiteKey = "", region: RegionName = "") -> Response:
    """Atom feed of newly archived reports (newest first); ?site=KEY or ?region=NAME narrows it."""
    scope = _scope_or_404(db, site, region)

    def describe(entry: ReportEntry) -> tuple[str, str, str]:
        title = _("New report: %(title)s", title=_report_title(entry))
        return f"report/{entry.document_id}", title, f"/reports/{entry.document_id}"

    return _report_feed(request, "reports", _("nianbao: new reports"), scope,
                        new_reports(db, scope, _feed_size(request)), describe)


@router.get("/feeds/changes.atom", tags=["feeds"])
def changes_feed(request: Request, db: Db, site: SiteKey = "", region: RegionName = "") -> Response:
    """Atom feed of new versions of reports archived before, each linking to its diff."""
    scope = _scope_or_404(db, site, region)

    def describe(entry: ReportEntry) -> tuple[str, str, str]:
        title = _("Report changed (version %(number)d): %(title)s", number=entry.version, title=_report_title(entry))
        path = f"/reports/{entry.document_id}/diff?old={entry.version - 1}&new={entry.version}"
        return f"report/{entry.document_id}/version/{entry.version}", title, path

    return _report_feed(request, "changes", _("nianbao: changed reports"), scope,
                        new_versions(db, scope, _feed_size(request)), describe)


def _alert_title(alert: AlertOut) -> str:
    what = alert.site_name + (f" {alert.report_year}" if alert.report_year is not None else "")
    return f"[{alert.state_label}] {alert.kind_label}: {what}"


def _alert_summary(alert: AlertOut) -> str:
    lines = [alert.message]
    if alert.resolution:
        lines.append(_("Resolved: %(resolution)s", resolution=alert.resolution))
    return "\n".join(line for line in lines if line)


@router.get("/feeds/alerts.atom", tags=["feeds"])
def alerts_feed(request: Request, db: Db, site: SiteKey = "", region: RegionName = "") -> Response:
    """Atom feed of alerts by their latest event (opened or resolved); one entry per alert."""
    scope = _scope_or_404(db, site, region)
    alerts = alert_events(db, scope, _feed_size(request))
    updated = [datetime.fromisoformat(a.updated_at) for a in alerts]
    feed = _feed(request, "alerts", _("nianbao: alerts"), scope, updated)
    base = _base_url(request)
    for alert, at in zip(alerts, updated, strict=True):
        # An alert keeps its entry id: resolving or reopening it updates the entry.
        path = alert.diff_path or alert.report_path or f"/alerts?{urlencode({'state': 'all', 'site': alert.site})}"
        _add_entry(feed, _tag(base, f"alert/{alert.id}"), _alert_title(alert), at, base + path,
                   _alert_summary(alert))
    return _atom(feed)
