"""Reliability row 6: kill -9 while the crawl is writing, then the archive's health and a re-run.

SIGKILL stands for everything that ends a crawl without warning: the OOM killer, a power cut,
`kill -9` by an operator. It lands while pages are being archived -- the archive writer appending
a batch's WARC records and committing its captures, documents and versions -- at a few different
depths into the crawl. The contract it checks (README, "The crawl's write path"): a kill loses at
most the batch in flight and the jobs queued behind it, never part of an item, and never a row
without its evidence. What
the dead process left must be sound (SQLite's ``integrity_check`` and ``foreign_key_check`` on
the file and its WAL; on both backends every reference resolves and every capture's WARC record
exists), and the next crawl must close the dead run as ``abandoned`` and reach the same archive
an uninterrupted crawl reaches.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from crawler.demo.server import DemoServer
from tests.crawler.capture.conftest import check_captures_point_at_evidence, query
from tests.reliability.archive_state import (
    ArchivedReport,
    archive_state,
    check_no_duplicate_evidence,
    check_references,
    check_sqlite_file,
    count,
)
from tests.reliability.bulk_crawl import (  # noqa: F401  (fixtures)
    EXPECTED_REPORTS,
    end,
    run_crawl,
    slow_bulk_site,
    start_crawl,
    uninterrupted_state,
    wait_for_rows,
    warc_folder,
    write_sites_file,
)


def _check_what_a_crash_may_leave(database_url: str, folder: Path) -> None:
    check_sqlite_file(database_url)
    check_references(database_url)
    check_no_duplicate_evidence(database_url)
    check_captures_point_at_evidence(database_url, warc_folder(folder))


# Captures already written when the kill lands (a whole crawl writes about 60): just past the
# first list pages (the first reports are being written), in the thick of archiving report
# pages, and late, when attachments are being fetched and linked as well.
@pytest.mark.parametrize("captures_before_kill", [3, 20, 42], ids=["early", "midway", "late"])
def test_a_crawl_killed_while_writing_leaves_a_sound_archive_and_a_rerun_completes_it(
    slow_bulk_site: DemoServer, uninterrupted_state: frozenset[ArchivedReport],  # noqa: F811
    tmp_path: Path, database_url: str, captures_before_kill: int,
) -> None:
    db = database_url
    sites = write_sites_file(tmp_path, slow_bulk_site)
    process = start_crawl(tmp_path, db, sites)
    try:
        wait_for_rows(db, "captures", captures_before_kill, process)
        process.send_signal(signal.SIGKILL)  # at once: the crawl is in the middle of its writes
        process.communicate(timeout=30)
    finally:
        end(process)

    assert process.returncode == -signal.SIGKILL
    assert query(db, "SELECT status FROM crawl_runs WHERE id = 1") == [("running",)]  # nobody closed it
    assert count(db, "SELECT count(*) FROM documents") < EXPECTED_REPORTS  # it died mid-crawl
    _check_what_a_crash_may_leave(db, tmp_path)

    again = run_crawl(tmp_path, db, sites)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Closed crawl run(s) 1 as abandoned" in again.stderr
    assert query(db, "SELECT id, status FROM crawl_runs ORDER BY id") == [(1, "abandoned"), (2, "finished")]
    assert {status for (status,) in query(db, "SELECT status FROM site_crawls WHERE run_id = 1")} <= {
        "abandoned", "ok"}
    assert count(db, "SELECT count(*) FROM crawl_leases") == 0
    _check_what_a_crash_may_leave(db, tmp_path)
    assert archive_state(db) == uninterrupted_state
