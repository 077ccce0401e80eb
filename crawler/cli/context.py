"""What every command shares: the archive URL and sites file the root group's options name.

The root group (:mod:`crawler.cli.app`) puts a :class:`Context` on click's context; commands
receive it through :data:`pass_context`. Nothing here imports a command module.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from crawler.config import SiteConfig, load_sites
from crawler.errors import ConfigError
from crawler.i18n import gettext as _
from storage import paths

SITES_ENV = "NIANBAO_SITES"
DEFAULT_SITES_FILE = "sites.toml"
DEMO_SITES_FILENAME = "demo-sites.toml"


class Context:
    def __init__(self, db: str | None, sites_file: str | None) -> None:
        self.database_url = paths.database_url(db)
        # --db or $NIANBAO_DATABASE_URL named the archive (not the default under the data folder)
        self.database_named = bool(db or os.environ.get(paths.DATABASE_URL_ENV))
        self.sites_file = sites_file

    def existing_archive(self) -> str:
        """The archive URL for a command that only reads it: a SQLite file that does not exist
        is refused (a mistyped --db must not silently create an empty archive that answers
        "no report"). Writing commands (crawl, demo, db migrate) use ``database_url``."""
        require_existing_archive(self.database_url)
        return self.database_url

    def sites(self, *, demo_fallback: bool = False) -> tuple[list[SiteConfig], str]:
        """The configured sites and the file they came from.

        ``demo_fallback`` (commands that only read the sites file: ``sites list``, ``alerts
        send``, the monitor's repeat interval): without --sites / $NIANBAO_SITES and without
        ./sites.toml, the sites file ``nianbao demo`` wrote (DATA/demo-sites.toml) is used, and
        stderr says so. ``crawl`` and the scheduler never fall back to it.
        """
        explicit = self.sites_file
        path = Path(explicit) if explicit else Path(DEFAULT_SITES_FILE)
        if not explicit and not path.exists():
            demo_file = paths.data_dir() / DEMO_SITES_FILENAME
            if demo_fallback and demo_file.is_file():
                click.echo(
                    _("using the demo's sites file %(file)s (no --sites, $%(env)s or ./%(default)s)",
                      file=demo_file, env=SITES_ENV, default=DEFAULT_SITES_FILE),
                    err=True,
                )
                return load_sites(demo_file), str(demo_file)
            if demo_file.is_file():
                raise ConfigError(_(
                    "no sites file: %(path)s not found (pass --sites FILE or set %(env)s; sites.example.toml "
                    "shows the format; the demo's is %(demo)s)", path=path, env=SITES_ENV, demo=demo_file))
            raise ConfigError(_(
                "no sites file: %(path)s not found (pass --sites FILE or set %(env)s; sites.example.toml "
                "shows the format)", path=path, env=SITES_ENV))
        return load_sites(path), str(path)


def sqlite_file_of(url: str) -> Path | None:
    """The file a ``sqlite://`` URL points at (None: not SQLite, in memory, or a file: URI)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        return None  # open_archive reports the malformed URL
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def require_existing_archive(url: str) -> None:
    """Refuse a SQLite archive file that does not exist (without creating it)."""
    file = sqlite_file_of(url)
    if file is not None and not file.exists():
        raise ConfigError(_(
            "no archive at %(file)s (run nianbao crawl or nianbao demo first, or check --db / "
            "$NIANBAO_DATABASE_URL)", file=file))


pass_context = click.make_pass_decorator(Context)
