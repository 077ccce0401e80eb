"""The Alembic migrations: up, no-op, down, up again, and agreement with the models."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text

from crawler.errors import StorageError
from storage import create_archive_engine, downgrade, migrate, open_archive
from storage.db import alembic_config, current_revision, head_revision
from storage.models import Base, Site, include_name, is_fts_table

REPO_ROOT = Path(__file__).resolve().parents[2]
ARCHIVE_TABLES = {"sites", "documents", "versions", "crawl_runs", "site_crawls", "crawl_errors"}
ARCHIVE_TABLES |= {"attachments", "attachment_links"}  # 0002_extraction
ARCHIVE_TABLES |= {"captures", "url_states"}  # 0003_capture
ARCHIVE_TABLES |= {"crawl_leases", "crawl_health", "alerts", "alert_outbox", "scheduler_events"}  # 0004_monitoring
ARCHIVE_TABLES |= {"search_entries"}  # 0005_search (plus the FTS5 tables on SQLite, not compared)
ARCHIVE_TABLES |= {"document_urls"}  # 0008_document_urls


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_archive_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _tables(engine: Engine) -> set[str]:
    names = set(inspect(engine).get_table_names()) - {"alembic_version"}
    return {name for name in names if not is_fts_table(name)}


def _schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        return compare_metadata(context, Base.metadata)


def _alembic_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_revisions_read_without_alembic_agree_with_alembic(engine: Engine) -> None:
    """head_revision and current_revision read the scripts and the version table themselves (so
    that opening an up-to-date archive does not import Alembic); Alembic must agree, on an empty
    archive, at an older revision and at the head."""
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(engine) is None and _alembic_revision(engine) is None
    migrate(engine, "0003")
    assert current_revision(engine) == _alembic_revision(engine) == "0003"
    migrate(engine)
    assert current_revision(engine) == _alembic_revision(engine) == head_revision()


def test_an_archive_at_the_head_opens_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    open_archive(url).kw["bind"].dispose()  # created (and migrated) here, with Alembic
    program = (
        "import sys\nfrom storage.db import open_archive\n"
        f"open_archive({url!r}).kw['bind'].dispose()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_up_noop_down_up(engine: Engine) -> None:
    assert current_revision(engine) is None
    assert _tables(engine) == set()

    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert _tables(engine) == ARCHIVE_TABLES

    migrate(engine)  # already there: nothing happens
    assert current_revision(engine) == head_revision()

    downgrade(engine)
    assert current_revision(engine) is None
    assert _tables(engine) == set()

    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert _tables(engine) == ARCHIVE_TABLES


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    migrate(engine)
    assert _schema_differences(engine) == []


def test_schema_comparison_notices_a_difference(engine: Engine) -> None:
    """Guard for the test above: the comparison does see a missing index."""
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_documents_report_year"))
    differences = _schema_differences(engine)
    assert any("ix_documents_report_year" in repr(d) for d in differences)


def test_migrate_keeps_data(database_url: str, site_configs) -> None:
    from storage import sync_site

    Session = open_archive(database_url)
    with Session() as session, session.begin():
        sync_site(session, site_configs[0])
    Session.kw["bind"].dispose()

    Session = open_archive(database_url)  # migrate again: a no-op
    try:
        with Session() as session:
            assert session.scalars(select(Site.key)).all() == [site_configs[0].key]
    finally:
        Session.kw["bind"].dispose()


def test_downgrade_with_data_and_up_again(database_url: str, site_configs, make_item) -> None:
    from storage import record_report, start_run, sync_site

    Session = open_archive(database_url)
    engine = Session.kw["bind"]
    try:
        with Session() as session, session.begin():
            sync_site(session, site_configs[0])
            run = start_run(session, [site_configs[0].key])
            record_report(session, run.id, make_item())
            record_report(session, run.id, make_item(body_text="改过的正文"))
        downgrade(engine)
        assert _tables(engine) == set()
        migrate(engine)
        assert _tables(engine) == ARCHIVE_TABLES
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_unknown_revision_is_a_storage_error(engine: Engine) -> None:
    with pytest.raises(StorageError) as caught:
        migrate(engine, "9999")
    assert "\n" not in str(caught.value)
    assert "upgrade to 9999 failed" in str(caught.value)


_MIGRATE = """
import sys, time
from storage import open_archive

url, start = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
open_archive(url).kw["bind"].dispose()
"""


def test_concurrent_migrations_of_a_new_archive(database_url: str) -> None:
    """Several processes opening a brand-new archive at once: all succeed, one schema.

    Processes, not threads: Alembic's ``context`` is process-global.
    """
    start = time.time() + 3
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _MIGRATE, database_url, str(start)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, [err for _, err in results]
    engine = create_archive_engine(database_url)
    try:
        assert current_revision(engine) == head_revision()
        assert _tables(engine) == ARCHIVE_TABLES
        assert _schema_differences(engine) == []
    finally:
        engine.dispose()
