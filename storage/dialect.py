"""The one place that knows SQLite and PostgreSQL spell "insert unless present" differently.

Both backends support ``INSERT ... ON CONFLICT``, but SQLAlchemy builds it from
dialect-specific constructs. Every idempotent write in the archive goes through these helpers
(:func:`insert_ignore` for one row, :func:`insert_statement` for a statement of many rows with
its own ``ON CONFLICT`` clause), so an unknown backend fails the same way everywhere instead of
silently falling back to SQLite's syntax.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.errors import StorageError


def insert_statement(session: Session, model: Any) -> Any:
    """The backend's ``INSERT`` construct for ``model`` (it has ``on_conflict_do_*``), to be run
    with a list of rows.

    It returns the rows' primary keys, read or not: executed with a list of rows, an ``INSERT ...
    ON CONFLICT`` goes to the driver's ``executemany`` -- with psycopg2, one round trip per row --
    unless it has a ``RETURNING`` clause, with which SQLAlchemy sends the rows as multi-row
    INSERTs ("insertmanyvalues").
    """
    return _insert_for(session, model).returning(*model.__table__.primary_key.columns)


def _insert_for(session: Session, model: Any) -> Any:
    dialect = session.get_bind(mapper=model.__mapper__).dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model.__table__)
    if dialect == "sqlite":
        return sqlite.insert(model.__table__)
    raise StorageError(f"unsupported database backend {dialect!r} (use SQLite or PostgreSQL)")


def insert_ignore(session: Session, model: Any, **values: Any) -> bool:
    """``INSERT ... ON CONFLICT DO NOTHING``; True when the row was inserted."""
    stmt = _insert_for(session, model).values(**values).on_conflict_do_nothing()
    result = session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]
