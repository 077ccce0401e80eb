"""The nightly scheduler and crawl leases: real child-process crawls of the demo site."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import create_engine, select, text

import scheduler as nightly
from crawler.demo.server import DemoServer
from crawler.demo.site import build_demo_site, demo_sites_toml
from storage import leases
from storage.db import open_archive
from storage.models import Alert, CrawlLease, CrawlRun, SchedulerEvent, SiteCrawl
from tests.crawler.harness import FAST_CRAWL, demo, run_nianbao  # noqa: F401  (fixture)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _only_xian(demo, cron: str | None = None) -> Path:  # noqa: F811
    """A sites file with just demo-xian (the quickest demo bureau)."""
    text = demo.sites_file.read_text(encoding="utf-8")
    start = text.index('[[sites]]\nkey = "demo-xian"')
    end = text.find("[[sites]]", start + 1)
    block = text[start:] if end < 0 else text[start:end]
    if cron:
        block = block.replace('key = "demo-xian"', f'key = "demo-xian"\ncron = "{cron}"', 1)
    path = demo.sites_file.with_name("xian.toml")
    path.write_text(block, encoding="utf-8")
    return path


def _options(tmp_path: Path, database_url: str, sites_file: Path, **kwargs) -> nightly.SchedulerOptions:
    return nightly.SchedulerOptions(
        database_url=database_url,
        sites_file=str(sites_file),
        crawl_args=tuple(FAST_CRAWL),
        data_dir=str(tmp_path / "nianbao-data"),
        **kwargs,
    )


def _events(database_url: str) -> list[tuple[str, str | None]]:
    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            return [(e.event, e.site_key) for e in session.scalars(select(SchedulerEvent).order_by(SchedulerEvent.id))]
    finally:
        sessions.kw["bind"].dispose()  # polled often: no pool of idle PostgreSQL connections left behind


def _wait_for(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def _xian_crawls(database_url: str) -> int:
    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            return len(session.scalars(select(SiteCrawl).join(SiteCrawl.site).where(SiteCrawl.site.has(key="demo-xian"))).all())
    finally:
        sessions.kw["bind"].dispose()


# --- leases -----------------------------------------------------------------------------------


def test_lease_is_exclusive_expires_and_is_released(database_url):
    sessions = open_archive(database_url)
    now = datetime(2026, 1, 1, 2, tzinfo=UTC)
    alive = f"{socket.gethostname()}:{os.getpid()}:a"
    with sessions() as session, session.begin():
        assert leases.acquire(session, "s", alive, ttl=timedelta(hours=1), now=now) is not None
    with sessions() as session, session.begin():
        assert leases.acquire(session, "s", "other-host:1:b", now=now + timedelta(minutes=59)) is None
    with sessions() as session, session.begin():  # expired: taken over
        assert leases.acquire(session, "s", "other-host:1:b", now=now + timedelta(minutes=61)).holder == "other-host:1:b"
    leases.release(sessions, ["s"], alive)  # not ours any more: nothing happens
    with sessions() as session:
        assert session.get(CrawlLease, "s").holder == "other-host:1:b"
    leases.release(sessions, ["s"], "other-host:1:b")
    with sessions() as session:
        assert session.get(CrawlLease, "s") is None


def test_lease_of_a_dead_process_on_this_host_is_taken_at_once(database_url):
    sessions = open_archive(database_url)
    dead_pid = 2**22 + 12345  # above the usual pid_max
    with sessions() as session, session.begin():
        leases.acquire(session, "s", f"{socket.gethostname()}:{dead_pid}:x")
    taken, held = leases.acquire_all(sessions, ["s"], f"{socket.gethostname()}:{os.getpid()}:y")
    assert taken == ["s"] and held == {}


def test_manual_crawl_of_a_leased_site_exits_cleanly_without_crawling(demo, tmp_path, database_url):  # noqa: F811
    sessions = open_archive(database_url)
    holder = f"{socket.gethostname()}:{os.getpid()}:nightly"
    with sessions() as session, session.begin():
        leases.acquire(session, "demo-xian", holder)
    result = run_nianbao("--db", database_url, "--sites", str(demo.sites_file), "crawl", "-q", *FAST_CRAWL,
                         "demo-xian", cwd=tmp_path)
    # Exit status 3 (ExitStatus.SKIPPED) is how the scheduler learns the crawl was skipped.
    assert result.returncode == 3, result.stderr
    assert f"Skipped demo-xian: another crawl holds its lease ({holder})" in result.stderr
    assert "Nothing crawled" in result.stdout
    with sessions() as session:
        assert session.scalars(select(CrawlRun)).all() == []


# --- the scheduler ----------------------------------------------------------------------------


def test_a_scheduler_job_of_a_leased_site_is_recorded_as_skipped(demo, tmp_path, database_url):  # noqa: F811
    """A manual crawl (or a second scheduler) holds demo-xian's lease when the nightly job
    fires: the job's crawl child exits with status 3 and the scheduler records `skipped` --
    learned from the exit status alone -- without crawling or running the monitor."""
    sites_file = _only_xian(demo)
    sessions = open_archive(database_url)
    with sessions() as session, session.begin():
        leases.acquire(session, "demo-xian", f"{socket.gethostname()}:{os.getpid()}:manual")
    outcome = nightly.crawl_site(database_url, str(sites_file), "demo-xian", 120, FAST_CRAWL,
                                 data_dir=str(tmp_path / "nianbao-data"))
    assert outcome == "skipped"
    assert _events(database_url) == [("skipped", "demo-xian")]
    assert _xian_crawls(database_url) == 0


def test_jobs_have_explicit_ids_cron_overrides_and_the_documented_options(demo, tmp_path, database_url):  # noqa: F811
    sites_file = _only_xian(demo, cron="30 3 * * 1")
    scheduler = nightly.build_scheduler(_options(tmp_path, database_url, sites_file), blocking=False)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("crawl:demo-xian")
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 6 * 3600)
        assert str(job.trigger.timezone) == "Asia/Shanghai"
        fire = job.next_run_time.astimezone(SHANGHAI)
        assert (fire.hour, fire.minute, fire.weekday()) == (3, 30, 0)
    finally:
        scheduler.shutdown()
    default = nightly.build_scheduler(_options(tmp_path, database_url, demo.sites_file), blocking=False)
    default.start(paused=True)
    try:
        assert sorted(j.id for j in default.get_jobs()) == [
            "crawl:demo-jyj", "crawl:demo-qu", "crawl:demo-tjj", "crawl:demo-xian",
        ]
        fire = default.get_job("crawl:demo-tjj").next_run_time.astimezone(SHANGHAI)
        assert (fire.hour, fire.minute) == (2, 0)
    finally:
        default.shutdown()
    # A site dropped from the file loses its job at the next start.
    again = nightly.build_scheduler(_options(tmp_path, database_url, sites_file), blocking=False)
    again.start(paused=True)
    try:
        assert [j.id for j in again.get_jobs()] == ["crawl:demo-xian"]
    finally:
        again.shutdown()


def _stop_with_missed_runs(options: nightly.SchedulerOptions, missed_since: datetime) -> None:
    """A scheduler that went down before ``missed_since``: its stored job was due then."""
    scheduler = nightly.build_scheduler(options, blocking=False)
    scheduler.start(paused=True)
    scheduler.shutdown()
    engine = create_engine(options.database_url)
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE {nightly.JOBSTORE_TABLE} SET next_run_time = :t WHERE id = 'crawl:demo-xian'"),
            {"t": missed_since.timestamp()},
        )
    engine.dispose()


def test_scheduler_restarted_mid_night_runs_the_missed_job_once(demo, tmp_path, database_url):  # noqa: F811
    now = datetime.now(SHANGHAI)
    # Hourly, at a minute half an hour away: no regular run falls inside the test.
    cron = f"{(now.minute + 30) % 60} * * * *"
    sites_file = _only_xian(demo, cron=cron)
    options = _options(tmp_path, database_url, sites_file)
    three_missed = CronTrigger.from_crontab(cron, timezone=SHANGHAI).get_next_fire_time(None, now - timedelta(hours=3))
    _stop_with_missed_runs(options, three_missed)

    restarted = nightly.build_scheduler(options, blocking=False)
    restarted.start()
    try:
        _wait_for(lambda: _events(options.database_url))
        time.sleep(2)  # a second run, if any, would have started by now
        next_run = restarted.get_job("crawl:demo-xian").next_run_time
    finally:
        restarted.shutdown()
    assert _events(options.database_url) == [("finished", "demo-xian")]
    assert _xian_crawls(options.database_url) == 1
    assert next_run > now


def test_a_run_missed_beyond_the_grace_time_is_recorded_as_missed(demo, tmp_path, database_url):  # noqa: F811
    options = _options(tmp_path, database_url, _only_xian(demo), misfire_grace=timedelta(minutes=1))
    _stop_with_missed_runs(options, datetime.now(SHANGHAI) - timedelta(hours=2))
    restarted = nightly.build_scheduler(options, blocking=False)
    restarted.start()
    try:
        _wait_for(lambda: _events(options.database_url), timeout=30)
    finally:
        restarted.shutdown()
    assert _events(options.database_url) == [("missed", "demo-xian")]
    assert _xian_crawls(options.database_url) == 0


def test_two_schedulers_started_together_crawl_each_site_once(demo, tmp_path, database_url):  # noqa: F811
    sites_file = _only_xian(demo)
    # A slower crawl (about 5 s) so that both schedulers' jobs overlap.
    options = _options(tmp_path, database_url, sites_file, first_run=datetime.now(SHANGHAI))
    options = nightly.SchedulerOptions(**{**options.__dict__, "crawl_args": (*FAST_CRAWL, "-s", "DOWNLOAD_DELAY=0.3")})
    first = nightly.build_scheduler(options, blocking=False)
    second = nightly.build_scheduler(options, blocking=False)
    first.start()
    second.start()
    try:
        _wait_for(lambda: ("finished", "demo-xian") in _events(options.database_url))
        time.sleep(3)
    finally:
        first.shutdown()
        second.shutdown()
    events = _events(options.database_url)
    assert events.count(("finished", "demo-xian")) == 1
    assert set(events) <= {("finished", "demo-xian"), ("skipped", "demo-xian")}
    assert _xian_crawls(options.database_url) == 1


def test_crawl_job_of_a_site_whose_server_is_down_gives_a_site_alert_only(tmp_path, database_url):
    sites_file = tmp_path / "down.toml"
    sites_file.write_text(
        '[[sites]]\nkey = "down"\nname = "宕机局"\nregion = "示范市"\nlevel = "department"\n'
        'family = "generic"\nlist_urls = ["http://127.0.0.1:9/xxgk/ndbg/index.html"]\nfirst_report_year = 2019\n',
        encoding="utf-8",
    )
    outcome = nightly.crawl_site(database_url, str(sites_file), "down", 120, FAST_CRAWL,
                                 data_dir=str(tmp_path / "nianbao-data"))
    assert outcome == "failed"
    sessions = open_archive(database_url)
    with sessions() as session:
        assert [(a.kind, a.state) for a in session.scalars(select(Alert))] == [("site_unreachable", "open")]
    assert _events(database_url) == [("failed", "down")]


def test_wall_time_limit_stops_a_crawl(tmp_path, database_url):
    # demo-jyj's slow page answers after a minute; the crawl may take 10 s.
    with DemoServer(build_demo_site(slow_seconds=60)) as server:
        sites_file = tmp_path / "sites.toml"
        sites_file.write_text(demo_sites_toml(server.base_url), encoding="utf-8")
        args = ["-s", "DOWNLOAD_TIMEOUT=120", "-s", "RETRY_TIMES=0", "-s", "AUTOTHROTTLE_ENABLED=False"]
        outcome = nightly.crawl_site(database_url, str(sites_file), "demo-jyj", 10, args,
                                     data_dir=str(tmp_path / "nianbao-data"), interrupt_grace=3)
    assert outcome == "timeout"
    assert _events(database_url)[0] == ("timeout", "demo-jyj")
    sessions = open_archive(database_url)
    with sessions() as session:
        # SIGINT (twice: the slow page keeps a graceful stop waiting) stops Scrapy; the run is
        # closed and the site's crawl says why.
        crawl = session.scalars(select(SiteCrawl)).one()
        assert crawl.finish_reason in ("shutdown", "did not finish", "interrupted")
        assert crawl.run.finished_at is not None
        assert session.scalars(select(CrawlLease)).all() == []  # released on the way out
