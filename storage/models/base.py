"""The base of every archive table: the declarative base, key and timestamp types, helpers.

Portability notes (SQLite and PostgreSQL):

- ids are ``BIGINT`` on PostgreSQL and ``INTEGER`` on SQLite, where only ``INTEGER PRIMARY KEY``
  is an auto-incrementing rowid alias;
- timestamps are timezone-aware UTC in Python on both backends (:class:`UTCDateTime`);
- dates (``pub_date``, ``written_date``) are ISO strings ``YYYY-MM-DD`` (``VARCHAR(10)``), as in
  :class:`~crawler.items.ReportItem`; they sort correctly as text;
- lists and the site configuration are ``JSON``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

__all__ = ["NAMING_CONVENTION", "Base", "IdType", "UTCDateTime", "check_in", "utcnow"]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Primary and foreign key type: BIGINT, but INTEGER on SQLite so the key autoincrements.
IdType = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in as any aware datetime and comes out as aware UTC.

    PostgreSQL stores ``timestamp with time zone``; SQLite has no time zones, so the value is
    converted to UTC and stored without an offset. Naive datetimes are taken to be UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def check_in(column: str, values: tuple[str, ...]) -> str:
    """A CHECK constraint's SQL: ``column`` holds one of ``values`` (the tables' status lists)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }
