"""The nightly scheduler: one long-lived APScheduler 3.x process that crawls every site.

Run it as ``nianbao scheduler`` or ``python scheduler.py [--db URL] [--sites FILE]``.

- A ``BlockingScheduler`` with its jobs in a ``SQLAlchemyJobStore`` in the archive database
  (table ``apscheduler_jobs``), time zone Asia/Shanghai.
- One job per site, id ``crawl:<site key>``, every night at 02:00 unless the site sets
  ``cron = "M H DOM MON DOW"`` (region groups and ``[defaults]`` can too). Jobs are added with
  ``replace_existing=True``, ``coalesce=True``, ``max_instances=1`` and a misfire grace of
  hours; jobs of sites no longer configured are removed.
- A restart keeps a run that was missed while the scheduler was down: APScheduler's
  ``replace_existing`` would recompute the next run from now and drop it, so the stored
  next run time is carried over when it is in the past, and the job runs once (coalesced) if
  it is within the misfire grace -- or is recorded as missed.
- Each crawl runs ``python -m crawler … crawl SITE -q`` in a child process (Twisted's reactor
  cannot be restarted, and a fresh process bounds memory) with a wall-time limit: after it the
  child gets SIGINT (the run is closed as interrupted), then SIGKILL. The crawl takes the
  site's lease (:mod:`storage.leases`), so a second scheduler or a manual crawl at the same time
  makes one of them skip the site instead of crawling it twice. The job's outcome comes from
  the child's exit status alone (:class:`crawler.errors.ExitStatus`), never from its output.
- After each crawl the monitor runs for that site (:func:`alerts.monitor.run_monitor`) and the
  alert outbox is delivered (:func:`alerts.delivery.send_pending`).
- Every job's outcome -- finished, failed, skipped, interrupted, timeout, missed, error -- is
  logged and recorded in ``scheduler_events`` (interrupted: the child was stopped by a SIGINT or
  SIGTERM that did not come from the wall-time limit, e.g. the scheduler itself being stopped)
  through :mod:`storage.scheduling`, which holds every write this process makes.
- On start the scheduler closes as ``abandoned`` every crawl run a dead process left
  ``running`` (:func:`storage.leases.close_abandoned_runs`); each crawl start does too.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crawler.errors import ExitStatus
from storage.scheduling import (
    JOBSTORE_TABLE,
    delete_job,
    record_scheduler_event,
    stored_next_run_times,
)
from storage.settings import environment_value

__all__ = [
    "DEFAULT_CRON",
    "SchedulerOptions",
    "build_scheduler",
    "crawl_site",
    "job_id",
    "main",
]

log = logging.getLogger("nianbao.scheduler")

DEFAULT_CRON = "0 2 * * *"
TIMEZONE = "Asia/Shanghai"
MISFIRE_GRACE = timedelta(hours=6)
WALL_TIME = timedelta(hours=3)
# At the wall-time limit the child gets SIGINT, and this long to close its run before the
# next, harder signal.
INTERRUPT_GRACE_SECONDS = 30
JOB_PREFIX = "crawl:"


@dataclass(frozen=True)
class SchedulerOptions:
    database_url: str
    sites_file: str
    timezone: str = TIMEZONE
    misfire_grace: timedelta = MISFIRE_GRACE
    wall_time: timedelta = WALL_TIME
    # Extra arguments for the child's ``crawl`` command (e.g. ``-s DOWNLOAD_TIMEOUT=10``).
    crawl_args: tuple[str, ...] = ()
    # Run every job once at this time as well (``--run-now``), then on its schedule.
    first_run: datetime | None = None
    data_dir: str | None = None


def job_id(site_key: str) -> str:
    return f"{JOB_PREFIX}{site_key}"


_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def cron_trigger(expression: str, timezone: ZoneInfo) -> CronTrigger:
    """A trigger for a standard 5-field crontab line.

    APScheduler 3 numbers weekdays from Monday = 0, crontab from Sunday = 0 (and 7), so numeric
    weekdays are turned into names first: ``0 2 * * 1`` means Monday, as in cron.
    """
    fields = expression.split()
    if len(fields) == 5:
        fields[4] = re.sub(r"\d+", lambda m: _DAY_NAMES[int(m.group())] if int(m.group()) <= 7 else m.group(),
                           fields[4]) if not fields[4].startswith("*/") else fields[4]
    return CronTrigger.from_crontab(" ".join(fields), timezone=timezone)


# --- the job ----------------------------------------------------------------------------------


def crawl_site(
    database_url: str,
    sites_file: str,
    site_key: str,
    wall_time_seconds: float,
    crawl_args: Sequence[str] = (),
    data_dir: str | None = None,
    interrupt_grace: float = INTERRUPT_GRACE_SECONDS,
) -> str:
    """Crawl one site in a child process, then run its monitor and deliver alerts.

    Returns the outcome recorded in ``scheduler_events``: finished, failed (the crawl
    reported the site failed, or the child ended with an error), skipped (another process
    holds the site's lease), interrupted (the child exited on SIGINT/SIGTERM sent by someone
    else: its run is recorded as interrupted) or timeout.
    """
    command = [
        sys.executable, "-m", "crawler", "--db", database_url, "--sites", sites_file,
        "crawl", site_key, "-q", *crawl_args,
    ]
    env = dict(os.environ)
    if data_dir:
        env["NIANBAO_DATA_DIR"] = data_dir
    log.info("crawling %s: %s", site_key, " ".join(command))
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=str(Path(__file__).resolve().parent),
    )
    try:
        stdout, stderr = child.communicate(timeout=wall_time_seconds)
        outcome = _outcome(child.returncode)
        # Only the event's human-readable detail comes from the output: the last error line, or
        # the run's summary line ("Crawl run 5: finished").
        summary = [line for line in stdout.splitlines() if line.startswith("Crawl run")]
        detail = _last_line(stderr) or (summary[-1] if summary else _last_line(stdout))
    except subprocess.TimeoutExpired:
        _stop(child, interrupt_grace)
        outcome, detail = "timeout", f"stopped after the wall-time limit of {wall_time_seconds:g}s"
    _record(database_url, job_id(site_key), site_key, outcome, None, detail)
    log.info("%s: %s %s", site_key, outcome, detail or "")
    if outcome != "skipped":
        _monitor_and_deliver(database_url, sites_file, site_key)
    return outcome


def _stop(child: subprocess.Popen[str], grace: float) -> None:
    """SIGINT (Scrapy stops gracefully and the run is closed), again (forced), then SIGKILL."""
    for stop in (lambda: child.send_signal(signal.SIGINT), lambda: child.send_signal(signal.SIGINT), child.kill):
        stop()
        try:
            child.communicate(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
    child.communicate()


# How `nianbao crawl` exits when a signal stopped it (128 + SIGINT, 128 + SIGTERM), and how a
# child killed by one of those signals before it could handle it shows (negative).
_INTERRUPTED_STATUSES = (ExitStatus.INTERRUPTED, ExitStatus.TERMINATED, -signal.SIGINT, -signal.SIGTERM)


def _outcome(returncode: int) -> str:
    """The job's outcome from the crawl child's exit status (the contract of ``nianbao crawl``,
    :class:`crawler.errors.ExitStatus`): any status it does not declare counts as failed."""
    if returncode == ExitStatus.OK:
        return "finished"
    if returncode == ExitStatus.SKIPPED:
        return "skipped"
    if returncode in _INTERRUPTED_STATUSES:
        return "interrupted"
    return "failed"


def _last_line(text: str | None) -> str | None:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:500] if lines else None


def _record(database_url: str, job: str, site_key: str | None, event: str,
            scheduled_for: datetime | None, detail: str | None) -> None:
    from storage.db import open_archive

    try:
        sessions = open_archive(database_url)
        try:
            with sessions() as session, session.begin():
                record_scheduler_event(session, job_id=job, site_key=site_key, event=event,
                                       scheduled_for=scheduled_for, detail=detail)
        finally:
            sessions.kw["bind"].dispose()  # a scheduler runs for months: no idle pools left behind
    except Exception:
        log.exception("could not record the %s event of %s", event, job)


def _monitor_and_deliver(database_url: str, sites_file: str, site_key: str) -> None:
    from alerts.delivery import send_pending
    from alerts.monitor import run_monitor
    from alerts.settings import load_alert_settings
    from storage.db import open_archive

    try:
        settings = load_alert_settings(sites_file)
        sessions = open_archive(database_url)
        try:
            with sessions() as session, session.begin():
                result = run_monitor(session, [site_key], repeat_interval=settings.repeat_interval)
            log.info("monitor %s: %d alert message(s) queued", site_key, len(result.queued))
            report = send_pending(sessions, settings)
        finally:
            sessions.kw["bind"].dispose()
        if report.sent or report.retrying or report.failed:
            log.info("alerts: %d sent, %d to retry, %d failed", len(report.sent), len(report.retrying),
                     len(report.failed))
    except Exception:
        log.exception("monitor of %s failed", site_key)
        _record(database_url, job_id(site_key), site_key, "error", None, "monitor failed; see the log")


# --- the scheduler ----------------------------------------------------------------------------


def build_scheduler(options: SchedulerOptions, *, blocking: bool = True) -> BaseScheduler:
    """A scheduler with one job per configured site (``blocking=False`` for embedding/tests)."""
    from crawler.config import load_sites
    from storage.db import create_archive_engine

    sites = load_sites(options.sites_file)
    _close_abandoned_runs(options.database_url)  # migrates first: scheduler_events must exist
    timezone = ZoneInfo(options.timezone)
    engine = create_archive_engine(options.database_url)
    grace = int(options.misfire_grace.total_seconds())
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
        timezone=timezone,
    )
    stored = _stored_next_run_times(engine)
    configured = {job_id(site.key) for site in sites}
    for jid in stored:
        if jid.startswith(JOB_PREFIX) and jid not in configured:
            _delete_job_row(engine, jid)  # the site is no longer configured
    now = datetime.now(timezone)
    for site in sites:
        jid = job_id(site.key)
        trigger = cron_trigger(site.cron or DEFAULT_CRON, timezone)
        extra = {}
        if options.first_run is not None:
            extra["next_run_time"] = options.first_run
        elif jid in stored and stored[jid] < now:
            # Missed while we were down: keep it, APScheduler runs it once or reports it missed.
            extra["next_run_time"] = stored[jid]
        scheduler.add_job(
            "scheduler:crawl_site", trigger, id=jid, name=f"crawl {site.key}",
            kwargs={
                "database_url": options.database_url,
                "sites_file": str(Path(options.sites_file).resolve()),
                "site_key": site.key,
                "wall_time_seconds": options.wall_time.total_seconds(),
                "crawl_args": list(options.crawl_args),
                "data_dir": options.data_dir,
            },
            replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=grace,
            **extra,
        )
    def on_event(event: JobExecutionEvent) -> None:
        site_key = event.job_id[len(JOB_PREFIX):] if event.job_id.startswith(JOB_PREFIX) else None
        if event.code == EVENT_JOB_MISSED:
            log.warning("missed %s scheduled for %s", event.job_id, event.scheduled_run_time)
            _record(options.database_url, event.job_id, site_key, "missed", event.scheduled_run_time,
                    "the scheduler was not running within the misfire grace time")
        else:
            log.error("job %s raised %r", event.job_id, event.exception)
            _record(options.database_url, event.job_id, site_key, "error", event.scheduled_run_time,
                    f"{type(event.exception).__name__}: {event.exception}")

    scheduler.add_listener(on_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    return scheduler


def _close_abandoned_runs(database_url: str) -> None:
    """Open (and migrate) the archive and close the runs dead processes left running."""
    from storage.db import open_archive
    from storage.leases import close_abandoned_runs

    sessions = open_archive(database_url)
    try:
        closed = close_abandoned_runs(sessions)
    finally:
        sessions.kw["bind"].dispose()
    if closed:
        log.warning("closed crawl run(s) %s as abandoned: their process died",
                    ", ".join(str(run_id) for run_id in closed))


def _stored_next_run_times(engine: Engine) -> dict[str, datetime]:
    """``{job id: next run time}`` as stored by a previous scheduler (empty on first start)."""
    try:
        with Session(engine) as session:
            return stored_next_run_times(session)
    except Exception:
        return {}


def main(argv: Sequence[str] | None = None) -> None:
    """``python scheduler.py``: run the nightly scheduler until Ctrl-C."""
    from storage import paths

    parser = argparse.ArgumentParser(prog="scheduler.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="archive database URL (default: $NIANBAO_DATABASE_URL or the data folder)")
    parser.add_argument("--sites", default=environment_value("NIANBAO_SITES") or "sites.toml", help="sites file")
    parser.add_argument("--run-now", action="store_true", help="also crawl every site once right away")
    parser.add_argument("--wall-time", type=float, default=WALL_TIME.total_seconds() / 60,
                        help="minutes a crawl may take (default: %(default)s)")
    args = parser.parse_args(argv)
    run(SchedulerOptions(
        database_url=paths.database_url(args.db),
        sites_file=args.sites,
        wall_time=timedelta(minutes=args.wall_time),
        first_run=datetime.now(ZoneInfo(TIMEZONE)) if args.run_now else None,
    ))


def run(options: SchedulerOptions) -> None:
    """Build the blocking scheduler and run it until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    scheduler = build_scheduler(options, blocking=True)
    log.info("scheduler started: %d site job(s), time zone %s", len(scheduler.get_jobs()), options.timezone)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    # Let jobs still running (a site's monitor and alert delivery) finish here, before the
    # interpreter's shutdown begins: the process would wait for them anyway, but by then
    # concurrent.futures refuses new work, and apprise sends through a thread pool -- every
    # later delivery of such a job would fail. A second Ctrl-C stops waiting.
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        if scheduler.running:
            scheduler.shutdown(wait=True)


def _delete_job_row(engine: Engine, jid: str) -> None:
    with Session(engine) as session, session.begin():
        delete_job(session, jid)
    log.info("removed job %s: its site is no longer configured", jid)


if __name__ == "__main__":
    main()
