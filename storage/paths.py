"""Where nianbao keeps what it writes.

Everything nianbao writes by default -- the SQLite archive, the WARC evidence, attachment files,
logs -- lives under one data folder, ``./nianbao-data`` relative to the working directory, so a
user who ran ``make demo`` in the checkout finds it there and can delete it in one go.
``NIANBAO_DATA_DIR`` moves the folder; ``NIANBAO_DATABASE_URL`` (or ``--db``) points the archive
elsewhere, e.g. at PostgreSQL. (Both are declared in :mod:`storage.settings`.)
"""

from __future__ import annotations

from pathlib import Path

from storage.settings import default_of, environment_value

DATA_DIR_ENV = "NIANBAO_DATA_DIR"
DATABASE_URL_ENV = "NIANBAO_DATABASE_URL"
DEFAULT_DATA_DIR = str(default_of(DATA_DIR_ENV))
ARCHIVE_FILENAME = "archive.sqlite3"


def data_dir() -> Path:
    """The data folder (not created here)."""
    return Path(environment_value(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def default_database_url() -> str:
    """The archive URL when neither ``--db`` nor ``NIANBAO_DATABASE_URL`` is given."""
    return f"sqlite:///{data_dir() / ARCHIVE_FILENAME}"


def database_url(explicit: str | None = None) -> str:
    """Resolve the archive URL: explicit option, then the environment, then the default."""
    return explicit or environment_value(DATABASE_URL_ENV) or default_database_url()
