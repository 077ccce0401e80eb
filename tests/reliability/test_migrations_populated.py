"""Migrations of an archive that holds a real crawl. A demo crawl (the demo bureau site on a
real loopback server: reports, versions, attachments, captures, failures, listings) fills an
archive at head; it is taken down to revision 0006 -- what an operator does to roll back a
release -- up to head, down to 0006 and up again. At every step each table that exists keeps
its row count, and at head the search still finds a phrase of an archived report. On SQLite
and PostgreSQL.

An archive built by a crawl *at* revision 0006 (the previous release's code) is not made: the
storage API writes today's columns only. Taking a populated archive down first exercises the
same upgrade path (0007 …head) over real rows.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect, select, text

from storage import downgrade, migrate, open_archive
from storage.db import current_revision, head_revision
from storage.models import Version
from storage.search import search
from tests.crawler.harness import FAST_CRAWL, demo, run_nianbao  # noqa: F401 - demo is a fixture

OLD = "0006"
KEY_TABLES = ("documents", "versions", "attachments", "attachment_links", "captures", "crawl_errors",
              "sites", "crawl_runs", "site_crawls", "search_entries")


def _counts(engine: Engine) -> dict[str, int]:
    names = set(inspect(engine).get_table_names()) - {"alembic_version"}
    with engine.connect() as connection:
        return {name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
                for name in sorted(names)}


def _finds(database_url: str, phrase: str, document_id: int) -> bool:
    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            return document_id in {hit.document_id for hit in search(session, phrase, limit=50).hits}
    finally:
        sessions.kw["bind"].dispose()


def test_a_crawled_archive_survives_down_and_up(demo, tmp_path, database_url):  # noqa: F811
    result = run_nianbao("--db", database_url, "--sites", str(demo.sites_file), "crawl", "-q", *FAST_CRAWL,
                         cwd=tmp_path, timeout=180)
    assert result.returncode in (0, 1), result.stderr

    sessions = open_archive(database_url)
    engine = sessions.kw["bind"]
    try:
        with sessions() as session:
            document_id, body = session.execute(
                select(Version.document_id, Version.body_text)
                .where(Version.body_text != "").order_by(Version.id)).first()
        # A phrase of the report's own words (the search tokenises Chinese text by characters).
        phrase = next(line for line in body.splitlines() if len(line) >= 12)[:12]
        assert _finds(database_url, phrase, document_id)

        at_head = _counts(engine)
        for table in KEY_TABLES:
            assert at_head[table] > 0 or table == "crawl_errors", (table, at_head)

        for _ in range(2):
            downgrade(engine, OLD)
            assert current_revision(engine) == OLD
            at_old = _counts(engine)
            assert at_old == {t: n for t, n in at_head.items() if t in at_old}
            assert set(KEY_TABLES) <= set(at_old)

            migrate(engine)
            assert current_revision(engine) == head_revision()
            assert _counts(engine) == at_head
            assert _finds(database_url, phrase, document_id)
    finally:
        engine.dispose()
