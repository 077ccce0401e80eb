"""The archive writer's transports (crawler/writer/transport.py) under a real Twisted reactor.

A crawl process runs Scrapy on the asyncio reactor and submits every archive write to one
writer (a thread, or a child process over a pipe). Running a reactor inside pytest is awkward
(it cannot be restarted), so each test runs a small crawl-like script in a subprocess
(:func:`writer_script` below, started with ``python -c``): it installs the asyncio reactor,
starts the writer in the mode under test, submits jobs as the pipelines and the capture
middleware do, and prints what happened as JSON; the test then reads the archive itself.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.capture.conftest import check_captures_point_at_evidence, check_with_warcio, query, warc_files

REPO_ROOT = Path(__file__).resolve().parents[3]
SCRIPT = (
    "from scrapy.utils.reactor import install_reactor;"
    "install_reactor('twisted.internet.asyncioreactor.AsyncioSelectorReactor');"
    "from tests.crawler.writer.test_transport import writer_script;"
    "writer_script()"
)
MODES = ("thread", "process")

JOBS = 250  # more than BATCH_JOBS (200): the jobs span several batches
FAILING = 120  # the job that cannot be recorded (a failure of a site the archive does not know)
SAME_BODY = (10, 11)  # two pages with the same bytes: a full record and a revisit, across the pipe
OTHER_PAGE = 200
QUEUED_AT_CLOSE = 60  # submitted just before the reactor stops; close() must still write them
COLUMN = "https://www.putian.gov.cn/zwgk/zfxxgknb/"


def _attachment_digest(number: int, *, closing: bool = False) -> str:
    return ("c" if closing else "a") + f"{number:063x}"


# --- the script (runs in the subprocess) ----------------------------------------------------


@dataclass(frozen=True)
class _Crawl:
    run_id: int
    site_id: int


def _start_crawl(database_url: str) -> _Crawl:
    """What the runner does before a crawl: the archive migrated, the site synced, a run."""
    from storage.archive import start_run, sync_site
    from storage.db import open_archive
    from tests.storage.conftest import SITE_A

    sessions = open_archive(database_url)
    try:
        with sessions() as session, session.begin():
            site_id = sync_site(session, SITE_A).id
            run_id = start_run(session, [SITE_A.key]).id
    finally:
        sessions.kw["bind"].dispose()
    return _Crawl(run_id, site_id)


def _page(crawl: _Crawl, url: str, body: bytes) -> Any:
    from crawler.capture.records import Exchange
    from crawler.writer import CaptureJob

    exchange = Exchange(
        request_url=url, method="GET", request_headers=((b"User-Agent", b"nianbao-test"),), request_body=b"",
        status=200, protocol="HTTP/1.1", response_headers=((b"Content-Type", b"text/html; charset=utf-8"),),
        body=body,
    )
    now = datetime.now(UTC)
    return CaptureJob(run_id=crawl.run_id, site_id=crawl.site_id, url=url, state_url=url, page_kind="report",
                      exchange=exchange, fetched_at=now, now=now, known=None, remember=True)


def _store_attachment(digest: str) -> Any:
    from crawler.writer import Call
    from storage.attachments import record_attachment_id

    return Call(record_attachment_id, kwargs={"sha256": digest, "size": 4, "media_type": "application/pdf",
                                              "text": "年度报告"})


def _job(crawl: _Crawl, number: int) -> Any:
    """Job ``number`` of the crawl-like stream: mostly attachment writes, a few pages, one bad item."""
    from crawler.writer import Call
    from storage.archive import record_failure
    from storage.records import PageFailure

    if number == FAILING:
        return Call(record_failure, (crawl.run_id, PageFailure(
            site_key="no-such-site", url=f"{COLUMN}missing.htm", reason="HTTP 404")))
    if number in SAME_BODY:
        return _page(crawl, f"{COLUMN}202401/t20240115_{number}.htm", "<html>同一份年报</html>".encode())
    if number == OTHER_PAGE:
        return _page(crawl, f"{COLUMN}202402/t20240201_{number}.htm", "<html>另一份年报</html>".encode())
    return _store_attachment(_attachment_digest(number))


def _committed(database_url: str, number: int, result: Any) -> bool:
    """Whether job ``number``'s row can be read from a new connection (not the writer's)."""
    from sqlalchemy import create_engine, text

    from crawler.writer import CaptureResult

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            if isinstance(result, CaptureResult):
                found = connection.execute(text("SELECT id FROM captures WHERE id = :id"),
                                           {"id": result.capture_id}).scalar()
                return found == result.capture_id
            found = connection.execute(text("SELECT id FROM attachments WHERE sha256 = :sha"),
                                       {"sha": _attachment_digest(number)}).scalar()
            return found is not None and found == result
    finally:
        engine.dispose()


def _acknowledge(acks: list[dict[str, Any]], database_url: str, number: int) -> tuple[Callable[..., None], ...]:
    """Callback and errback of job ``number``: note the acknowledgement in firing order."""
    from crawler.writer import WriteFailed

    def done(result: Any) -> None:
        acks.append({"number": number, "ok": True, "committed": _committed(database_url, number, result)})

    def failed(failure: Any) -> None:
        error = failure.value
        acks.append({"number": number, "ok": False, "error": type(error).__name__,
                     "write_failed": isinstance(error, WriteFailed), "kind": getattr(error, "kind", None),
                     "message": str(error)})

    return done, failed


def hold_archive_lock(database_url: str) -> Callable[[], None]:
    """Take the archive's write lock from a connection of our own, as a long write of another
    process would (SQLite's write lock; on PostgreSQL an exclusive lock on the table the jobs
    write): the writer's next batch waits until the returned function releases it."""
    from sqlalchemy import create_engine, make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        holder = sqlite3.connect(url.database, isolation_level=None, timeout=30)
        holder.execute("BEGIN IMMEDIATE")

        def release_sqlite() -> None:
            holder.execute("ROLLBACK")
            holder.close()

        return release_sqlite
    engine = create_engine(url)
    connection = engine.connect()
    connection.begin()
    connection.exec_driver_sql("LOCK TABLE attachments IN ACCESS EXCLUSIVE MODE")

    def release_postgres() -> None:
        connection.rollback()
        connection.close()
        engine.dispose()

    return release_postgres


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _crawl_then_close(options: dict[str, Any]) -> None:
    """A crawl's life: jobs submitted and acknowledged while the reactor runs, a last burst
    still queued when the reactor stops, then ``close()`` as the runner calls it."""
    from twisted.internet import defer
    from twisted.internet import reactor as installed

    from crawler.writer.transport import WriterConfig, start_writer

    reactor: Any = installed  # the asyncio reactor writer_script's caller installed

    database_url = options["database_url"]
    crawl = _start_crawl(database_url)
    writer = start_writer(WriterConfig(database_url=database_url, warc_directory=Path(options["warc"]),
                                       warc_max_bytes=1 << 30, mode=options["mode"]))
    acks: list[dict[str, Any]] = []
    late: list[int] = []
    release: list[Callable[[], None]] = []

    def acknowledged_late(_: Any, number: int) -> None:
        late.append(number)

    def last_burst(_: Any) -> None:
        # The database is slow as the crawl ends: the last jobs are still waiting in the
        # writer when the reactor stops.
        release.append(hold_archive_lock(database_url))
        for number in range(QUEUED_AT_CLOSE):
            writer.submit(_store_attachment(_attachment_digest(number, closing=True))).addBoth(
                acknowledged_late, number)
        reactor.stop()

    def crawl_pages() -> None:
        waiting = []
        for number in range(JOBS):
            done, failed = _acknowledge(acks, database_url, number)
            waiting.append(writer.submit(_job(crawl, number)).addCallbacks(done, failed))
        defer.DeferredList(waiting).addCallback(last_burst)

    reactor.callWhenRunning(crawl_pages)
    reactor.callLater(90, reactor.stop)  # a hung writer must not hang the test
    reactor.run()
    for released in release:
        released()
    writer.close()
    _emit({"acks": acks, "late": late, "close_errors": writer.close_errors})


def _crawl_until_killed(options: dict[str, Any]) -> None:
    """A crawl in full swing (a job every 10 ms) that the test kills with SIGKILL."""
    from twisted.internet import reactor as installed
    from twisted.internet import task

    from crawler.writer.transport import WriterConfig, start_writer

    reactor: Any = installed

    database_url = options["database_url"]
    _start_crawl(database_url)
    writer = start_writer(WriterConfig(database_url=database_url, warc_directory=Path(options["warc"]),
                                       warc_max_bytes=1 << 30, mode="process"))
    child_pid = writer._child.pid  # type: ignore[attr-defined]
    numbers = iter(range(10**9))
    announced: list[bool] = []

    def announce(_: Any) -> None:
        if not announced:  # the writer has committed a batch: it is up and working
            announced.append(True)
            _emit({"child_pid": child_pid, "pid": os.getpid()})

    def submit() -> None:
        writer.submit(_store_attachment(_attachment_digest(next(numbers)))).addCallback(announce)

    task.LoopingCall(submit).start(0.01)
    reactor.run()


def writer_script() -> None:
    """Entry point of the subprocess: ``sys.argv[1]`` is the JSON of the scenario's options."""
    options = json.loads(sys.argv[1])
    if options["scenario"] == "killed":
        _crawl_until_killed(options)
    else:
        _crawl_then_close(options)


# --- the tests ------------------------------------------------------------------------------


def _script(options: dict[str, Any]) -> list[str]:
    return [sys.executable, "-c", SCRIPT, json.dumps(options)]


def _run_script(options: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(_script(options), cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", MODES)
def test_acknowledged_means_committed_in_submission_order(database_url: str, tmp_path: Path, mode: str) -> None:
    """A crawl of many pages: attachments, page captures and a page failure written in several batches
    are acknowledged in the order they were submitted, each only once its row can be read from
    another connection; a bad item (a failure of an unknown site) fails alone with WriteFailed;
    and what is still queued when the reactor stops is written by close()."""
    warc = tmp_path / "warc"
    result = _run_script({"scenario": "closed", "mode": mode, "database_url": database_url, "warc": str(warc)})

    acks = result["acks"]
    assert [ack["number"] for ack in acks] == list(range(JOBS))
    failed = [ack for ack in acks if not ack["ok"]]
    assert [(ack["number"], ack["write_failed"], ack["kind"]) for ack in failed] == [(FAILING, True, "storage")]
    assert "unknown site 'no-such-site'" in failed[0]["message"]
    not_committed = [ack["number"] for ack in acks if ack["ok"] and not ack["committed"]]
    assert not_committed == []

    # close(): the burst still queued when the reactor stopped (none of it acknowledged) is in
    # the archive once close() returns.
    assert result["late"] == []
    closing = [_attachment_digest(number, closing=True) for number in range(QUEUED_AT_CLOSE)]
    stored = {row[0] for row in query(database_url, "SELECT sha256 FROM attachments")}
    assert set(closing) <= stored
    pages = len(SAME_BODY) + 1  # jobs that were captures, not attachments
    assert len(stored) == JOBS - pages - 1 + QUEUED_AT_CLOSE  # all but the pages and the bad item
    assert query(database_url, "SELECT count(*) FROM crawl_errors") == [(0,)]
    assert result["close_errors"] == []

    # The pages' evidence: the WARC file was finished (no .open left) and every row points at it.
    assert all(not path.name.endswith(".open") for path in warc.iterdir())
    assert check_captures_point_at_evidence(database_url, warc) == 3
    first, repeat = (f"{COLUMN}202401/t20240115_{number}.htm" for number in SAME_BODY)
    assert dict(query(database_url, "SELECT url, record_type FROM captures")) == {
        first: "response", repeat: "revisit", f"{COLUMN}202402/t20240201_{OTHER_PAGE}.htm": "response"}
    check_with_warcio(warc_files(warc))


def _read_line(stream: Any, timeout: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        assert selector.select(timeout), f"no output within {timeout} s"
    return stream.readline()


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for init to reap it has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_the_writer_process_dies_with_a_killed_crawl(database_url: str, tmp_path: Path) -> None:
    """A kill -9 of the crawl process (OOM killer, an operator) in the middle of a crawl, while
    its writer waits on a busy database: the writer process does not stay behind holding the
    database connection and the WARC file. (Waiting on the database, the writer does not notice
    its pipe closing; only the kernel's parent-death signal can end it.)"""
    options = {"scenario": "killed", "mode": "process", "database_url": database_url, "warc": str(tmp_path / "warc")}
    crawl = subprocess.Popen(_script(options), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    child_pid = 0
    release: Callable[[], None] | None = None
    try:
        started = json.loads(_read_line(crawl.stdout, 60))
        child_pid = started["child_pid"]
        assert started["pid"] == crawl.pid
        assert _alive(child_pid) and _parent_of(child_pid) == crawl.pid
        release = hold_archive_lock(database_url)
        time.sleep(0.5)  # jobs keep coming: the writer's next batch now waits for the lock
        assert _alive(child_pid)
        os.kill(crawl.pid, signal.SIGKILL)
        crawl.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child_pid), f"writer process {child_pid} outlived the killed crawl"
    finally:
        if release is not None:
            release()
        if crawl.poll() is None:
            crawl.kill()
            crawl.wait()
        if child_pid and _alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)  # only the writer this test started
