"""Whole crawls of the demo site with capture on: WARC evidence, conditional re-crawls, --raw."""

from __future__ import annotations

from pathlib import Path

from tests.crawler.capture.conftest import (
    check_captures_point_at_evidence,
    check_with_warcio,
    query,
    warc_files,
)
from tests.crawler.harness import FAST_CRAWL, RunningDemo, run_nianbao

NIGHT0 = "2026-03-02T01:00:00+00:00"
NIGHT1 = "2026-03-03T01:00:00+00:00"


def _crawl(demo: RunningDemo, tmp_path: Path, db: str, now: str, *extra: str):
    result = run_nianbao("--db", db, "--sites", str(demo.sites_file), "crawl", *FAST_CRAWL,
                         "-s", f"NIANBAO_NOW={now}", *extra, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_every_fetch_is_captured_as_checked_warc_evidence(
    demo: RunningDemo, tmp_path: Path, database_url: str
) -> None:
    db = database_url
    _crawl(demo, tmp_path, db, NIGHT0)
    folder = tmp_path / "nianbao-data" / "warc"
    files = warc_files(folder)
    assert all(f.name.endswith(".warc.gz") for f in files)  # finished files only
    check_with_warcio(files)

    captured = check_captures_point_at_evidence(db, folder)
    # Every answered fetch, nothing else (the slow page timed out: there was no answer).
    timeouts = sum(1 for f in demo.site.expected_failures if f.kind == "timeout")
    assert captured == sum(demo.server.request_counts.values()) - timeouts
    statuses = dict(query(db, "SELECT http_status, count(*) FROM captures GROUP BY http_status"))
    assert statuses[404] == 1  # the dead link is evidence too
    # Each version points at the 200 capture of its own URL, whose payload is the page.
    rows = query(db, "SELECT d.url, c.url, c.http_status, c.payload_sha256, c.etag"
                 " FROM versions v JOIN documents d ON d.id = v.document_id"
                 " JOIN captures c ON c.id = v.capture_id")
    assert len(rows) == len(demo.site.expected_reports)
    import hashlib

    for doc_url, capture_url, status, sha256, etag in rows:
        assert doc_url == capture_url and status == 200 and etag
        page = demo.server.page(doc_url.removeprefix(demo.server.base_url))
        assert sha256 == hashlib.sha256(page.body).hexdigest()
    # Attachments (the demo's two PDFs -- one of them a PDF-only report's -- and its DOCX, and the
    # two page images of its scanned report, which the report fetches before it is recorded) point
    # at the capture of their bytes.
    rows = query(db, "SELECT a.sha256, c.payload_sha256, c.page_kind FROM attachments a"
                 " JOIN captures c ON c.id = a.capture_id")
    assert len(rows) == query(db, "SELECT count(*) FROM attachments")[0][0] == 5
    assert all(a == c and kind == "attachment" for a, c, kind in rows)


def test_a_recrawl_revalidates_and_adds_nothing(
    demo: RunningDemo, tmp_path: Path, database_url: str
) -> None:
    _crawl(demo, tmp_path, database_url, NIGHT0)
    first_requests = sum(demo.server.request_counts.values())
    payload_before = query(database_url, "SELECT coalesce(sum(payload_bytes), 0) FROM captures"
                           " WHERE http_status <> 404")[0][0]
    seen_before = dict(query(database_url, "SELECT url, last_seen_at FROM documents"))
    # (On a loaded machine a report may time out on the first night; it is new on the second.)
    missed = len(demo.site.expected_reports) - len(seen_before)

    _crawl(demo, tmp_path, database_url, NIGHT1)
    second_requests = sum(demo.server.request_counts.values()) - first_requests
    run2 = query(database_url, "SELECT max(id) FROM crawl_runs")[0][0]
    counts = query(database_url, "SELECT sum(new_documents), sum(new_versions), sum(unchanged),"
                   " sum(failures) FROM site_crawls WHERE run_id = :run", run=run2)[0]
    assert counts == (missed, 0, len(seen_before), len(demo.site.expected_failures))
    # Lists were asked conditionally and answered 304 (server-not-modified revisits, no
    # payload); known report pages were not due, so they were not requested at all.
    statuses = dict(query(database_url, "SELECT http_status, count(*) FROM captures"
                          " WHERE run_id = :run GROUP BY http_status", run=run2))
    assert statuses.get(200, 0) == 0 and statuses[304] > 0
    assert second_requests < first_requests / 2
    new_payload = query(database_url, "SELECT coalesce(sum(payload_bytes), 0) FROM captures"
                        " WHERE run_id = :run AND http_status <> 404", run=run2)[0][0]
    assert new_payload == 0 < payload_before
    # Every report stayed "seen", including the ones answered from the archive.
    seen_after = dict(query(database_url, "SELECT url, last_seen_at FROM documents"))
    assert all(seen_after[url] > seen_before[url] for url in seen_before)
    check_with_warcio(warc_files(tmp_path / "nianbao-data" / "warc"))
    check_captures_point_at_evidence(database_url, tmp_path / "nianbao-data" / "warc")


def test_a_silent_edit_gets_one_new_version_within_the_window(
    demo: RunningDemo, tmp_path: Path, database_url: str
) -> None:
    sites = demo.sites_file.read_text(encoding="utf-8")
    demo.sites_file.write_text("[defaults]\nrevalidate_days = 2\n\n" + sites, encoding="utf-8")
    db = database_url
    _crawl(demo, tmp_path, db, NIGHT0)
    edited = demo.site.expected_reports[0]
    page = demo.server.page(edited.path)
    changed = page.body.replace("根据".encode(), "经更正，根据".encode(), 1)
    assert changed != page.body
    demo.server.replace_page(edited.path, changed)
    for night in ("2026-03-03T01:00:00+00:00", "2026-03-04T01:00:00+00:00"):
        _crawl(demo, tmp_path, db, night)
    versions = dict(query(db, "SELECT d.url, count(v.id) FROM documents d"
                          " JOIN versions v ON v.document_id = d.id GROUP BY d.url"))
    assert versions.pop(demo.url(edited.path)) == 2
    assert set(versions.values()) == {1}
    # The new version's capture is a full response; its payload is the edited page.
    rows = query(db, "SELECT c.record_type, c.http_status FROM versions v JOIN captures c"
                 " ON c.id = v.capture_id WHERE v.number = 2")
    assert rows == [("response", 200)]


def test_show_raw_replays_the_archived_page(demo: RunningDemo, tmp_path: Path, database_url: str) -> None:
    db = database_url
    _crawl(demo, tmp_path, db, NIGHT0)
    expected = demo.site.expected_reports[-1]  # a GBK page: bytes, not text
    doc_id = query(db, "SELECT id FROM documents WHERE url = :url", url=demo.url(expected.path))[0][0]
    import subprocess
    import sys

    shown = subprocess.run([sys.executable, "-m", "crawler", "--db", db, "show", str(doc_id), "--raw"],
                           cwd=tmp_path, capture_output=True, check=False,
                           env={**__import__("os").environ,
                                "NIANBAO_DATA_DIR": str(tmp_path / "nianbao-data")})
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == demo.server.page(expected.path).body


def test_an_unusable_warc_folder_stops_the_crawl_with_one_error(
    demo: RunningDemo, tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "not-a-folder").write_text("x")
    db = database_url
    result = run_nianbao("--db", db, "--sites", str(demo.sites_file), "crawl", *FAST_CRAWL,
                         cwd=tmp_path,
                         env={"NIANBAO_WARC_DIR": str(tmp_path / "not-a-folder" / "warc")})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "WARC" in lines[0] and "not-a-folder" in lines[0], result.stderr
    assert sum(demo.server.request_counts.values()) == 0  # nothing fetched
    assert query(db, "SELECT count(*) FROM captures")[0][0] == 0
    assert query(db, "SELECT count(*) FROM crawl_runs")[0][0] == 0  # nothing half-recorded
