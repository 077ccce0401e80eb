"""What the watch pages read: alerts (filtered, newest first) and the feeds' new reports,
new versions and alert events.

Every filter from a request reaches SQL as a bound parameter; the region filter is a substring
match with LIKE wildcards escaped (as the search's region filter), so ``福建省`` covers every
site of the province and ``%`` matches only a literal percent sign.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from crawler.i18n import gettext as _
from storage.models import Alert, Document, Site, Version
from web.schemas import AlertOut, AlertsOut

__all__ = [
    "ALERT_STATE_CHOICES",
    "AlertFilters",
    "FeedScope",
    "ReportEntry",
    "alert_events",
    "alerts_view",
    "kind_label",
    "new_reports",
    "new_versions",
    "site_exists",
    "state_label",
]

# What ?state= may ask for: one state of storage.models.ALERT_STATES, or all of them.
ALERT_STATE_CHOICES = ("open", "resolved", "notice", "all")
# report_changed / report_checks keys end in ":docN:vM" (alerts.monitor): the version concerned.
_VERSION_IN_KEY = re.compile(r":doc\d+:v(\d+)$")


def kind_label(kind: str) -> str:
    """An alert kind in the current language (the kind itself for one this code does not know)."""
    labels = {
        "report_missing": _("Missing report"),
        "report_late": _("Late report"),
        "site_unreachable": _("Site unreachable"),
        "listing_broken": _("Report column broken"),
        "report_changed": _("Report changed after publication"),
        "report_removed": _("Report removed from its site"),
        "report_checks": _("Report tables do not add up"),
    }
    return labels.get(kind, kind)


def state_label(state: str) -> str:
    labels = {"open": _("open"), "resolved": _("resolved"), "notice": _("notice"), "all": _("all states")}
    return labels.get(state, state)


@dataclass(frozen=True)
class FeedScope:
    """Which sites a list or feed covers: one site key, sites whose region contains a name, or all."""

    site: str | None = None
    region: str | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.site:
            found.append(Site.key == self.site)
        if self.region:
            found.append(Site.region.contains(self.region, autoescape=True))
        return found


@dataclass(frozen=True)
class AlertFilters:
    state: str = "open"
    kind: str | None = None
    scope: FeedScope = FeedScope()

    def clauses(self) -> list[ColumnElement[bool]]:
        found = self.scope.clauses()
        if self.state != "all":
            found.append(Alert.state == self.state)
        if self.kind:
            found.append(Alert.kind == self.kind)
        return found


def _last_event(alert: Alert) -> datetime:
    return alert.resolved_at or alert.opened_at


# Newest first by the alert's latest event: resolved when it was resolved, else opened (a
# reopened alert has no resolved_at again, see storage.outbox.raise_alert).
_NEWEST_FIRST = (func.coalesce(Alert.resolved_at, Alert.opened_at).desc(), Alert.id.desc())


def _alert_out(alert: Alert) -> AlertOut:
    report_path = diff_path = None
    if alert.document_id is not None:
        report_path = f"/reports/{alert.document_id}"
        version = _VERSION_IN_KEY.search(alert.key)
        if version and alert.kind == "report_changed" and int(version.group(1)) > 1:
            number = int(version.group(1))
            diff_path = f"/reports/{alert.document_id}/diff?old={number - 1}&new={number}"
        elif version:
            report_path += f"?version={version.group(1)}"
    return AlertOut(
        id=alert.id, key=alert.key, kind=alert.kind, kind_label=kind_label(alert.kind), state=alert.state,
        state_label=state_label(alert.state), site=alert.site.key, site_name=alert.site.name,
        region=alert.site.region, report_year=alert.report_year, document_id=alert.document_id,
        title=alert.title, message=alert.message, resolution=alert.resolution,
        opened_at=alert.opened_at.isoformat(timespec="seconds"),
        last_notified_at=alert.last_notified_at.isoformat(timespec="seconds") if alert.last_notified_at else None,
        resolved_at=alert.resolved_at.isoformat(timespec="seconds") if alert.resolved_at else None,
        updated_at=_last_event(alert).isoformat(timespec="seconds"),
        report_path=report_path, diff_path=diff_path,
    )


def _alerts(filters: AlertFilters) -> Select[Alert]:
    return select(Alert).join(Site, Site.id == Alert.site_id).where(*filters.clauses())


def alerts_view(session: Session, filters: AlertFilters, page: int, per_page: int) -> AlertsOut:
    """One page of the alerts matching ``filters``, newest first, with how many match in all."""
    total = session.scalar(
        select(func.count()).select_from(Alert).join(Site, Site.id == Alert.site_id).where(*filters.clauses())
    ) or 0
    rows = session.scalars(_alerts(filters).order_by(*_NEWEST_FIRST).limit(per_page).offset((page - 1) * per_page)).all()
    return AlertsOut(
        state=filters.state, kind=filters.kind, site=filters.scope.site, region=filters.scope.region,
        page=page, per_page=per_page, total=total, has_more=page * per_page < total,
        alerts=[_alert_out(alert) for alert in rows],
    )


def alert_events(session: Session, scope: FeedScope, limit: int) -> list[AlertOut]:
    """The ``limit`` alerts (every state) with the latest events, newest first, for the feed."""
    rows = session.scalars(_alerts(AlertFilters(state="all", scope=scope)).order_by(*_NEWEST_FIRST).limit(limit)).all()
    return [_alert_out(alert) for alert in rows]


@dataclass(frozen=True)
class ReportEntry:
    """A report (or one new version of it) as a feed entry shows it: plain archived text only."""

    document_id: int
    version: int
    title: str | None
    site: str
    site_name: str
    region: str
    report_year: int | None
    pub_date: str | None
    archived_at: datetime


def new_reports(session: Session, scope: FeedScope, limit: int) -> list[ReportEntry]:
    """The ``limit`` documents first archived most recently."""
    rows = session.execute(
        select(Document, Site).join(Site, Site.id == Document.site_id).where(*scope.clauses())
        .order_by(Document.first_seen_at.desc(), Document.id.desc()).limit(limit)
    ).all()
    return [_entry(document, site, 1, document.title, document.first_seen_at) for document, site in rows]


def new_versions(session: Session, scope: FeedScope, limit: int) -> list[ReportEntry]:
    """The ``limit`` most recent new versions of documents archived before (version 2 on)."""
    rows = session.execute(
        select(Version, Document, Site).join(Document, Document.id == Version.document_id)
        .join(Site, Site.id == Document.site_id).where(Version.number > 1, *scope.clauses())
        .order_by(Version.first_seen_at.desc(), Version.id.desc()).limit(limit)
    ).all()
    return [_entry(document, site, version.number, version.title or document.title, version.first_seen_at)
            for version, document, site in rows]


def _entry(document: Document, site: Site, version: int, title: str | None, at: datetime) -> ReportEntry:
    return ReportEntry(document_id=document.id, version=version, title=title, site=site.key, site_name=site.name,
                       region=site.region, report_year=document.report_year, pub_date=document.pub_date,
                       archived_at=at)


def site_exists(session: Session, key: str) -> bool:
    return session.scalar(select(Site.id).where(Site.key == key)) is not None

