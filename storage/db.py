"""Opening the archive database: engine, schema migrations and sessions.

Typical use (the caller owns the transaction)::

    from storage import open_archive

    Session = open_archive("sqlite:///nianbao-data/archive.sqlite3")
    with Session() as session, session.begin():
        ...

:func:`open_archive` creates the engine, brings the schema up to date (``alembic upgrade head``,
a no-op when it already is) and returns a ``sessionmaker``. Every database problem met here --
a malformed URL, an unknown driver, a server that does not answer, a failed migration -- becomes
a :class:`~crawler.errors.StorageError` with one readable line.

SQLite connections get WAL journal mode (readers do not block the writer), a 30 s busy timeout
(concurrent writers wait instead of failing) and enforced foreign keys.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import StorageError, describe_error, first_line

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "BUSY_TIMEOUT_MS",
    "MIGRATIONS_DIR",
    "alembic_config",
    "create_archive_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "migrate",
    "open_archive",
    "shared_archive",
    "writer_archive",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
# pg_advisory_xact_lock key held while migrating (any constant unlikely to clash).
MIGRATION_LOCK_ID = 0x6E69616E62616F  # "nianbao"
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def create_archive_engine(url: str, *, writer: bool = False) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL), checked by opening one connection.

    ``writer``: the engine of a crawl's archive writer (:mod:`crawler.writer`), which holds one
    connection for the whole crawl and commits a batch at a time: no ``SELECT 1`` ping before
    each transaction (a dead connection fails the batch, which is then retried on a new one),
    and SQLite's ``synchronous=NORMAL`` (under WAL a commit survives a killed process; only a
    power cut can take back the last commits, which the next crawl fetches again).
    """
    parsed = _parse_url(url)
    shown = _shown(parsed)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise StorageError(
            f"unsupported database {shown}: use sqlite:///PATH or postgresql+psycopg2://..."
        )
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        _make_sqlite_folder(parsed, shown)
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = not writer
        # An UPDATE run for many rows (the ORM's flush of a batch's documents and versions, the
        # run's counters of many sites) goes in pages of 100 rows per round trip (psycopg2's
        # execute_batch), not one round trip per row; such an UPDATE's rowcount is then unknown,
        # which nothing here reads.
        kwargs["executemany_mode"] = "values_plus_batch"
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError:
        raise StorageError(f"unknown database driver in {shown}") from None
    except ImportError as exc:
        raise StorageError(f"database driver for {shown} is not installed ({exc.name})") from None
    except (ArgumentError, TypeError, ValueError) as exc:
        raise StorageError(f"invalid database URL {shown}: {first_line(exc)}") from None
    if backend == "sqlite":
        event.listen(engine, "connect", _configure_sqlite_connection)
        if writer:
            event.listen(engine, "connect", _relax_sqlite_sync)
            event.listen(engine, "begin", _begin_immediate)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StorageError(f"cannot open database {shown}: {describe_error(exc)}") from None
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # The busy timeout first: switching a new file to WAL takes an exclusive lock, and a
        # process opening the archive while another migrates it must wait, not fail.
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _relax_sqlite_sync(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling off: _begin_immediate starts every transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin_immediate(connection: Connection) -> None:
    """A writer's transaction takes SQLite's write lock when it starts (waiting up to the busy
    timeout), not at its first write: a batch reads before it writes, and a read transaction
    that then needs to write fails at once ("database is locked") if another process wrote
    meanwhile."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode (it stays so); on a brand-new archive opened by several processes
    at once, wait for the one switching it.

    The switch needs an exclusive lock, and SQLite answers "database is locked" at once, without
    the busy handler, when another connection holds a shared lock meanwhile (waiting could
    deadlock). Once one process has switched, the others find WAL already set and skip it.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _parse_url(url: str) -> URL:
    if not isinstance(url, str) or not url.strip():
        raise StorageError("no database URL given")
    try:
        return make_url(url.strip())
    except ArgumentError:
        raise StorageError(
            f"invalid database URL {url.split('@')[-1]!r}: expected e.g. sqlite:///PATH"
            " or postgresql+psycopg2://USER@HOST/DB"
        ) from None


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _make_sqlite_folder(url: URL, shown: str) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    folder = Path(database).expanduser().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the folder {folder} for {shown}: {exc.strerror or exc}"
        ) from None


# --- migrations -------------------------------------------------------------------------------


def alembic_config(connection: Any = None) -> Config:
    """An Alembic configuration for ``storage/migrations``, built in code (no alembic.ini)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


# Alembic (and the template engine it brings) is imported only to migrate: a crawl or the web app
# opening an archive that is up to date reads the two revisions without it (0.1-0.15 s of every
# process's start-up). tests/storage/test_migrations.py holds both answers to Alembic's.
_REVISION = re.compile(r"""^revision(?: *:[^=]+)? *= *["']([^"']+)["']""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision(?: *:[^=]+)? *= *(None|["']([^"']+)["'])""", re.M)


@functools.cache
def head_revision() -> str | None:
    """The newest migration revision shipped with this code (read once per process).

    The migration scripts form one chain (each names the one before it in ``down_revision``);
    the head is the revision no other script names. Anything else (branches, a script this
    reading cannot parse) is left to Alembic's own reading.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(source), _DOWN_REVISION.findall(source)
        if len(revision) != 1 or len(down) != 1:
            return _alembic_head()
        revisions.add(revision[0])
        if down[0][1]:
            parents.add(down[0][1])
    heads = revisions - parents
    if len(heads) != 1 or len(parents - revisions) > 0:
        return _alembic_head()
    return heads.pop()


def _alembic_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database): Alembic's version table."""
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot read the schema revision: {describe_error(exc)}") from None
    if len(found) > 1:
        raise StorageError(f"the archive's schema has several revisions at once ({', '.join(sorted(found))})")
    return found[0] if found else None


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (``alembic upgrade head``); a no-op when it is there."""
    _run_alembic(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Take the schema down to ``revision`` (``base`` drops every archive table)."""
    _run_alembic(engine, "downgrade", revision)


def _run_alembic(engine: Engine, direction: str, revision: str) -> None:
    from alembic import command
    from alembic.util import CommandError

    operation = getattr(command, direction)
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as connection:
            if sqlite:
                # Batch migrations copy and drop tables; with foreign keys enforced, dropping a
                # referenced table would cascade into its children. The pragma only takes effect
                # outside a transaction, and the integrity check runs before the commit.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            try:
                with connection.begin():
                    _lock_for_migration(connection)
                    operation(alembic_config(connection), revision)
                    if sqlite:
                        problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                        if problems:
                            raise StorageError(
                                f"{direction} to {revision} would break {len(problems)} foreign"
                                f" key reference(s), first in table {problems[0][0]}"
                            )
            finally:
                if sqlite:
                    connection.rollback()  # no-op after a commit; ends a failed transaction
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()
    except StorageError:
        raise
    except SQLAlchemyError as exc:
        raise StorageError(
            f"database {direction} to {revision} failed: {describe_error(exc)}"
        ) from None
    except CommandError as exc:  # unknown revision, broken script directory ...
        raise StorageError(
            f"database {direction} to {revision} failed: {first_line(exc)}"
        ) from exc


def _lock_for_migration(connection: Connection) -> None:
    """Make concurrent migrations (two processes opening a new archive) take turns.

    SQLite: ``BEGIN IMMEDIATE`` takes the write lock up front (waiting up to the busy timeout),
    which also makes the whole migration one transaction. PostgreSQL: a transaction-scoped
    advisory lock; its DDL is transactional anyway.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")


def open_archive(url: str) -> sessionmaker[Session]:
    """Engine + migrations + ``sessionmaker(expire_on_commit=False)`` for the archive at ``url``."""
    engine = create_archive_engine(url)
    try:
        # Up to date already (every open but the first): skip Alembic, which would load every
        # migration script again just to find nothing to do.
        if current_revision(engine) != head_revision():
            migrate(engine)
    except StorageError:
        engine.dispose()
        raise
    return sessionmaker(bind=engine, expire_on_commit=False)


@functools.cache
def shared_archive(url: str) -> sessionmaker[Session]:
    """One migrated sessionmaker per archive URL and process.

    A crawl runs one Scrapy crawler per site, and each one's pipelines and middlewares need the
    archive: sharing it means one engine (one connection pool) and one migration check per
    process instead of one per site. Code that changes the schema underneath (tests that reset
    a database) calls :func:`open_archive` instead.
    """
    return open_archive(url)


def writer_archive(url: str) -> sessionmaker[Session]:
    """The archive as a crawl's archive writer opens it: its own engine (see
    :func:`create_archive_engine`), on a schema the crawl has already brought up to date."""
    return sessionmaker(bind=create_archive_engine(url, writer=True), expire_on_commit=False)
