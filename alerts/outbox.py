"""Alerts and their outbox: open once, repeat after an interval, resolve once.

An alert is identified by its key: ``kind:site`` plus the report year or document it is about
(:func:`alert_key`). Detection calls :func:`raise_alert` for a condition that holds,
:func:`resolve_alert` for one that stopped holding, and :func:`notice` for one-off news
(a late report, a changed report). Each writes its message to the outbox in the caller's
transaction -- the same one that detected the condition -- so a message is queued if and only
if the detection was committed. :mod:`alerts.delivery` sends the queue.

- a new condition: the alert opens and one ``opened`` message is queued;
- the condition still holds: nothing, until ``repeat_interval`` (default 7 days) has passed
  since the last message: then one ``repeated`` message;
- the condition is gone: the alert resolves and one ``resolved`` message is queued; a later
  recurrence opens it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Site, utcnow
from storage.models_monitoring import Alert, AlertOutbox

__all__ = [
    "DEFAULT_REPEAT_INTERVAL",
    "Finding",
    "alert_key",
    "notice",
    "open_alerts",
    "raise_alert",
    "resolve_alert",
]

DEFAULT_REPEAT_INTERVAL = timedelta(days=7)
# Alerts about one document rather than a report year.
DOCUMENT_KINDS = ("report_changed", "report_removed", "report_checks")

_HEADLINES = {
    "report_missing": "Report missing",
    "report_late": "Report published late",
    "site_unreachable": "Site unreachable",
    "listing_broken": "Listing broken",
    "report_changed": "Report changed after publication",
    "report_removed": "Report removed",
    "report_checks": "Report tables do not add up",
}


def alert_key(kind: str, site_key: str, *, report_year: int | None = None, document_id: int | None = None,
              extra: str | None = None) -> str:
    """``kind:site[:year][:docN][:extra]`` -- the alert's identity."""
    parts = [kind, site_key]
    if report_year is not None:
        parts.append(str(report_year))
    if document_id is not None:
        parts.append(f"doc{document_id}")
    if extra:
        parts.append(extra)
    return ":".join(parts)


@dataclass(frozen=True)
class Finding:
    """A condition the monitor observed about a site."""

    kind: str
    site: Site
    message: str
    report_year: int | None = None
    document_id: int | None = None
    extra: str | None = None

    @property
    def key(self) -> str:
        """Year-keyed for report years (missing, late), document-keyed for one document."""
        if self.kind in DOCUMENT_KINDS:
            return alert_key(self.kind, self.site.key, document_id=self.document_id, extra=self.extra)
        return alert_key(self.kind, self.site.key, report_year=self.report_year, extra=self.extra)

    @property
    def title(self) -> str:
        what = f" {self.report_year}" if self.report_year is not None else ""
        return f"{_HEADLINES[self.kind]}: {self.site.name} ({self.site.key}){what}"


def _get(session: Session, key: str) -> Alert | None:
    return session.scalars(select(Alert).where(Alert.key == key)).one_or_none()


def raise_alert(session: Session, finding: Finding, *, now: datetime | None = None,
                repeat_interval: timedelta = DEFAULT_REPEAT_INTERVAL) -> AlertOutbox | None:
    """The condition holds: open the alert, or repeat it when the interval has passed."""
    now = now or utcnow()
    alert = _get(session, finding.key)
    if alert is None:
        alert = Alert(key=finding.key, kind=finding.kind, site_id=finding.site.id,
                      report_year=finding.report_year, document_id=finding.document_id,
                      state="open", title=finding.title, message=finding.message, opened_at=now)
        session.add(alert)
        session.flush()
        return _queue(session, alert, "opened", finding.site, now)
    alert.message = finding.message
    if alert.state != "open":  # resolved before: it happened again
        alert.state, alert.opened_at, alert.resolved_at, alert.resolution = "open", now, None, None
        return _queue(session, alert, "opened", finding.site, now)
    if alert.last_notified_at is None or now - alert.last_notified_at >= repeat_interval:
        return _queue(session, alert, "repeated", finding.site, now)
    return None


def resolve_alert(session: Session, key: str, site: Site, resolution: str, *,
                  now: datetime | None = None, title: str | None = None) -> AlertOutbox | None:
    """The condition is gone: resolve the open alert with this key (if any), announce it once."""
    now = now or utcnow()
    alert = _get(session, key)
    if alert is None or alert.state != "open":
        return None
    alert.state, alert.resolved_at, alert.resolution = "resolved", now, resolution
    return _queue(session, alert, "resolved", site, now, title=title)


def notice(session: Session, finding: Finding, *, now: datetime | None = None,
           queue: bool = True) -> AlertOutbox | None:
    """One-off news (late, changed): recorded once per key; queued unless ``queue`` is False."""
    now = now or utcnow()
    if _get(session, finding.key) is not None:
        return None
    alert = Alert(key=finding.key, kind=finding.kind, site_id=finding.site.id,
                  report_year=finding.report_year, document_id=finding.document_id,
                  state="notice", title=finding.title, message=finding.message, opened_at=now)
    session.add(alert)
    session.flush()
    if not queue:
        return None
    return _queue(session, alert, "notice", finding.site, now)


def open_alerts(session: Session, site_id: int, kind: str) -> list[Alert]:
    return list(session.scalars(
        select(Alert).where(Alert.site_id == site_id, Alert.kind == kind, Alert.state == "open")
    ).all())


def _queue(session: Session, alert: Alert, event: str, site: Site, now: datetime,
           title: str | None = None) -> AlertOutbox:
    sequence = session.scalar(
        select(func.count()).select_from(AlertOutbox).where(AlertOutbox.alert_id == alert.id)
    ) or 0
    idempotency_key = f"nianbao:{alert.key}:{sequence + 1}"
    subject = title or {
        "opened": alert.title,
        "repeated": f"Still open: {alert.title}",
        "resolved": f"Resolved: {alert.title}",
        "notice": alert.title,
    }[event]
    body = alert.resolution if event == "resolved" and alert.resolution else alert.message
    payload: dict[str, Any] = {
        "idempotency_key": idempotency_key,
        "event": event,
        "kind": alert.kind,
        "alert_key": alert.key,
        "site": site.key,
        "site_name": site.name,
        "region": site.region,
        "report_year": alert.report_year,
        "document_id": alert.document_id,
        "subject": subject,
        "message": body,
        "opened_at": alert.opened_at.isoformat(),
        "at": now.isoformat(),
    }
    row = AlertOutbox(alert_id=alert.id, event=event, idempotency_key=idempotency_key,
                      subject=subject, body=body, payload=payload, status="pending",
                      attempts=0, created_at=now, next_attempt_at=now, delivered_to=[])
    session.add(row)
    alert.last_notified_at = now
    session.flush()
    return row
