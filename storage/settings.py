"""Every ``NIANBAO_*`` setting of the project, declared once: its name, default and one line of help.

There are two kinds:

- *environment* settings are read from the process environment (``NIANBAO_DATA_DIR=/srv/nianbao
  nianbao crawl``);
- *crawl* settings are Scrapy settings of a crawl: ``nianbao crawl -s NAME=VALUE`` sets one for
  a run, and ``crawler/settings.py`` gives every crawl the defaults declared here. A few of them
  (``internal``) are set by nianbao itself for the crawls it starts and are listed only so that
  every name is declared somewhere.

The catalogue sits on the ground floor so that every floor (the archive, the crawler, the CLI,
the scheduler) reads its settings from the same declarations; ``nianbao settings`` prints it and
the README's settings table is generated from it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["SETTINGS", "Setting", "crawl_defaults", "default_of", "environment_value"]

Value = str | int | float | bool | None


@dataclass(frozen=True)
class Setting:
    name: str
    default: Value
    help: str
    kind: Literal["environment", "crawl"]
    internal: bool = False  # set by nianbao for the crawls it starts, not by users

    @property
    def shown_default(self) -> str:
        if self.default is None:
            return "(none)"
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        return str(self.default)


_ENV: Literal["environment"] = "environment"
_CRAWL: Literal["crawl"] = "crawl"

SETTINGS: tuple[Setting, ...] = (
    # --- where things live ---------------------------------------------------------------------
    Setting("NIANBAO_DATA_DIR", "nianbao-data", "folder for everything nianbao writes by default "
            "(the SQLite archive, WARC files, attachments, logs)", _ENV),
    Setting("NIANBAO_DATABASE_URL", None, "archive database URL; default sqlite:///<data dir>/"
            "archive.sqlite3 (--db overrides)", _ENV),
    Setting("NIANBAO_SITES", None, "sites file for commands that need one (--sites overrides); "
            "the scheduler falls back to sites.toml", _ENV),
    Setting("NIANBAO_REDIS_URL", None, "Redis shared by distributed crawls and workers "
            "(--redis overrides)", _ENV),
    Setting("NIANBAO_LANG", "zh_CN", "language of the CLI, alerts and the web app's default: zh_CN or "
            "en (the web app also follows ?lang= and the browser's Accept-Language)", _ENV),
    Setting("NIANBAO_PUBLIC_URL", None, "the web app's public base URL, for links in alerts (e.g. "
            "https://nianbao.example.org)", _ENV),
    Setting("NIANBAO_DEBUG", None, "any value: print the traceback of an internal error instead of "
            "one line", _ENV),
    # --- crawling ------------------------------------------------------------------------------
    Setting("NIANBAO_RETRY_AFTER_MAX", 300, "longest Retry-After (seconds) a crawl waits for; "
            "past it the page is recorded as rate-limited", _CRAWL),
    Setting("NIANBAO_LEASE_TTL", 6 * 3600, "seconds a crawl's per-site leases last before another "
            "process may take the site over", _CRAWL),
    Setting("NIANBAO_ATTACHMENT_MAX_BYTES", 32 * 1024 * 1024, "attachments larger than this are "
            "stored but not read", _CRAWL),
    Setting("NIANBAO_ATTACHMENT_TIMEOUT", 60.0, "seconds the sandbox may spend reading one "
            "attachment", _CRAWL),
    Setting("NIANBAO_ATTACHMENT_MEMORY_MB", 1024, "memory limit (MiB) of the sandbox reading "
            "attachments", _CRAWL),
    Setting("NIANBAO_OCR", True, "read scanned reports (images, PDFs without text) with OCR",
            _CRAWL),
    Setting("NIANBAO_OCR_TIMEOUT", 300.0, "seconds OCR may spend on one file", _CRAWL),
    # --- evidence ------------------------------------------------------------------------------
    Setting("NIANBAO_CAPTURE_ENABLED", True, "keep every exchange as WARC evidence and answer "
            "unchanged pages from it", _CRAWL),
    Setting("NIANBAO_WARC_DIR", None, "WARC folder (also read from the environment); default "
            "<data dir>/warc", _CRAWL),
    Setting("NIANBAO_WARC_MAX_BYTES", 1 << 30, "size at which a WARC file is closed and a new one "
            "started", _CRAWL),
    Setting("NIANBAO_WARC_FSYNC", True, "fsync each batch's WARC records before its rows are "
            "committed", _CRAWL),
    Setting("NIANBAO_WRITER", "process", "where the crawl's archive writer runs: process (a child "
            "process) or thread (a thread of the crawl process)", _CRAWL),
    Setting("NIANBAO_NOW", None, "the re-check policy's clock (ISO date or date-time), for "
            "reproducing a night", _CRAWL),
    # --- set by nianbao for its own crawls -----------------------------------------------------
    Setting("NIANBAO_RUN_ID", None, "the crawl run the pipelines record into", _CRAWL, internal=True),
    Setting("NIANBAO_PROGRESS", None, "the progress board the crawlers of a run report to", _CRAWL,
            internal=True),
    Setting("NIANBAO_CAPTURE_RUN", None, "the WARC failures and fetched URLs the crawlers of a run share",
            _CRAWL, internal=True),
    Setting("NIANBAO_ARCHIVE_WRITER", None, "the archive writer every crawler of the process "
            "submits its writes to", _CRAWL, internal=True),
    Setting("NIANBAO_STOP_STATE", None, "how the crawl process's run is ending (signal, archive "
            "failure), shared by its crawlers", _CRAWL, internal=True),
    Setting("NIANBAO_DISTRIBUTED", False, "this crawl shares its queue through Redis", _CRAWL,
            internal=True),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def default_of(name: str) -> Value:
    """The declared default of a setting (KeyError for a name that is not declared)."""
    return _BY_NAME[name].default


def environment_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """An environment setting's value: the variable when set and non-empty, else its default."""
    setting = _BY_NAME[name]
    value = (os.environ if environ is None else environ).get(name)
    if value:
        return value
    return None if setting.default is None else str(setting.default)


def crawl_defaults() -> dict[str, Value]:
    """The declared defaults of the crawl settings (those with a default), for Scrapy."""
    return {s.name: s.default for s in SETTINGS if s.kind == _CRAWL and s.default is not None}
