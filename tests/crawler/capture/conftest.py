"""Helpers for the capture tests: read the archive and check every capture's WARC record."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from warcio.archiveiterator import ArchiveIterator

from storage.evidence import resolve
from tests.crawler.harness import demo  # noqa: F401  (fixture)


def query(database_url: str, sql: str, **params: object) -> list[tuple]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def warc_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith((".warc.gz", ".warc.gz.open")))


def check_with_warcio(files: list[Path]) -> None:
    """``warcio check`` and ``warcio index`` accept every file (run as a reader would)."""
    assert files
    warcio = [sys.executable, "-m", "warcio.cli"]
    for command in ("check", "index"):
        done = subprocess.run([*warcio, command, *map(str, files)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"warcio {command}: {done.stdout[-2000:]}{done.stderr[-2000:]}"


def check_captures_point_at_evidence(database_url: str, folder: Path) -> int:
    """Every captures row names a WARC record that exists, with its id and type; the count."""
    rows = query(database_url, "SELECT id, url, record_type, warc_file, warc_offset, warc_record_id"
                 " FROM captures ORDER BY id")
    for capture_id, url, record_type, warc_file, offset, record_id in rows:
        path = resolve(folder, warc_file)
        assert path.exists(), f"capture {capture_id}: {warc_file} is missing"
        with path.open("rb") as handle:
            handle.seek(offset)
            record = next(iter(ArchiveIterator(handle)))
            assert record.rec_headers.get_header("WARC-Record-ID") == record_id
            assert record.rec_headers.get_header("WARC-Target-URI") == url
            assert record.rec_type == record_type
    return len(rows)
