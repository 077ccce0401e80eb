"""Killing a crawl mid-run (SIGTERM, SIGKILL) leaves readable WARC files, no database row
pointing at missing evidence, and a next run that completes the work without duplicates.

This is the write path's durability contract (README, "The crawl's write path and what a kill
can lose"): the archive writer syncs a batch's WARC records before committing the rows that point
at them, a kill loses at most the batch in flight and the jobs queued behind it (leaving, at
most, WARC records no row points at), the writer process dies with the crawl, and a URL without
a committed capture is fetched again by the next crawl."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from crawler.demo.bulk import build_bulk_site, bulk_sites_toml
from crawler.demo.server import DemoServer
from tests.crawler.capture.conftest import (
    check_captures_point_at_evidence,
    check_with_warcio,
    query,
    warc_files,
)

BUREAUS = 6
REPORTS = 8
SLOW = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "RETRY_TIMES=0",
        "-s", "DOWNLOAD_TIMEOUT=20", "-s", "CONCURRENT_REQUESTS=2",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2",
        "-s", "NIANBAO_ATTACHMENT_MAX_BYTES=1"]


@pytest.fixture
def slow_site() -> Iterator[DemoServer]:
    site, _ = build_bulk_site(BUREAUS, REPORTS)
    for path, page in site.pages.items():
        if path.endswith((".html", ".pdf")) and not path.endswith("list.html"):
            page.delay = 0.15  # slow enough to be killed in the middle
    with DemoServer(site) as server:
        yield server


def _command(tmp_path: Path, db: str, sites: Path) -> list[str]:
    return [sys.executable, "-m", "crawler", "--db", db, "--sites", str(sites), "crawl", "-q", *SLOW]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "NIANBAO_DATA_DIR": str(tmp_path / "nianbao-data")}
    env.pop("NIANBAO_DATABASE_URL", None)
    return env


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    children: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        children.update(int(child) for child in (task / "children").read_text().split())
    return children


def _wait_until_gone(pids: set[int], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = {pid for pid in pids if _alive(pid)}
        if not alive:
            return
        time.sleep(0.1)
    pytest.fail(f"processes of the killed crawl still running: {sorted(alive)}")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left to collect


def _wait_for_captures(db: str, at_least: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, "the crawl ended before it could be killed"
        try:
            if query(db, "SELECT count(*) FROM captures")[0][0] >= at_least:
                return
        except DBAPIError:
            pass  # not migrated yet
        time.sleep(0.1)
    pytest.fail("the crawl captured too little to be killed mid-run")


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_killed_crawl_leaves_consistent_evidence_and_the_next_run_completes(
    slow_site: DemoServer, tmp_path: Path, database_url: str, signal_number: int
) -> None:
    sites = tmp_path / "sites.toml"
    sites.write_text(bulk_sites_toml(slow_site.base_url, BUREAUS), encoding="utf-8")
    db = database_url
    folder = tmp_path / "nianbao-data" / "warc"

    process = subprocess.Popen(_command(tmp_path, db, sites), cwd=tmp_path, env=_env(tmp_path),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_captures(db, 12, process)
        # The crawl's own processes: its archive writer (crawler/writer) among them.
        helpers = _children(process.pid)
        process.send_signal(signal_number)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert helpers, "the crawl runs its archive writer in a child process"
    # Nothing writes on after the crawl is gone: the writer dies with it, even on SIGKILL.
    _wait_until_gone(helpers)

    archived = query(db, "SELECT count(*) FROM documents")[0][0]
    assert archived < BUREAUS * REPORTS  # it really was stopped mid-run
    # What the killed run left: every file reads cleanly (a SIGKILL leaves the file being
    # written as NAME.warc.gz.open, made of whole records), every row's evidence exists.
    check_with_warcio(warc_files(folder))
    check_captures_point_at_evidence(db, folder)
    orphans = query(db, "SELECT count(*) FROM versions WHERE capture_id IS NULL")[0][0]
    assert orphans == 0

    again = subprocess.run(_command(tmp_path, db, sites), cwd=tmp_path, env=_env(tmp_path),
                           capture_output=True, text=True, timeout=180, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    files = warc_files(folder)
    assert all(f.name.endswith(".warc.gz") for f in files)  # the killed run's file was finished
    check_with_warcio(files)
    check_captures_point_at_evidence(db, folder)
    documents = query(db, "SELECT url, count(*) FROM documents GROUP BY url")
    assert len(documents) == BUREAUS * REPORTS and {n for _, n in documents} == {1}
    versions = query(db, "SELECT document_id, count(*) FROM versions GROUP BY document_id")
    assert len(versions) == BUREAUS * REPORTS and {n for _, n in versions} == {1}
    assert query(db, "SELECT count(*) FROM versions WHERE capture_id IS NULL")[0][0] == 0


def test_a_warc_folder_that_breaks_mid_crawl_stops_it_with_one_error(
    slow_site: DemoServer, tmp_path: Path, database_url: str
) -> None:
    """The disk-full case, as root can reproduce it: the WARC folder becomes unusable while the
    crawl runs (every record starts a new file here, so the next write needs the folder)."""
    sites = tmp_path / "sites.toml"
    sites.write_text(bulk_sites_toml(slow_site.base_url, BUREAUS), encoding="utf-8")
    db = database_url
    folder = tmp_path / "nianbao-data" / "warc"
    moved = tmp_path / "warc-moved"
    process = subprocess.Popen([*_command(tmp_path, db, sites), "-s", "NIANBAO_WARC_MAX_BYTES=1"],
                               cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    moved.write_text("not a folder any more")
    try:
        _wait_for_captures(db, 6, process)
        # Swap the folder and the file in one step: renaming the folder away first left a window
        # in which the crawl re-created the folder before the file could take its place.
        _exchange(folder, moved)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "stopped" in lines[0] and "WARC" in lines[0], stderr
    assert query(db, "SELECT count(*) FROM documents")[0][0] < BUREAUS * REPORTS
    # Nothing half-recorded: every row's evidence is whole in the files written before.
    _exchange(folder, moved)
    check_with_warcio(warc_files(folder))
    check_captures_point_at_evidence(db, folder)


def _exchange(first: Path, second: Path) -> None:
    """Atomically swap two paths (Linux renameat2 with RENAME_EXCHANGE)."""
    import ctypes
    import os

    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd, rename_exchange = -100, 2
    if libc.renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error), str(first))
