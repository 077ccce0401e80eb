"""Reliability row 5: SIGTERM in the middle of a crawl, then a restart.

A service manager (systemd stopping the unit, a container runtime, a deploy) sends SIGTERM to a
running `nianbao crawl`. The crawl must stop gracefully -- exit 143, one line on stderr and no
traceback, the run recorded as ``interrupted`` -- and the next crawl must finish the work: every
report archived exactly once, nothing captured twice as a full response, every row's WARC
evidence on disk, and an archive equal to the one an uninterrupted crawl leaves.
"""

from __future__ import annotations

import signal
from pathlib import Path

from crawler.demo.server import DemoServer
from crawler.stopping import interrupt_message
from tests.crawler.capture.conftest import check_captures_point_at_evidence, query
from tests.reliability.archive_state import (
    ArchivedReport,
    archive_state,
    check_no_duplicate_evidence,
    check_references,
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


def test_a_crawl_stopped_by_sigterm_is_interrupted_and_a_restart_reaches_the_uninterrupted_archive(
    slow_bulk_site: DemoServer, uninterrupted_state: frozenset[ArchivedReport],  # noqa: F811
    tmp_path: Path, database_url: str,
) -> None:
    db = database_url
    sites = write_sites_file(tmp_path, slow_bulk_site)
    process = start_crawl(tmp_path, db, sites)
    try:
        wait_for_rows(db, "documents", 5, process)  # well into the crawl, far from its end
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        end(process)

    assert process.returncode == 143, stdout + stderr
    assert stderr.splitlines() == [interrupt_message(signal.SIGTERM)], stderr  # one line, no traceback
    assert "Traceback" not in stdout
    assert query(db, "SELECT id, status FROM crawl_runs") == [(1, "interrupted")]
    assert "running" not in {status for (status,) in query(db, "SELECT status FROM site_crawls")}
    stopped_with = count(db, "SELECT count(*) FROM documents")
    assert 5 <= stopped_with < EXPECTED_REPORTS  # it really stopped in the middle
    # What the graceful stop kept is whole already: the restart must not have to repair it.
    check_references(db)
    check_captures_point_at_evidence(db, warc_folder(tmp_path))

    again = run_crawl(tmp_path, db, sites)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "abandoned" not in again.stderr  # the interrupted run was closed by its own process
    assert query(db, "SELECT id, status FROM crawl_runs ORDER BY id") == [(1, "interrupted"), (2, "finished")]
    documents = query(db, "SELECT url, count(*) FROM documents GROUP BY url")
    assert len(documents) == EXPECTED_REPORTS and {n for _, n in documents} == {1}
    versions = query(db, "SELECT document_id, count(*) FROM versions GROUP BY document_id")
    assert len(versions) == EXPECTED_REPORTS and {n for _, n in versions} == {1}
    # The restart added only what the first run had not archived.
    assert count(db, "SELECT count(*) FROM versions WHERE first_run_id = 2") == EXPECTED_REPORTS - stopped_with
    check_references(db)
    check_no_duplicate_evidence(db)
    assert check_captures_point_at_evidence(db, warc_folder(tmp_path)) > 0
    assert archive_state(db) == uninterrupted_state
