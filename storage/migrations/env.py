"""Alembic environment for the nianbao archive.

Normally run through :func:`storage.db.migrate`, which builds the Alembic configuration in code
and hands over an open connection in ``config.attributes["connection"]``. Without one (the
``alembic`` command line with a hand-made ini file), the URL comes from the ``sqlalchemy.url``
option, else from ``--db``'s environment fallback (``NIANBAO_DATABASE_URL`` / the default
SQLite archive).
"""

from __future__ import annotations

from typing import Any

from alembic import context

from storage.models import Base, include_name

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    from storage.paths import database_url

    return config.get_main_option("sqlalchemy.url") or database_url()


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only alter tables by copying them
        compare_type=True,
        include_name=include_name,  # the SQLite FTS5 tables are not described by the models
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it (``alembic upgrade --sql``)."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return

    from storage.db import create_archive_engine

    engine = create_archive_engine(_url())
    try:
        with engine.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
