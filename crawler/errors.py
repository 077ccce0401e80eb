"""The exceptions nianbao raises on purpose.

Everything the project raises deliberately derives from :class:`NianbaoError`, so the edges
(the CLI, later the web app) can turn it into one readable line and an exit status without
catching unrelated bugs.

- :class:`ConfigError` -- a sites file, option or setting is wrong (CLI exit status 2).
- :class:`StorageError` -- the archive database cannot be opened, migrated or written (defined
  with the root :class:`NianbaoError` in ``storage.errors``, the ground floor).
- :class:`CrawlFailed` -- a crawl finished but some sites failed (CLI exit status 1).

:class:`ExitStatus` declares the CLI's exit statuses once; ``nianbao crawl``'s are a contract
the scheduler reads (it never reads the crawl's printed words).
"""

from __future__ import annotations

import signal
from enum import IntEnum

from storage.errors import NianbaoError, StorageError

__all__ = ["ConfigError", "CrawlFailed", "ExitStatus", "NianbaoError", "StorageError"]


class ExitStatus(IntEnum):
    """How ``nianbao`` exits; for ``nianbao crawl`` the scheduler's contract (see the README)."""

    OK = 0  # crawl: it ran and every site was crawled
    SITE_FAILED = 1  # crawl: it ran but at least one site failed
    USAGE = 2  # a usage or configuration error, or the archive/WARC files could not be written
    SKIPPED = 3  # crawl: nothing ran, another process holds every named site's lease
    # Stopped by a signal, after the summary: the shell's 128 + the signal number.
    INTERRUPTED = 128 + signal.SIGINT  # 130, Ctrl-C
    TERMINATED = 128 + signal.SIGTERM  # 143


class ConfigError(NianbaoError):
    """A sites file, command-line option or environment setting is invalid."""

    exit_status = ExitStatus.USAGE


class CrawlFailed(NianbaoError):
    """A crawl ran to its end but one or more sites failed."""

    exit_status = ExitStatus.SITE_FAILED
