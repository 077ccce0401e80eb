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

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from storage.errors import storage_errors
from storage.models import Alert, AlertOutbox, Site, utcnow

__all__ = [
    "DEFAULT_REPEAT_INTERVAL",
    "Finding",
    "alert_key",
    "claim_message",
    "finish_message",
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
# A message's subject per event, from the alert's title. The detector may pass them in the
# reader's language (storage translates nothing: alerts.messages does).
EVENT_SUBJECTS: Mapping[str, str] = {
    "opened": "%(title)s",
    "repeated": "Still open: %(title)s",
    "resolved": "Resolved: %(title)s",
    "notice": "%(title)s",
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
    subject: str | None = None  # the title in the reader's language; default the English one

    @property
    def key(self) -> str:
        """Year-keyed for report years (missing, late), document-keyed for one document."""
        if self.kind in DOCUMENT_KINDS:
            return alert_key(self.kind, self.site.key, document_id=self.document_id, extra=self.extra)
        return alert_key(self.kind, self.site.key, report_year=self.report_year, extra=self.extra)

    @property
    def title(self) -> str:
        if self.subject:
            return self.subject
        what = f" {self.report_year}" if self.report_year is not None else ""
        return f"{_HEADLINES[self.kind]}: {self.site.name} ({self.site.key}){what}"


def _get(session: Session, key: str) -> Alert | None:
    return session.scalars(select(Alert).where(Alert.key == key)).one_or_none()


@storage_errors
def raise_alert(session: Session, finding: Finding, *, now: datetime | None = None,
                repeat_interval: timedelta = DEFAULT_REPEAT_INTERVAL,
                subjects: Mapping[str, str] = EVENT_SUBJECTS) -> AlertOutbox | None:
    """The condition holds: open the alert, or repeat it when the interval has passed."""
    now = now or utcnow()
    alert = _get(session, finding.key)
    if alert is None:
        alert = Alert(key=finding.key, kind=finding.kind, site_id=finding.site.id,
                      report_year=finding.report_year, document_id=finding.document_id,
                      state="open", title=finding.title, message=finding.message, opened_at=now)
        session.add(alert)
        session.flush()
        return _queue(session, alert, "opened", finding.site, now, subjects=subjects)
    alert.message = finding.message
    if alert.state != "open":  # resolved before: it happened again
        alert.state, alert.opened_at, alert.resolved_at, alert.resolution = "open", now, None, None
        return _queue(session, alert, "opened", finding.site, now, subjects=subjects)
    if alert.last_notified_at is None or now - alert.last_notified_at >= repeat_interval:
        return _queue(session, alert, "repeated", finding.site, now, subjects=subjects)
    return None


@storage_errors
def resolve_alert(session: Session, key: str, site: Site, resolution: str, *,
                  now: datetime | None = None, title: str | None = None,
                  subjects: Mapping[str, str] = EVENT_SUBJECTS) -> AlertOutbox | None:
    """The condition is gone: resolve the open alert with this key (if any), announce it once."""
    now = now or utcnow()
    alert = _get(session, key)
    if alert is None or alert.state != "open":
        return None
    alert.state, alert.resolved_at, alert.resolution = "resolved", now, resolution
    return _queue(session, alert, "resolved", site, now, title=title, subjects=subjects)


@storage_errors
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


@storage_errors
def open_alerts(session: Session, site_id: int, kind: str) -> list[Alert]:
    return list(session.scalars(
        select(Alert).where(Alert.site_id == site_id, Alert.kind == kind, Alert.state == "open")
    ).all())


def _queue(session: Session, alert: Alert, event: str, site: Site, now: datetime,
           title: str | None = None, subjects: Mapping[str, str] = EVENT_SUBJECTS) -> AlertOutbox:
    sequence = session.scalar(
        select(func.count()).select_from(AlertOutbox).where(AlertOutbox.alert_id == alert.id)
    ) or 0
    idempotency_key = f"nianbao:{alert.key}:{sequence + 1}"
    subject = title or subjects[event] % {"title": alert.title}
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


# --- delivery claims (alerts.delivery) -------------------------------------------------------
# A sender claims a message with one conditional UPDATE (not a row lock, which SQLite ignores):
# of two senders, only the one whose UPDATE matched delivers.


@storage_errors
def claim_message(session: Session, message_id: int, token: str, at: datetime, ttl: timedelta) -> bool:
    """Claim one pending, due, unclaimed (or lapsed) message for ``token``; True when claimed."""
    result = session.execute(
        update(AlertOutbox)
        .where(
            AlertOutbox.id == message_id,
            AlertOutbox.status == "pending",
            AlertOutbox.next_attempt_at <= at,
            or_(AlertOutbox.claim_token.is_(None), AlertOutbox.claimed_until < at),
        )
        .values(claim_token=token, claimed_until=at + ttl)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


@storage_errors
def finish_message(session: Session, message: AlertOutbox, token: str) -> bool:
    """Write a delivery's outcome and release the claim -- only while the claim is ``token``'s."""
    result = session.execute(
        update(AlertOutbox)
        .where(AlertOutbox.id == message.id, AlertOutbox.claim_token == token)
        .values(
            status=message.status, attempts=message.attempts, delivered_to=list(message.delivered_to or []),
            sent_at=message.sent_at, last_error=message.last_error, next_attempt_at=message.next_attempt_at,
            claim_token=None, claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]
