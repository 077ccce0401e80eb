"""Move a whole archive from one database to another (SQLite → PostgreSQL, or back) without loss.

:func:`copy_archive` migrates both ends to the current schema, refuses a target that already
holds archive rows, copies every table of the models in foreign-key order (primary keys kept, so
every reference stays valid), and then verifies the copy: row counts and a digest of every
table's rows, computed the same way on both ends, must match. Columns that point "forward" (a
foreign key into a table copied later, such as ``documents.latest_version_id``) are written as
NULL first and filled in once their target rows exist.

The search index is not copied but rebuilt on the target from the copied versions: its form is
each database's own (FTS5 rows on SQLite, tsvectors and signatures on PostgreSQL), so copied
rows would leave the target unsearchable. Its check is one entry per version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Engine, Table, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from storage.db import create_archive_engine, migrate
from storage.errors import StorageError, describe_error
from storage.models import Base

BATCH_SIZE = 1000


@dataclass(frozen=True)
class TableCopy:
    """One table's outcome: rows copied and the digest both ends agreed on."""

    name: str
    rows: int
    digest: str


def copy_archive(source_url: str, target_url: str, *, batch_size: int = BATCH_SIZE) -> list[TableCopy]:
    """Copy every archive table from ``source_url`` into the empty archive at ``target_url``."""
    if source_url == target_url:
        raise StorageError("source and target are the same database")
    source = create_archive_engine(source_url)
    target = create_archive_engine(target_url)
    try:
        migrate(source)
        migrate(target)
        tables = archive_tables()
        _require_empty(target, tables)
        copied = [table for table in tables if table.name not in DERIVED_TABLES]
        try:
            _copy_rows(source, target, copied, batch_size)
            indexed = _rebuild_search_index(target)
        except SQLAlchemyError as exc:
            raise StorageError(f"copy failed: {describe_error(exc)}") from None
        return [*_verify(source, target, copied), indexed]
    finally:
        source.dispose()
        target.dispose()


#: Tables rebuilt on the target instead of copied (see the module docstring).
DERIVED_TABLES = frozenset({"search_entries"})


def _rebuild_search_index(target: Engine) -> TableCopy:
    """Index every copied version on the target; one search entry per version, or an error."""
    from sqlalchemy.orm import Session

    from storage.models import Version
    from storage.search import reindex_missing

    with Session(bind=target) as session, session.begin():
        reindex_missing(session)
        versions = session.scalar(select(func.count()).select_from(Version)) or 0
        entries = session.scalar(select(func.count()).select_from(Base.metadata.tables["search_entries"])) or 0
    if entries != versions:
        raise StorageError(f"copy verification failed for the search index: {versions} versions, {entries} entries")
    return TableCopy("search_entries", entries, "rebuilt")


def archive_tables() -> list[Table]:
    """The models' tables in an order where every table comes after the tables it depends on."""
    return list(Base.metadata.sorted_tables)


def _copyable_columns(table: Table) -> list[Column[Any]]:
    # Computed (generated) columns are derived by the database itself.
    return [c for c in table.columns if c.computed is None]


def _require_empty(engine: Engine, tables: list[Table]) -> None:
    with engine.connect() as connection:
        for table in tables:
            if connection.scalar(select(func.count()).select_from(table)):
                raise StorageError(f"target archive is not empty (table {table.name} has rows)")


def _forward_columns(table: Table, copied: set[str]) -> list[Column[Any]]:
    """Foreign-key columns of ``table`` that point at a table not copied yet (or itself)."""
    forward = []
    for column in table.columns:
        for key in column.foreign_keys:
            referred = key.column.table.name
            if referred not in copied or referred == table.name:
                forward.append(column)
                break
    return forward


def _copy_rows(source: Engine, target: Engine, tables: list[Table], batch_size: int) -> None:
    copied: set[str] = set()
    deferred: list[tuple[Table, list[Column[Any]]]] = []
    with source.connect() as reader, target.begin() as writer:
        for table in tables:
            columns = _copyable_columns(table)
            forward = _forward_columns(table, copied)
            forward_names = {c.name for c in forward}
            for batch in _batches(reader, table, columns, batch_size):
                rows = [
                    {c.name: (None if c.name in forward_names else row[c.name]) for c in columns}
                    for row in batch
                ]
                writer.execute(table.insert(), rows)
            if forward:
                deferred.append((table, forward))
            copied.add(table.name)
        for table, forward in deferred:
            _fill_forward_columns(reader, writer, table, forward)
        if target.dialect.name == "postgresql":
            _reset_sequences(writer, tables)


def _batches(connection: Any, table: Table, columns: list[Column[Any]], batch_size: int):
    order = list(table.primary_key.columns) or columns
    result = connection.execution_options(stream_results=True).execute(
        select(*columns).order_by(*order)
    )
    while True:
        rows = result.mappings().fetchmany(batch_size)
        if not rows:
            return
        yield rows


def _fill_forward_columns(reader: Any, writer: Any, table: Table, forward: list[Column[Any]]) -> None:
    keys = list(table.primary_key.columns)
    if not keys:
        raise StorageError(f"cannot copy table {table.name}: a forward reference without a primary key")
    for row in reader.execute(select(*keys, *forward)).mappings():
        values = {c.name: row[c.name] for c in forward}
        if any(v is not None for v in values.values()):
            writer.execute(update(table).where(*[k == row[k.name] for k in keys]).values(**values))


def _reset_sequences(writer: Any, tables: list[Table]) -> None:
    """Move PostgreSQL's id sequences past the copied ids, so new rows don't collide."""
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or keys[0].autoincrement is False:
            continue
        sequence = writer.scalar(select(func.pg_get_serial_sequence(table.name, keys[0].name)))
        if sequence:
            highest = writer.scalar(select(func.max(keys[0]))) or 0
            writer.execute(select(func.setval(sequence, highest + 1, False)))


def _verify(source: Engine, target: Engine, tables: list[Table]) -> list[TableCopy]:
    report = []
    for table in tables:
        source_rows, source_digest = table_digest(source, table)
        target_rows, target_digest = table_digest(target, table)
        if (source_rows, source_digest) != (target_rows, target_digest):
            raise StorageError(
                f"copy verification failed for table {table.name}: {source_rows} rows → {target_rows} rows,"
                f" digest {source_digest[:12]} → {target_digest[:12]}"
            )
        report.append(TableCopy(table.name, source_rows, source_digest))
    return report


def table_digest(engine: Engine, table: Table) -> tuple[int, str]:
    """Row count and a sha256 over the table's rows, independent of the database backend."""
    columns = _copyable_columns(table)
    digest = hashlib.sha256()
    count = 0
    with engine.connect() as connection:
        for batch in _batches(connection, table, columns, BATCH_SIZE):
            for row in batch:
                digest.update(json.dumps([_canonical(row[c.name]) for c in columns], ensure_ascii=False, sort_keys=True).encode())
                digest.update(b"\n")
                count += 1
    return count, digest.hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return hashlib.sha256(bytes(value)).hexdigest()
    return value
