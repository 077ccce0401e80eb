"""Row 9: a missed slot.

The real-world night: the scheduler's machine was down (a reboot, a deploy, a power cut) when
the nightly slot passed. Restarted within the misfire grace time, the missed crawl runs exactly
once -- not once per missed fire time, and not again at the next restart. Restarted too late,
the slot is recorded as missed (once, with the slot's time and the reason), nothing is crawled
for it, and a later restart neither crawls it nor records it twice.

Real crawls of the demo site on loopback in child processes, the scheduler's own job store in
the archive, on SQLite and PostgreSQL. The helpers are tests/test_scheduler.py's.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

import scheduler as nightly
from storage.db import open_archive
from storage.models import SchedulerEvent
from tests.crawler.capture.conftest import query
from tests.crawler.harness import RunningDemo, demo, run_nianbao  # noqa: F401  (fixture)
from tests.test_scheduler import (
    SHANGHAI,
    _events,
    _only_xian,
    _options,
    _stop_with_missed_runs,
    _wait_for,
    _xian_crawls,
)

MISSED_REASON = "the scheduler was not running within the misfire grace time"
# After the first event, long enough for a second run of the same slot to have started.
SETTLE_SECONDS = 2


def _restart_and_settle(options: nightly.SchedulerOptions, expect_events: int) -> datetime:
    """Start the scheduler as a restart does, wait for ``expect_events`` events (or, for 0, just
    the settle time), and return the job's next run time before shutting it down."""
    restarted = nightly.build_scheduler(options, blocking=False)
    restarted.start()
    try:
        if expect_events:
            _wait_for(lambda: len(_events(options.database_url)) >= expect_events, timeout=120)
        time.sleep(SETTLE_SECONDS)
        return restarted.get_job("crawl:demo-xian").next_run_time
    finally:
        restarted.shutdown()


def _scheduler_events(database_url: str) -> list[SchedulerEvent]:
    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            return list(session.scalars(select(SchedulerEvent).order_by(SchedulerEvent.id)))
    finally:
        sessions.kw["bind"].dispose()


def _stored_next_run(database_url: str) -> datetime:
    rows = query(database_url, f"SELECT next_run_time FROM {nightly.JOBSTORE_TABLE} WHERE id = 'crawl:demo-xian'")
    return datetime.fromtimestamp(rows[0][0], UTC)


def test_a_slot_missed_three_times_within_the_grace_runs_exactly_once_across_restarts(
    demo: RunningDemo, tmp_path: Path, database_url: str  # noqa: F811
) -> None:
    """Down for three hourly slots: one crawl on restart (coalesced), none at the next restart."""
    now = datetime.now(SHANGHAI)
    cron = f"{(now.minute + 30) % 60} * * * *"  # hourly, half an hour away from now
    options = _options(tmp_path, database_url, _only_xian(demo, cron=cron))
    oldest_missed = CronTrigger.from_crontab(cron, timezone=SHANGHAI).get_next_fire_time(None, now - timedelta(hours=3))
    assert now - oldest_missed > timedelta(hours=2)  # three fire times passed while "down"
    _stop_with_missed_runs(options, oldest_missed)

    next_run = _restart_and_settle(options, expect_events=1)
    assert _events(database_url) == [("finished", "demo-xian")]
    assert _xian_crawls(database_url) == 1
    assert query(database_url, "SELECT status FROM crawl_runs") == [("finished",)]
    # The job moved on to the next regular slot, and the store says so for the next restart.
    assert now < next_run <= now + timedelta(hours=1)
    assert _stored_next_run(database_url) == next_run.astimezone(UTC)

    # Restarted again before that slot: the missed slot is not crawled a second time.
    _restart_and_settle(options, expect_events=0)
    assert _events(database_url) == [("finished", "demo-xian")]
    assert _xian_crawls(database_url) == 1


def _last_nightly_fire(now: datetime) -> datetime:
    """The default cron's (02:00 every night) latest fire time at or before ``now``."""
    fire = now.replace(hour=2, minute=0, second=0, microsecond=0)
    return fire if fire <= now else fire - timedelta(days=1)


def test_a_slot_missed_beyond_the_grace_is_recorded_once_and_never_crawled(
    demo: RunningDemo, tmp_path: Path, database_url: str  # noqa: F811
) -> None:
    """Down for two hours with a one-minute grace: one ``missed`` event naming the slot and the
    reason, no crawl, and a later restart adds nothing."""
    options = _options(tmp_path, database_url, _only_xian(demo), misfire_grace=timedelta(minutes=1))
    slot = (datetime.now(SHANGHAI) - timedelta(hours=2)).replace(microsecond=0)
    _stop_with_missed_runs(options, slot)

    next_run = _restart_and_settle(options, expect_events=1)
    [missed] = _scheduler_events(database_url)
    assert (missed.job_id, missed.site_key, missed.event, missed.detail) == (
        "crawl:demo-xian", "demo-xian", "missed", MISSED_REASON)
    # The slot that was missed, not the time of the restart: the stored one, or -- when the
    # job's own 02:00 fire time fell in the two hours it was down (a test run between 02:00 and
    # 04:00 Shanghai time) -- that later fire time, which APScheduler coalesces the misses into.
    assert missed.scheduled_for == max(slot, _last_nightly_fire(datetime.now(SHANGHAI)))
    assert _xian_crawls(database_url) == 0
    assert query(database_url, "SELECT count(*) FROM crawl_runs") == [(0,)]
    fire = next_run.astimezone(SHANGHAI)
    assert (fire.hour, fire.minute) == (2, 0) and next_run > datetime.now(SHANGHAI)  # the next night

    _restart_and_settle(options, expect_events=0)
    assert _events(database_url) == [("missed", "demo-xian")]
    assert _xian_crawls(database_url) == 0


def test_a_missed_slot_shows_in_the_sites_health(demo: RunningDemo, tmp_path: Path, database_url: str) -> None:  # noqa: F811
    """An operator reading the health of the sites learns that last night's slot was missed."""
    options = _options(tmp_path, database_url, _only_xian(demo), misfire_grace=timedelta(minutes=1))
    _stop_with_missed_runs(options, datetime.now(SHANGHAI) - timedelta(hours=2))
    _restart_and_settle(options, expect_events=1)
    assert _events(database_url) == [("missed", "demo-xian")]
    listing = run_nianbao("--db", database_url, "--sites", options.sites_file, "sites", "list", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "missed (scheduler not running)" in listing.stdout, listing.stdout  # English under the tests
    as_json = run_nianbao("--db", database_url, "--sites", options.sites_file, "sites", "list", "--format", "json",
                          cwd=tmp_path)
    [site] = json.loads(as_json.stdout)
    assert site["last_scheduled"]["event"] == "missed"
    assert "misfire grace time" in site["last_scheduled"]["detail"]
