"""Opening the archive: engine settings, and a one-line StorageError for whatever goes wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, make_url, text

from crawler.errors import StorageError
from storage import create_archive_engine, open_archive
from storage.db import BUSY_TIMEOUT_MS, current_revision, head_revision


def test_open_archive_migrates_and_returns_a_sessionmaker(database_url: str) -> None:
    Session = open_archive(database_url)
    engine = Session.kw["bind"]
    try:
        assert Session.kw["expire_on_commit"] is False
        assert current_revision(engine) == head_revision()
        assert {
            "sites",
            "documents",
            "versions",
            "crawl_runs",
            "site_crawls",
            "crawl_errors",
        } <= set(inspect(engine).get_table_names())
        with Session() as session, session.begin():
            assert session.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_open_archive_twice_is_harmless(database_url: str) -> None:
    for _ in range(2):
        Session = open_archive(database_url)
        Session.kw["bind"].dispose()


def test_sqlite_creates_the_folder_and_sets_wal_busy_timeout_and_foreign_keys(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deep" / "er" / "archive.sqlite3"
    engine = create_archive_engine(f"sqlite:///{path}")
    try:
        assert path.parent.is_dir()
        # every pooled connection, not just the first one
        with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == BUSY_TIMEOUT_MS
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_sqlite_settings_survive_migrations(tmp_path: Path) -> None:
    Session = open_archive(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    engine = Session.kw["bind"]
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_engine_matches_backend(database_url: str) -> None:
    engine = create_archive_engine(database_url)
    try:
        assert engine.dialect.name == database_url.split(":")[0].split("+")[0]
    finally:
        engine.dispose()


def _assert_one_line(error: StorageError) -> str:
    message = str(error)
    assert message
    assert "\n" not in message
    assert "Traceback" not in message
    assert "sqlalche.me" not in message  # SQLAlchemy's "background on this error" link
    return message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "no database URL"),
        ("not a url", "invalid database URL"),
        ("mysql://user@localhost/db", "unsupported database"),
        ("oracle+cx://x/y", "unsupported database"),
        ("postgresql+nosuchdriver://user@localhost/db", "unknown database driver"),
    ],
)
def test_bad_urls_are_one_line_storage_errors(url: str, expected: str) -> None:
    with pytest.raises(StorageError) as caught:
        create_archive_engine(url)
    assert expected in _assert_one_line(caught.value)


def test_uncreatable_sqlite_folder_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError) as caught:
        create_archive_engine(f"sqlite:///{blocker / 'sub' / 'archive.sqlite3'}")
    assert "cannot create the folder" in _assert_one_line(caught.value)


def test_unreachable_server_is_a_one_line_storage_error_without_the_password() -> None:
    with pytest.raises(StorageError) as caught:
        create_archive_engine("postgresql+psycopg2://nianbao:s3cret@127.0.0.1:1/archive")
    message = _assert_one_line(caught.value)
    assert message.startswith(
        "cannot open database postgresql+psycopg2://nianbao:***@127.0.0.1:1/archive"
    )
    assert "s3cret" not in message


def test_unopenable_sqlite_file_is_a_storage_error(tmp_path: Path) -> None:
    folder = tmp_path / "is-a-folder.sqlite3"
    folder.mkdir()
    with pytest.raises(StorageError) as caught:
        open_archive(f"sqlite:///{folder}")
    assert "cannot open database" in _assert_one_line(caught.value)


def test_missing_postgresql_database_is_a_storage_error(postgres_url: str) -> None:
    # The PostgreSQL side of the unopenable file above: the server answers, the database is not there.
    url = make_url(postgres_url).set(database="nianbao_no_such_database")
    with pytest.raises(StorageError) as caught:
        open_archive(url.render_as_string(hide_password=False))
    message = _assert_one_line(caught.value)
    assert "cannot open database" in message and "nianbao_no_such_database" in message


def test_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not an sqlite database, just some bytes" * 100)
    with pytest.raises(StorageError) as caught:
        open_archive(f"sqlite:///{path}")
    _assert_one_line(caught.value)


def test_errors_inside_archive_functions_become_storage_errors(database_url: str) -> None:
    from storage import list_sites

    Session = open_archive(database_url)
    engine = Session.kw["bind"]
    try:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE sites RENAME TO sites_gone"))
        with pytest.raises(StorageError) as caught, Session() as session:
            list_sites(session)
        assert _assert_one_line(caught.value).startswith("list sites failed:")
    finally:
        engine.dispose()
