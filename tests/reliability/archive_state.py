"""What an archive holds, as one comparable value, and the invariants a crash must not break.

:func:`archive_state` is the archive's fingerprint: which reports it holds (URL, title, year),
the content hash of every version of each, in order, and what each report's attachment links
led to (the file's sha256, or why there is none). Two archives with equal fingerprints hold
the same reports with the same texts, whatever their row ids, timestamps, runs or backend -- so
"a crawl that was stopped and restarted ends where an uninterrupted crawl ends" is one equality.

The ``check_*`` functions assert what must hold after any crash, on SQLite and PostgreSQL alike:
every reference between documents, versions and captures resolves, no content was captured
twice as a full response, and (SQLite only) the file itself is sound.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from itertools import groupby

from tests.crawler.capture.conftest import query


@dataclass(frozen=True)
class ArchivedReport:
    url: str
    title: str | None
    report_year: int | None
    content_hashes: tuple[str, ...]  # one per version, oldest first
    attachments: frozenset[tuple[str, str | None, str | None]]  # (link URL, file sha256, error)


def archive_state(database_url: str) -> frozenset[ArchivedReport]:
    """Every archived report with its versions' content hashes and its attachment links (no
    ids, times or run numbers)."""
    rows = query(database_url,
                 "SELECT d.url, d.title, d.report_year, v.content_hash FROM documents d"
                 " JOIN versions v ON v.document_id = d.id ORDER BY d.url, v.number")
    links = query(database_url,
                  "SELECT d.url, l.url, a.sha256, l.error FROM attachment_links l"
                  " JOIN documents d ON d.id = l.document_id LEFT JOIN attachments a ON a.id = l.attachment_id")
    attachments: dict[str, set[tuple[str, str | None, str | None]]] = {}
    for document_url, *link in links:
        attachments.setdefault(document_url, set()).add(tuple(link))
    return frozenset(
        ArchivedReport(url, title, year, tuple(row[3] for row in versions), frozenset(attachments.get(url, ())))
        for (url, title, year), versions in groupby(rows, key=lambda row: row[:3])
    )


def count(database_url: str, sql: str) -> int:
    return int(query(database_url, sql)[0][0])


def check_references(database_url: str) -> None:
    """Every row a crash could have half-written points at rows that exist: no version without
    its document or capture, no document without a latest version of its own."""
    assert count(database_url, "SELECT count(*) FROM versions v LEFT JOIN documents d"
                 " ON d.id = v.document_id WHERE d.id IS NULL") == 0, "a version without its document"
    assert count(database_url, "SELECT count(*) FROM documents WHERE latest_version_id IS NULL") == 0, (
        "a document without a latest version")
    assert count(database_url, "SELECT count(*) FROM documents d LEFT JOIN versions v"
                 " ON v.id = d.latest_version_id AND v.document_id = d.id WHERE v.id IS NULL") == 0, (
        "a document whose latest version is missing or belongs to another document")
    assert count(database_url, "SELECT count(*) FROM versions v LEFT JOIN captures c"
                 " ON c.id = v.capture_id WHERE c.id IS NULL") == 0, "a version without its capture"
    assert count(database_url, "SELECT count(*) FROM captures r LEFT JOIN captures c"
                 " ON c.id = r.revisit_of_id WHERE r.revisit_of_id IS NOT NULL AND c.id IS NULL") == 0, (
        "a revisit pointing at a capture that does not exist")


def check_no_duplicate_evidence(database_url: str) -> None:
    """The same bytes from the same URL are stored once as a ``response``; fetching them again
    (a restart re-reading a page) may only add a ``revisit`` that refers to it."""
    duplicated = query(database_url,
                       "SELECT url, payload_sha256, count(*) FROM captures WHERE record_type = 'response'"
                       " AND payload_sha256 IS NOT NULL GROUP BY url, payload_sha256 HAVING count(*) > 1")
    assert duplicated == [], duplicated


def check_sqlite_file(database_url: str) -> None:
    """SQLite's own verdict on the file a killed process left (with its WAL): sound pages and
    indexes, and no row breaking a declared foreign key. A no-op on other backends."""
    if not database_url.startswith("sqlite"):
        return
    connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        connection.close()
