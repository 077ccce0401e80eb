"""``nianbao export``: JSONL/CSV of documents, WARC + CDXJ of captures."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.export import DOCUMENT_COLUMNS, surt
from tests.crawler.capture.conftest import check_with_warcio, query
from tests.crawler.harness import FAST_CRAWL, RunningDemo, run_nianbao


@pytest.fixture
def crawled(demo: RunningDemo, tmp_path: Path, database_url: str) -> tuple[RunningDemo, str]:
    db = database_url
    for night in ("2026-03-02T01:00:00+00:00", "2026-03-03T01:00:00+00:00"):
        done = run_nianbao("--db", db, "--sites", str(demo.sites_file), "crawl", *FAST_CRAWL,
                           "-s", f"NIANBAO_NOW={night}", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    return demo, db


def test_jsonl_has_every_document_with_stable_keys(crawled, tmp_path: Path) -> None:
    demo, db = crawled
    done = run_nianbao("--db", db, "export", "--format", "jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == len(demo.site.expected_reports)
    assert all(list(row) == list(DOCUMENT_COLUMNS) for row in rows)
    by_url = {row["url"]: row for row in rows}
    report = demo.site.expected_reports[0]
    row = by_url[demo.url(report.path)]
    assert (row["site"], row["title"], row["pub_date"]) == (report.site_key, report.title, report.pub_date)
    assert row["http_status"] == 200 and row["warc_file"].endswith(".warc.gz") and row["body_text"]


def test_csv_with_bom_for_excel_and_site_filter(crawled, tmp_path: Path) -> None:
    demo, db = crawled
    out = tmp_path / "tjj.csv"
    done = run_nianbao("--db", db, "export", "--format", "csv", "--bom", "--site", "demo-tjj",
                       "--output", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert tuple(rows[0]) == DOCUMENT_COLUMNS
    expected = [r for r in demo.site.expected_reports if r.site_key == "demo-tjj"]
    assert len(rows) - 1 == len(expected)
    assert {r[1] for r in rows[1:]} == {"demo-tjj"}


def test_since_selects_recent_changes(crawled, tmp_path: Path) -> None:
    db = crawled[1]
    done = run_nianbao("--db", db, "export", "--since", "2999-01-01", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout == ""
    bad = run_nianbao("--db", db, "export", "--since", "yesterday", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1


def test_warc_export_is_checked_and_indexed_for_replay(crawled, tmp_path: Path) -> None:
    db = crawled[1]
    out = tmp_path / "export" / "demo-xian.warc.gz"
    done = run_nianbao("--db", db, "export", "--format", "warc", "--site", "demo-xian",
                       "--output", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    check_with_warcio([out])
    # Every capture of the site is in it (the second night's 304 revisits with the responses
    # they refer to), each response/revisit with its request.
    site_records = {row[0] for row in query(
        db, "SELECT c.warc_record_id FROM captures c JOIN sites s ON s.id = c.site_id"
        " WHERE s.key = 'demo-xian'")}
    with out.open("rb") as handle:
        records = [(r.rec_type, r.rec_headers) for r in ArchiveIterator(handle)]
    assert records[0][0] == "warcinfo"
    exported = {h.get_header("WARC-Record-ID") for kind, h in records if kind in ("response", "revisit")}
    assert site_records <= exported
    responses = {h.get_header("WARC-Record-ID") for kind, h in records if kind == "response"}
    assert {h.get_header("WARC-Refers-To") for kind, h in records if kind == "revisit"} <= responses
    assert sum(1 for kind, _ in records if kind == "request") == len(exported)
    # The CDXJ index: sorted SURT keys, offsets that point at the records.
    lines = (tmp_path / "export" / "demo-xian.cdxj").read_text(encoding="utf-8").splitlines()
    assert lines == sorted(lines) and len(lines) == len(exported)
    with out.open("rb") as handle:
        for line in lines:
            key, timestamp, fields = line.split(" ", 2)
            entry = json.loads(fields)
            assert key == surt(entry["url"]) and len(timestamp) == 14
            handle.seek(int(entry["offset"]))
            record = next(iter(ArchiveIterator(handle)))
            assert record.rec_headers.get_header("WARC-Target-URI") == entry["url"]


def test_surt_keys() -> None:
    assert surt("http://www.Example.gov.cn/a/B.htm?z=1&a=2") == "cn,gov,example)/a/b.htm?a=2&z=1"
    assert surt("https://127.0.0.1:8765/x") == "127.0.0.1:8765)/x"
    assert surt("http://example.com:80/") == "com,example)/"
