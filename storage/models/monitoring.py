"""Monitoring tables: crawl leases, crawl health, alerts and their outbox, scheduler events.

- :class:`CrawlLease` -- one row per site while a process crawls it; a second scheduler or a
  manual crawl of the same site finds the row and skips the site. Leases expire, so a killed
  process blocks nobody for long.
- :class:`CrawlHealth` -- what the monitor concluded about one site's part of a run (ok,
  unreachable, broken), with the figures it used; the newest row is the site's state.
- :class:`Alert` -- one row per alert key (kind, site, report year or document): opened once,
  repeated after its interval, resolved once.
- :class:`AlertOutbox` -- one message to deliver, written in the same transaction that detected
  it; the sender records attempts and the result on the row.
- :class:`SchedulerEvent` -- what the scheduler did with a job: ran, failed, missed, skipped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, IdType, check_in, utcnow
from storage.models.core import Site

__all__ = [
    "ALERT_KINDS",
    "ALERT_STATES",
    "HEALTH_STATES",
    "OUTBOX_EVENTS",
    "OUTBOX_STATUSES",
    "Alert",
    "AlertOutbox",
    "CrawlHealth",
    "CrawlLease",
    "SchedulerEvent",
]

HEALTH_STATES = ("ok", "unreachable", "broken")
ALERT_KINDS = (
    "report_missing",
    "report_late",
    "site_unreachable",
    "listing_broken",
    "report_changed",
    "report_removed",
    # One-off notice: a report's statistics tables fail their checks or are incomplete.
    "report_checks",
)
# open: the condition holds; resolved: it stopped holding (announced once); notice: a one-off
# message (late, changed) that never repeats nor resolves.
ALERT_STATES = ("open", "resolved", "notice")
OUTBOX_EVENTS = ("opened", "repeated", "resolved", "notice", "test")
OUTBOX_STATUSES = ("pending", "sent", "failed")


class CrawlLease(Base):
    """A site being crawled right now by ``holder`` until ``expires_at``."""

    __tablename__ = "crawl_leases"

    site_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(Text)
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<CrawlLease {self.site_key!r} {self.holder!r}>"


class CrawlHealth(Base):
    """The monitor's verdict on one site crawl."""

    __tablename__ = "crawl_health"
    __table_args__ = (CheckConstraint(check_in("state", HEALTH_STATES), name="state"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    site_crawl_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("site_crawls.id", ondelete="CASCADE"), unique=True
    )
    site_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int] = mapped_column(IdType, ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    reports_found: Mapped[int] = mapped_column(Integer, default=0)
    reports_without_metadata: Mapped[int] = mapped_column(Integer, default=0)
    errors_by_reason: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship()

    def __repr__(self) -> str:
        return f"<CrawlHealth site={self.site_id} run={self.run_id} {self.state}>"


class Alert(Base):
    """One alert, unique by ``key`` = kind:site[:year|:document...]."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(check_in("kind", ALERT_KINDS), name="kind"),
        CheckConstraint(check_in("state", ALERT_STATES), name="state"),
        Index("ix_alerts_state_kind", "state", "kind"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    report_year: Mapped[int | None] = mapped_column(Integer)
    document_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("documents.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(String(16), default="open")
    title: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_notified_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)

    site: Mapped[Site] = relationship()

    def __repr__(self) -> str:
        return f"<Alert {self.id} {self.key!r} {self.state}>"


class AlertOutbox(Base):
    """One message about an alert, waiting for (or done with) delivery."""

    __tablename__ = "alert_outbox"
    __table_args__ = (
        CheckConstraint(check_in("event", OUTBOX_EVENTS), name="event"),
        CheckConstraint(check_in("status", OUTBOX_STATUSES), name="status"),
        Index("ix_alert_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("alerts.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(16))
    # Receivers deduplicate on this: the same message retried keeps its key.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Digests of the targets that already accepted this message: a retry skips them.
    delivered_to: Mapped[list[str]] = mapped_column(default=list)
    # The sender delivering the message right now (alerts.delivery claims it with one
    # conditional UPDATE); the claim lapses at claimed_until, so a crashed sender's is taken over.
    claim_token: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]

    alert: Mapped[Alert | None] = relationship()

    def __repr__(self) -> str:
        return f"<AlertOutbox {self.id} {self.event} {self.status}>"


class SchedulerEvent(Base):
    """One thing the scheduler did or failed to do with a site's job."""

    __tablename__ = "scheduler_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(191), index=True)
    site_key: Mapped[str | None] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(16))  # finished | failed | missed | skipped | error
    scheduled_for: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<SchedulerEvent {self.job_id!r} {self.event}>"
