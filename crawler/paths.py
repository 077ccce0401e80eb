"""Where nianbao keeps what it writes.

Everything nianbao writes by default -- the SQLite archive now, raw captures and attachments
later -- lives under one data folder, ``./nianbao-data`` relative to the working directory, so a
user who ran ``make demo`` in the checkout finds it there and can delete it in one go.
``NIANBAO_DATA_DIR`` moves the folder; ``NIANBAO_DATABASE_URL`` (or ``--db``) points the archive
elsewhere, e.g. at PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "NIANBAO_DATA_DIR"
DATABASE_URL_ENV = "NIANBAO_DATABASE_URL"
DEFAULT_DATA_DIR = "nianbao-data"
ARCHIVE_FILENAME = "archive.sqlite3"


def data_dir() -> Path:
    """The data folder (not created here)."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def default_database_url() -> str:
    """The archive URL when neither ``--db`` nor ``NIANBAO_DATABASE_URL`` is given."""
    return f"sqlite:///{data_dir() / ARCHIVE_FILENAME}"


def database_url(explicit: str | None = None) -> str:
    """Resolve the archive URL: explicit option, then the environment, then the default."""
    return explicit or os.environ.get(DATABASE_URL_ENV) or default_database_url()
