"""The scheduler's writes and reads of the archive: its events and APScheduler's job rows.

``scheduler.py`` decides what happened; these functions only record it. Every function takes a
session and leaves the transaction to the caller (``with sessions() as s, s.begin(): ...``).

APScheduler's ``SQLAlchemyJobStore`` owns the job table (:data:`JOBSTORE_TABLE`); the two
columns the scheduler needs on start (a job's id and its stored next run time) are described
here so nothing else spells the table out.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Float, MetaData, Table, Unicode, delete, func, select
from sqlalchemy.orm import Session

from storage.errors import storage_errors
from storage.models import SchedulerEvent

__all__ = [
    "JOBSTORE_TABLE",
    "delete_job",
    "latest_events",
    "record_scheduler_event",
    "stored_next_run_times",
]

JOBSTORE_TABLE = "apscheduler_jobs"

# Only the columns read or matched here; APScheduler creates and owns the full table.
_jobs = Table(JOBSTORE_TABLE, MetaData(), Column("id", Unicode(191)), Column("next_run_time", Float(25)))


@storage_errors
def record_scheduler_event(
    session: Session,
    *,
    job_id: str,
    site_key: str | None,
    event: str,
    scheduled_for: datetime | None = None,
    detail: str | None = None,
) -> SchedulerEvent:
    """Add one ``scheduler_events`` row (finished, failed, skipped, interrupted, timeout,
    missed or error) to the caller's transaction."""
    row = SchedulerEvent(job_id=job_id, site_key=site_key, event=event, scheduled_for=scheduled_for,
                         detail=detail, created_at=datetime.now(UTC))
    session.add(row)
    return row


@storage_errors
def stored_next_run_times(session: Session) -> dict[str, datetime]:
    """``{job id: next run time}`` as a previous scheduler stored them (paused jobs, with no
    next run time, left out). Raises when APScheduler has not created its table yet."""
    rows = session.execute(select(_jobs.c.id, _jobs.c.next_run_time)).all()
    return {row.id: datetime.fromtimestamp(row.next_run_time, UTC) for row in rows if row.next_run_time is not None}


@storage_errors
def delete_job(session: Session, job_id: str) -> None:
    """Remove a job's row from APScheduler's table (its site is no longer configured)."""
    session.execute(delete(_jobs).where(_jobs.c.id == job_id))


@storage_errors
def latest_events(session: Session, site_keys: list[str]) -> dict[str, SchedulerEvent]:
    """Each site's newest scheduler event (a missed slot, a skipped or failed crawl …), for the
    sites that have one."""
    newest = (
        select(SchedulerEvent.site_key, func.max(SchedulerEvent.id).label("id"))
        .where(SchedulerEvent.site_key.in_(site_keys))
        .group_by(SchedulerEvent.site_key)
        .subquery()
    )
    rows = session.scalars(select(SchedulerEvent).join(newest, newest.c.id == SchedulerEvent.id)).all()
    return {row.site_key: row for row in rows if row.site_key is not None}
