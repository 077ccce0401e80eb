"""Runs that say what happened: real `nianbao crawl` processes over loopback, stopped by real
signals, killed, starved of their database, or sent into redirects that go nowhere.

Every crawl here is a child process (Twisted's reactor runs once per process) against a real
HTTP server on 127.0.0.1; every test that touches the archive runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

import scheduler as nightly
from alerts.health import site_health
from alerts.monitor import run_monitor
from crawler.demo.bulk import build_bulk_site, bulk_sites_toml
from crawler.demo.server import DemoServer
from crawler.stopping import interrupt_message
from storage.db import open_archive
from storage.models import COUNTERS, Alert, CrawlHealth, CrawlRun, SiteCrawl
from tests.crawler.capture.conftest import check_captures_point_at_evidence, query

BUREAUS = 6
REPORTS = 8
# Report pages answer after REPORT_DELAY: slow enough that a crawl is caught mid-way, quick
# enough that a graceful stop (which lets the requests in flight finish) takes a moment only.
REPORT_DELAY = 0.4
CRAWL = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_TIMES=0",
         "-s", "DOWNLOAD_TIMEOUT=20", "-s", "CONCURRENT_REQUESTS=2",
         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "-s", "NIANBAO_ATTACHMENT_MAX_BYTES=1"]
SITE_ALERTS = ("site_unreachable", "listing_broken")


@pytest.fixture
def slow_site() -> Iterator[DemoServer]:
    site, _ = build_bulk_site(BUREAUS, REPORTS)
    for path, page in site.pages.items():
        if path.endswith(".html") and not path.endswith("list.html"):
            page.delay = REPORT_DELAY
    with DemoServer(site) as server:
        yield server


def _sites_file(tmp_path: Path, server: DemoServer) -> Path:
    sites = tmp_path / "sites.toml"
    sites.write_text(bulk_sites_toml(server.base_url, BUREAUS), encoding="utf-8")
    return sites


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "NIANBAO_DATA_DIR": str(tmp_path / "nianbao-data")}
    env.pop("NIANBAO_DATABASE_URL", None)
    env.pop("NIANBAO_SITES", None)
    return env


def _command(db: str, sites: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "crawler", "--db", db, "--sites", str(sites), "crawl", "-q", *CRAWL, *args]


def _start(tmp_path: Path, db: str, sites: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(_command(db, sites, *args), cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(tmp_path: Path, db: str, sites: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_command(db, sites, *args), cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=240, check=False)


def _count(db: str, sql: str) -> int:
    try:
        return query(db, sql)[0][0]
    except DBAPIError:
        return 0  # not migrated yet


def _wait_for_documents(db: str, at_least: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the crawl ended before the test could act on it"
        if _count(db, "SELECT count(*) FROM documents") >= at_least:
            return
        time.sleep(0.05)
    pytest.fail("the crawl archived too little in time")


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.communicate()


def _runs(db: str) -> dict[int, CrawlRun]:
    sessions = open_archive(db)
    try:
        with sessions() as session:
            runs = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
            for run in runs:
                _ = [crawl.site.key for crawl in run.site_crawls]  # load them
            return {run.id: run for run in runs}
    finally:
        sessions.kw["bind"].dispose()


def _crawls(run: CrawlRun) -> dict[str, SiteCrawl]:
    return {crawl.site.key: crawl for crawl in run.site_crawls}


def _assert_totals_are_sums(run: CrawlRun) -> None:
    for counter in COUNTERS:
        assert getattr(run, counter) == sum(getattr(c, counter) for c in run.site_crawls), counter


def _monitor(db: str) -> tuple[list[str], dict[str, str], int]:
    """Run the monitor as `nianbao monitor` does; (alert kinds, site states, health rows)."""
    sessions = open_archive(db)
    try:
        with sessions() as session, session.begin():
            run_monitor(session)
        with sessions() as session:
            kinds = [alert.kind for alert in session.scalars(select(Alert))]
            states = {key: health.state for key, health in site_health(session).items()}
            rows = len(session.scalars(select(CrawlHealth)).all())
        return kinds, states, rows
    finally:
        sessions.kw["bind"].dispose()


class _StderrReader:
    """Reads a child's stderr as it comes, with the time each line arrived."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def join(self) -> list[tuple[float, str]]:
        self._thread.join(timeout=30)
        return self.lines


# --- signals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_crawl_gracefully_and_records_the_run_as_interrupted(
    slow_site: DemoServer, tmp_path: Path, database_url: str, signum: int
) -> None:
    """Ctrl-C in the terminal (SIGINT), or a service manager stopping nianbao (SIGTERM), while
    `nianbao crawl` is fetching: one line on stderr at once, the crawl stops gracefully (what
    was fetched is archived, every row's evidence is whole), the summary is printed, the run
    and its unfinished site crawls are `interrupted` (not `finished`/`ok`), the exit status is
    128 + the signal (130, 143) -- and the monitor raises no site alert for the stopped sites,
    whose health stays what it was."""
    db = database_url
    sites = _sites_file(tmp_path, slow_site)
    # bench-0001 has one complete crawl first: its health is ok before the interrupted run.
    first = _run(tmp_path, db, sites, "bench-0001")
    assert first.returncode == 0, first.stderr

    process = _start(tmp_path, db, sites)
    reader = _StderrReader(process)
    try:
        _wait_for_documents(db, REPORTS + 3, process)
        signalled_at = time.monotonic()
        process.send_signal(signum)
        stdout = process.stdout.read() if process.stdout else ""
        process.wait(timeout=60)
    finally:
        _stop(process)
    lines = reader.join()

    assert process.returncode == 128 + signum, stdout + "\n".join(line for _, line in lines)
    texts = [line for _, line in lines]
    assert texts == [interrupt_message(signum)], texts  # one line, nothing else (no traceback)
    assert lines[0][0] - signalled_at < 2.0  # at once, not when the crawl has wound down
    assert "Crawl run 2: interrupted" in stdout and "bench-0002" in stdout  # the summary

    run = _runs(db)[2]
    assert run.status == "interrupted" and run.finished_at is not None
    crawls = _crawls(run)
    assert {crawls[f"bench-{n:04d}"].status for n in range(2, BUREAUS + 1)} == {"interrupted"}
    assert crawls["bench-0001"].status in ("ok", "interrupted")  # its pages were replayed quickly
    _assert_totals_are_sums(run)
    # Nothing archived was lost: every document has its version, every capture its record.
    assert _count(db, "SELECT count(*) FROM documents") >= REPORTS + 3
    assert _count(db, "SELECT count(*) FROM documents WHERE latest_version_id IS NULL") == 0
    assert check_captures_point_at_evidence(db, tmp_path / "nianbao-data" / "warc") > 0
    assert _count(db, "SELECT count(*) FROM crawl_leases") == 0  # released on the way out

    kinds, states, _ = _monitor(db)
    assert not [kind for kind in kinds if kind in SITE_ALERTS], kinds
    assert states["bench-0001"] == "ok"
    assert {states[f"bench-{n:04d}"] for n in range(2, BUREAUS + 1)} == {"unknown"}


def test_a_second_ctrl_c_quits_at_once_and_the_run_is_still_closed(tmp_path: Path, database_url: str) -> None:
    """Ctrl-C twice while a page is slow to answer: the first starts a graceful stop that would
    wait for that page, the second quits at once -- and the run is still closed as
    `interrupted`, the site crawls Scrapy never got to close included."""
    site, _ = build_bulk_site(2, 3)
    for path, page in site.pages.items():
        if path.endswith(".html") and not path.endswith("list.html"):
            page.delay = 60  # never answers within the test
    with DemoServer(site) as server:
        sites = tmp_path / "sites.toml"
        sites.write_text(bulk_sites_toml(server.base_url, 2), encoding="utf-8")
        process = _start(tmp_path, database_url, sites, "-s", "DOWNLOAD_TIMEOUT=120")
        reader = _StderrReader(process)
        try:
            deadline = time.monotonic() + 60
            while _count(database_url, "SELECT count(*) FROM captures") < 2:  # both lists read
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
            time.sleep(0.5)  # the report requests are on their way
            process.send_signal(signal.SIGINT)
            time.sleep(1.0)
            assert process.poll() is None  # the graceful stop waits for the slow pages
            process.send_signal(signal.SIGINT)
            started = time.monotonic()
            stdout = process.stdout.read() if process.stdout else ""
            process.wait(timeout=30)
            assert time.monotonic() - started < 15
        finally:
            _stop(process)
    texts = [line for _, line in reader.join()]
    assert process.returncode == 130, stdout + "\n".join(texts)
    assert texts[0] == interrupt_message(signal.SIGINT) and len(texts) == 2, texts
    assert "Crawl run 1: interrupted" in stdout
    run = _runs(database_url)[1]
    assert run.status == "interrupted"
    assert {c.status for c in run.site_crawls} == {"interrupted"}


def _child_crawling(sites: Path, timeout: float = 30) -> int:
    """The pid of the `nianbao crawl` process started with this sites file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(sites).encode() in command and b"crawl" in command:
                return int(entry.name)
        time.sleep(0.05)
    pytest.fail("the scheduler's crawl child did not start")


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="finds the child through /proc")
def test_a_scheduler_crawl_stopped_by_someone_else_is_recorded_as_interrupted(
    slow_site: DemoServer, tmp_path: Path, database_url: str
) -> None:
    """A service manager stopping the scheduler sends SIGTERM to its crawl child as well: the
    child closes its run as `interrupted` and exits with 143, and the scheduler records the
    job as `interrupted` -- not `failed` (nothing is wrong with the site), and not `timeout`
    (that is the scheduler's own wall-time stop, which sends SIGINT)."""
    db = database_url
    sites = _sites_file(tmp_path, slow_site)
    outcome: dict[str, str] = {}
    job = threading.Thread(target=lambda: outcome.update(value=nightly.crawl_site(
        db, str(sites), "bench-0001", 120, CRAWL, data_dir=str(tmp_path / "nianbao-data"))))
    job.start()
    try:
        child = _child_crawling(sites)
        deadline = time.monotonic() + 60
        while _count(db, "SELECT count(*) FROM documents") < 2:
            assert time.monotonic() < deadline, "the crawl archived nothing"
            time.sleep(0.05)
        os.kill(child, signal.SIGTERM)
    finally:
        job.join(timeout=120)
    assert outcome["value"] == "interrupted"
    assert query(db, "SELECT event, site_key FROM scheduler_events") == [("interrupted", "bench-0001")]
    run = _runs(db)[1]
    assert run.status == "interrupted" and {c.status for c in run.site_crawls} == {"interrupted"}


# --- processes that died ----------------------------------------------------------------------


def test_a_killed_crawl_is_closed_as_abandoned_by_the_next_crawl(
    slow_site: DemoServer, tmp_path: Path, database_url: str
) -> None:
    """A crawl killed outright (SIGKILL, the OOM killer, a power cut) cannot close its run. The
    next `nianbao crawl` sees the run's leases belong to a process that is gone and closes the
    run as `abandoned` -- its site crawls too, with the reason, its totals summed from what it
    did record -- before it crawls; the monitor takes nothing from the abandoned crawls."""
    db = database_url
    sites = _sites_file(tmp_path, slow_site)
    process = _start(tmp_path, db, sites)
    try:
        _wait_for_documents(db, 3, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        _stop(process)
    assert _runs(db)[1].status == "running"  # nobody closed it
    holders = [row[0] for row in query(db, "SELECT holder FROM crawl_leases")]
    assert holders and all(h.endswith(":run1") and f":{process.pid}:" in h for h in holders)

    again = _run(tmp_path, db, sites, "bench-0006")
    assert again.returncode == 0, again.stderr
    assert "Closed crawl run(s) 1 as abandoned" in again.stderr

    runs = _runs(db)
    killed = runs[1]
    assert killed.status == "abandoned" and killed.finished_at is not None
    crawls = _crawls(killed)
    assert {c.status for c in crawls.values()} == {"abandoned"}
    assert {c.finish_reason for c in crawls.values()} == {f"process died (pid {process.pid} is gone)"}
    _assert_totals_are_sums(killed)
    assert killed.new_documents == _count(db, "SELECT count(*) FROM versions WHERE first_run_id = 1") > 0
    assert runs[2].status == "finished"
    assert _count(db, "SELECT count(*) FROM crawl_leases") == 0  # the dead leases are gone too

    kinds, states, rows = _monitor(db)
    assert not [kind for kind in kinds if kind in SITE_ALERTS], kinds
    assert rows == 1 and states["bench-0006"] == "ok"  # only the complete crawl was assessed
    assert {states[f"bench-{n:04d}"] for n in range(1, BUREAUS)} == {"unknown"}


def test_a_crawl_that_died_elsewhere_is_abandoned_by_the_scheduler_once_its_lease_expires(
    slow_site: DemoServer, tmp_path: Path, database_url: str
) -> None:
    """A crawl on another machine that lost power: its process cannot be checked from here,
    so its run counts as alive until its leases expire (`-s NIANBAO_LEASE_TTL`, seconds). The
    scheduler's start closes it as `abandoned` then, and not a moment before."""
    db = database_url
    sites = _sites_file(tmp_path, slow_site)
    process = _start(tmp_path, db, sites, "bench-0001", "bench-0002", "-s", "NIANBAO_LEASE_TTL=12")
    try:
        _wait_for_documents(db, 2, process)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        _stop(process)
    # As if it had run on another machine: rename the host in its lease holders.
    engine = create_engine(db)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE crawl_leases SET holder = :other || substr(holder, :cut)"),
                {"other": "another-machine", "cut": len(socket.gethostname()) + 1},
            )
            expires = max(connection.execute(text("SELECT expires_at FROM crawl_leases")).scalars())
    finally:
        engine.dispose()
    if isinstance(expires, str):
        expires = datetime.fromisoformat(expires)
    expires = expires.replace(tzinfo=UTC) if expires.tzinfo is None else expires
    options = nightly.SchedulerOptions(database_url=db, sites_file=str(sites),
                                       data_dir=str(tmp_path / "nianbao-data"))

    assert datetime.now(UTC) < expires
    nightly.build_scheduler(options, blocking=False)
    assert _runs(db)[1].status == "running"  # its lease is live: another machine may be crawling

    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
    nightly.build_scheduler(options, blocking=False)
    run = _runs(db)[1]
    assert run.status == "abandoned"
    assert {c.finish_reason for c in run.site_crawls} == {"process died (lease expired)"}
    _assert_totals_are_sums(run)
    assert _count(db, "SELECT count(*) FROM crawl_leases") == 0


def test_a_crawl_still_running_elsewhere_is_not_closed_by_another_crawl_start(
    slow_site: DemoServer, tmp_path: Path, database_url: str
) -> None:
    """Two crawls at once (the nightly one and a manual one of another site): the second
    start looks for abandoned runs and must leave the first alone -- its process is alive and
    holds its leases. The first then ends as it really ends."""
    db = database_url
    sites = _sites_file(tmp_path, slow_site)
    # A second between requests: the first crawl (~20 s) outlasts the second by far.
    first = _start(tmp_path, db, sites, "bench-0001", "bench-0002", "-s", "DOWNLOAD_DELAY=1")
    try:
        _wait_for_documents(db, 2, first)
        second = _run(tmp_path, db, sites, "bench-0006")
        assert second.returncode == 0, second.stderr
        assert first.poll() is None
        runs = _runs(db)
        assert runs[1].status == "running" and runs[2].status == "finished", (
            {i: (r.status, r.site_keys, r.started_at, r.finished_at) for i, r in runs.items()}, second.stdout)
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    finally:
        _stop(first)
    assert first.returncode == 130
    assert _runs(db)[1].status == "interrupted"


# --- the archive failing ----------------------------------------------------------------------


def _wait_for_log(path: Path, needle: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.1)
    pytest.fail(f"{needle!r} never appeared in {path}")


def test_an_archive_that_fails_mid_crawl_stops_it_with_one_error_and_a_failed_run(
    slow_site: DemoServer, tmp_path: Path, database_url: str
) -> None:
    """The database stops taking writes in the middle of a crawl. On SQLite another process
    holds the archive's write lock past the 30 s busy timeout (a `sqlite3` shell left inside a
    transaction, a backup tool): the crawler's write fails with "database is locked". On
    PostgreSQL the server terminates the crawler's connection while it waits in a write (an
    administrator's pg_terminate_backend, a restart, a fail-over). Either way the crawl stops
    at once instead of fetching pages it cannot record, the run is closed as `failed` with the
    reason (its unfinished site crawls `interrupted`: no evidence about the sites, no alerts),
    the CLI prints one error line and exits non-zero, and no row points at missing evidence."""
    db = database_url
    sites = _sites_file(tmp_path, slow_site)
    log = tmp_path / "nianbao-data" / "logs" / "crawl.log"
    process = _start(tmp_path, db, sites)
    try:
        _wait_for_documents(db, 3, process)
        if db.startswith("sqlite"):
            lock = sqlite3.connect(db.removeprefix("sqlite:///"), timeout=60, isolation_level=None)
            try:
                lock.execute("BEGIN IMMEDIATE")  # the archive's write lock, held
                _wait_for_log(log, "the archive could not be written", timeout=90)
                lock.execute("ROLLBACK")
            finally:
                lock.close()
        else:
            engine = create_engine(db)
            try:
                with engine.connect() as connection:
                    transaction = connection.begin()
                    connection.execute(text("LOCK TABLE documents IN EXCLUSIVE MODE"))
                    deadline = time.monotonic() + 60
                    waiting: list[int] = []
                    while not waiting:
                        assert time.monotonic() < deadline, "the crawler never waited on the lock"
                        time.sleep(0.05)
                        waiting = list(connection.execute(text(
                            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalars())
                    for pid in waiting:
                        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                    transaction.rollback()
            finally:
                engine.dispose()
        stdout, stderr = process.communicate(timeout=180)
    finally:
        _stop(process)

    assert process.returncode == 2, stdout + stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr  # one line, no traceback
    assert lines[0].startswith("Error: crawl run 1 stopped: the archive could not be written: ")
    # What the driver said: SQLite's lock timeout; PostgreSQL's "terminating connection due to
    # administrator command" or, when the kill lands between statements, "server closed the
    # connection unexpectedly".
    expected = ("database is locked",) if db.startswith("sqlite") else ("terminat", "closed the connection")
    assert any(words in lines[0] for words in expected), lines[0]

    run = _runs(db)[1]
    assert run.status == "failed" and run.finished_at is not None
    crawls = run.site_crawls
    assert "running" not in {c.status for c in crawls}
    stopped = [c for c in crawls if c.status == "interrupted"]
    assert stopped and all(c.finish_reason == "stopped: " + lines[0].split("stopped: ", 1)[1] for c in stopped)
    assert {c.status for c in crawls} <= {"ok", "interrupted"}
    _assert_totals_are_sums(run)
    assert _count(db, "SELECT count(*) FROM documents") < BUREAUS * REPORTS  # it really stopped
    check_captures_point_at_evidence(db, tmp_path / "nianbao-data" / "warc")
    assert _count(db, "SELECT count(*) FROM crawl_leases") == 0
    kinds, _, _ = _monitor(db)
    assert not [kind for kind in kinds if kind in SITE_ALERTS], kinds
