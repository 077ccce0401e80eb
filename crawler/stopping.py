"""Why a crawl stopped before its end: a signal, or the archive failing under it.

A crawl process runs one :class:`CrawlProcess` (Scrapy's :class:`~scrapy.crawler.CrawlerProcess`
with two additions), and this module remembers for the runner how the crawl ended:

- **A signal.** Scrapy's own handlers stay in charge: the first SIGINT or SIGTERM closes every
  spider with the finish reason ``shutdown`` (a graceful stop: requests in flight finish, and
  what was fetched is recorded), a second one stops the reactor at once. The process also
  records which signal came (:class:`StopState`; the runner closes the run as
  ``interrupted`` and the CLI exits with 128 + the signal number) and says so on stderr at
  once, in one line written straight to the file descriptor from the handler (a buffered
  write there could collide with the progress line being drawn).
- **The archive failing.** A pipeline that cannot write an item to the archive (a
  :class:`~crawler.errors.StorageError` or a driver error: the database went away, the disk
  is full, a lock wait timed out) raises, which Scrapy would only log for that item while the
  crawl went on fetching pages it can no longer record. :func:`archive_writer` (on the archive
  pipeline's ``process_item``, so the stop is immediate) and :class:`ArchiveFailureExtension`
  (for pipelines that write from threads) turn that into :meth:`StopState.archive_failed`: the
  first such error is kept and every crawler of the process is stopped; items
  still in flight are dropped instead of waiting on the failing database again. The runner
  then closes the run as ``failed`` with that reason and the CLI prints it in one line.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError
from twisted.python.failure import Failure

from crawler.errors import StorageError

__all__ = [
    "STOP_STATE_SETTING",
    "ArchiveFailureExtension",
    "CrawlProcess",
    "StopState",
    "archive_writer",
    "describe_archive_error",
    "interrupt_message",
    "is_archive_error",
    "stop_state_of",
]

logger = logging.getLogger(__name__)

FORCED_MESSAGE = "再次收到停止信号，立即退出（未完成的站点记为中断） / second signal: quitting at once"


STOP_STATE_SETTING = "NIANBAO_STOP_STATE"


@dataclass
class StopState:
    """How one crawl process's run is ending: the signal that stopped it, or why the archive
    could not record it. The :class:`CrawlProcess` makes it and hands it to its crawlers in the
    ``NIANBAO_STOP_STATE`` setting (like the progress board); the runner reads it afterwards."""

    signal: int | None = None
    archive_failure: str | None = None
    progress: Any = None
    crawlers: list[Crawler] = field(default_factory=list)

    def __deepcopy__(self, memo: dict[int, Any]) -> StopState:
        return self  # each site's settings are a deep copy; they must share the one state

    def archive_failed(self, message: str) -> None:
        """The archive cannot record the crawl: keep the first reason and stop every crawler."""
        if self.archive_failure is not None:
            return
        self.archive_failure = message
        logger.error("stopping the crawl: the archive could not be written: %s", message)
        from scrapy.utils.defer import deferred_from_coro

        for crawler in list(self.crawlers):
            if crawler.crawling and crawler.engine is not None:
                deferred_from_coro(crawler.stop_async())


def stop_state_of(crawler: Crawler | None) -> StopState:
    """The run's stop state from a crawler's settings; a crawler made without a CrawlProcess
    (a component tested on its own) gets one of its own, kept on the crawler."""
    shared = crawler.settings.get(STOP_STATE_SETTING) if crawler is not None else None
    if isinstance(shared, StopState):
        return shared
    own = getattr(crawler, "_nianbao_stop_state", None)
    if not isinstance(own, StopState):
        own = StopState()
        if crawler is not None:
            crawler._nianbao_stop_state = own  # type: ignore[attr-defined]
    return own


def interrupt_message(signum: int) -> str:
    """The line printed when the first SIGINT/SIGTERM arrives."""
    if signum == signal.SIGINT:
        return ("收到中断信号，正在停止抓取…（再按一次 Ctrl-C 立即退出）"
                " / interrupt received, stopping the crawl… (Ctrl-C again to quit at once)")
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return f"收到终止信号（{name}），正在停止抓取… / {name} received, stopping the crawl…"


def is_archive_error(error: BaseException) -> bool:
    """True for the errors that mean the archive cannot be written: a StorageError or a
    database driver error (which escapes as itself when it happens at commit time)."""
    return isinstance(error, (StorageError, SQLAlchemyError))


def describe_archive_error(error: BaseException) -> str:
    """One line for an archive error: a StorageError's own message, a driver's first line."""
    if isinstance(error, StorageError):
        return str(error)
    from storage.errors import describe_error

    return f"database error: {describe_error(error)}"


F = TypeVar("F", bound=Callable[..., Any])


def archive_writer(process_item: F) -> F:
    """Decorate a pipeline's (async) ``process_item`` that writes to the archive: an error that
    keeps an item out of the archive (a database error, or a bug) stops the crawl at once
    (:meth:`StopState.archive_failed`, then re-raised for Scrapy to log), and once the archive has
    failed, items are dropped instead of written."""

    @functools.wraps(process_item)
    async def wrapper(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        stops = stop_state_of(getattr(self, "crawler", None))
        if stops.archive_failure is not None:
            raise DropItem(f"not recorded: the crawl is stopping ({stops.archive_failure})")
        try:
            return await process_item(self, item, *args, **kwargs)
        except DropItem:
            raise
        except Exception as exc:
            # Any other error means the item was not recorded: a crawl that goes on would end
            # "ok" with a report missing from the archive, so it stops and the run fails.
            if is_archive_error(exc):
                stops.archive_failed(describe_archive_error(exc))
            else:
                stops.archive_failed(f"internal error {type(exc).__name__}: {exc}")
            raise

    return wrapper  # type: ignore[return-value]


def _write_now(text: str, board: Any = None) -> None:
    """Write a line to stderr from a signal handler: on its own line, straight to the fd."""
    prefix = "\n" if board is not None and getattr(board, "_width", None) else ""
    data = (prefix + text + "\n").encode("utf-8", "replace")
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    if fd is None:  # stderr is not a file (captured): print it from the reactor instead
        from twisted.internet import reactor

        reactor.callFromThread(lambda: print(text, file=sys.stderr, flush=True))
        return
    with contextlib.suppress(OSError):
        os.write(fd, data)


class CrawlProcess(CrawlerProcess):
    """A CrawlerProcess that records the stop signal and says so on stderr at once."""

    def __init__(self, settings: Any, *, progress: Any = None) -> None:
        # Before the per-site copies of ``settings`` are made: every crawler shares the state.
        self.stops = StopState(progress=progress)
        settings.set(STOP_STATE_SETTING, self.stops, priority="cmdline")
        super().__init__(settings)

    def crawl(self, crawler_or_spidercls: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(crawler_or_spidercls, Crawler):
            self.stops.crawlers.append(crawler_or_spidercls)
        return super().crawl(crawler_or_spidercls, *args, **kwargs)

    def _signal_shutdown(self, signum: int, frame: Any) -> None:
        if self.stops.signal is None:
            self.stops.signal = signum
        _write_now(interrupt_message(signum), self.stops.progress)
        super()._signal_shutdown(signum, frame)

    def _signal_kill(self, signum: int, frame: Any) -> None:
        _write_now(FORCED_MESSAGE, self.stops.progress)
        super()._signal_kill(signum, frame)

    def interrupted_by_keyboard(self) -> None:
        """A KeyboardInterrupt reached the runner (Ctrl-C before Scrapy's handlers were in place)."""
        if self.stops.signal is None:
            self.stops.signal = signal.SIGINT


class ArchiveFailureExtension:
    """Stop the crawl when a pipeline could not write an item to the archive."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveFailureExtension:
        extension = cls(crawler)
        crawler.signals.connect(extension.item_error, signal=signals.item_error)
        return extension

    def item_error(self, item: Any = None, response: Any = None, failure: Failure | None = None,
                   **kwargs: Any) -> None:
        error = failure.value if failure is not None else None
        if error is None or not is_archive_error(error):
            return  # a bug in a pipeline: Scrapy logs it and the crawl goes on
        self.crawler.stats.set_value("nianbao/archive_failure", describe_archive_error(error))
        stop_state_of(self.crawler).archive_failed(describe_archive_error(error))
