"""A read-only view of the archive for the web app, with a time limit on every query.

- SQLite: the file is opened through a ``file:...?mode=ro`` URI, so no statement can write,
  and a progress handler interrupts any statement that runs past the time limit.
- PostgreSQL: every transaction is ``READ ONLY`` (``default_transaction_read_only``) and
  ``statement_timeout`` cancels long statements.

The web app never migrates: an archive whose schema is not at the code's revision is refused
with one line (open it once with any other nianbao command to upgrade it).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from crawler.errors import StorageError
from storage.db import current_revision, head_revision
from storage.errors import describe_error

__all__ = ["QueryTimeout", "open_read_only"]

# How many SQLite virtual-machine steps run between two looks at the clock.
_PROGRESS_STEPS = 20_000


class QueryTimeout(StorageError):
    """A query ran longer than the web app's time limit."""


def open_read_only(database_url: str, time_limit: float) -> sessionmaker[Session]:
    """A sessionmaker over a read-only engine for ``database_url``."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise StorageError(f"invalid database URL {database_url!r}") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        engine = _sqlite_engine(url.database or "", time_limit)
    elif backend == "postgresql":
        millis = max(1, int(time_limit * 1000))
        engine = create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"options": f"-c default_transaction_read_only=on -c statement_timeout={millis}"},
        )
    else:
        raise StorageError(f"unsupported database {url.render_as_string(hide_password=True)}")
    try:
        revision = current_revision(engine)
    except StorageError:
        engine.dispose()
        raise
    if revision != head_revision():
        engine.dispose()
        raise StorageError(
            f"the archive's schema is at revision {revision or 'none'}, not {head_revision()}:"
            " run any other nianbao command on it once to upgrade it (the web app only reads)"
        )
    return sessionmaker(bind=engine, expire_on_commit=False)


def _sqlite_engine(path: str, time_limit: float) -> Engine:
    if not path or path == ":memory:":
        raise StorageError("the web app needs an archive file, not an in-memory database")
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise StorageError(f"no archive at {file}")
    uri = f"file:{quote(str(file))}?mode=ro"
    # "sqlite://" would otherwise get the in-memory database's one-connection-per-thread pool.
    engine = create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False),
        poolclass=QueuePool,
    )
    deadlines: dict[int, float] = {}

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        key = id(dbapi_connection)

        def over_time() -> int:
            deadline = deadlines.get(key)
            return 1 if deadline is not None and time.monotonic() > deadline else 0

        dbapi_connection.set_progress_handler(over_time, _PROGRESS_STEPS)

    @event.listens_for(engine, "before_cursor_execute")
    def _start_clock(conn: Any, *_args: Any) -> None:
        deadlines[id(conn.connection.dbapi_connection)] = time.monotonic() + time_limit

    return engine


def is_timeout(exc: BaseException) -> bool:
    """True when ``exc`` is a query cancelled by the time limit (either backend)."""
    if isinstance(exc, QueryTimeout):
        return True
    if isinstance(exc, SQLAlchemyError):
        text = describe_error(exc).lower()
        return "interrupted" in text or "statement timeout" in text or "canceling statement" in text
    return False
