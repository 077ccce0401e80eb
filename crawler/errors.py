"""The exceptions nianbao raises on purpose.

Everything the project raises deliberately derives from :class:`NianbaoError`, so the edges
(the CLI, later the web app) can turn it into one readable line and an exit status without
catching unrelated bugs.

- :class:`ConfigError` -- a sites file, option or setting is wrong (CLI exit status 2).
- :class:`ExtractionError` -- a saved page cannot be read or decoded at all.
- :class:`StorageError` -- the archive database cannot be opened, migrated or written.
- :class:`CrawlFailed` -- a crawl finished but some sites failed (CLI exit status 1).
"""

from __future__ import annotations


class NianbaoError(Exception):
    """Base class; ``exit_status`` is what the CLI exits with."""

    exit_status = 2


class ConfigError(NianbaoError):
    """A sites file, command-line option or environment setting is invalid."""

    exit_status = 2


class ExtractionError(NianbaoError):
    """A page could not be read or decoded."""

    exit_status = 2


class StorageError(NianbaoError):
    """The archive database could not be opened, migrated or written."""

    exit_status = 2


class CrawlFailed(NianbaoError):
    """A crawl ran to its end but one or more sites failed."""

    exit_status = 1
