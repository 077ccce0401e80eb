"""Why a crawl stopped before its end: a signal, or the archive failing under it.

A crawl process runs one :class:`CrawlProcess` (Scrapy's :class:`~scrapy.crawler.CrawlerProcess`
with two additions), and this module remembers for the runner how the crawl ended:

- **A signal.** Scrapy's own handlers stay in charge: the first SIGINT or SIGTERM closes every
  spider with the finish reason ``shutdown`` (a graceful stop: requests in flight finish, and
  what was fetched is recorded), a second one stops the reactor at once. The process also
  records which signal came (:func:`stop_signal`; the runner closes the run as
  ``interrupted`` and the CLI exits with 128 + the signal number) and says so on stderr at
  once, in one line written straight to the file descriptor from the handler (a buffered
  write there could collide with the progress line being drawn).
- **The archive failing.** A pipeline that cannot write an item to the archive (a
  :class:`~crawler.errors.StorageError` or a driver error: the database went away, the disk
  is full, a lock wait timed out) raises, which Scrapy would only log for that item while the
  crawl went on fetching pages it can no longer record. :func:`archive_writer` (on the archive
  pipeline's ``process_item``, so the stop is immediate) and :class:`ArchiveFailureExtension`
  (for pipelines that write from threads) turn that into :func:`archive_failed`: the first such
  error is kept (:func:`archive_failure`) and every crawler of the process is stopped; items
  still in flight are dropped instead of waiting on the failing database again. The runner
  then closes the run as ``failed`` with that reason and the CLI prints it in one line.
"""

from __future__ import annotations

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
    "ArchiveFailureExtension",
    "CrawlProcess",
    "archive_failed",
    "archive_failure",
    "archive_writer",
    "describe_archive_error",
    "interrupt_message",
    "is_archive_error",
    "stop_signal",
]

logger = logging.getLogger(__name__)

FORCED_MESSAGE = "再次收到停止信号，立即退出（未完成的站点记为中断） / second signal: quitting at once"


@dataclass
class _State:
    signal: int | None = None
    archive_failure: str | None = None
    process: CrawlerProcess | None = None
    progress: Any = None
    crawlers: list[Crawler] = field(default_factory=list)


_state = _State()


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


def stop_signal() -> int | None:
    """The signal that stopped this process's crawl, if one did."""
    return _state.signal


def archive_failure() -> str | None:
    """Why the archive could not record this process's crawl (the first error), if it could not."""
    return _state.archive_failure


def is_archive_error(error: BaseException) -> bool:
    """True for the errors that mean the archive cannot be written: a StorageError or a
    database driver error (which escapes as itself when it happens at commit time)."""
    return isinstance(error, (StorageError, SQLAlchemyError))


def describe_archive_error(error: BaseException) -> str:
    """One line for an archive error: a StorageError's own message, a driver's first line."""
    if isinstance(error, StorageError):
        return str(error)
    from storage.db import describe_error

    return f"database error: {describe_error(error)}"


def archive_failed(message: str) -> None:
    """The archive cannot record the crawl: keep the first reason and stop every crawler."""
    if _state.archive_failure is not None:
        return
    _state.archive_failure = message
    logger.error("stopping the crawl: the archive could not be written: %s", message)
    from scrapy.utils.defer import deferred_from_coro

    for crawler in list(_state.crawlers):
        if crawler.crawling and crawler.engine is not None:
            deferred_from_coro(crawler.stop_async())


F = TypeVar("F", bound=Callable[..., Any])


def archive_writer(process_item: F) -> F:
    """Decorate a pipeline's ``process_item`` that writes to the archive: an archive error stops
    the crawl at once (:func:`archive_failed`, then re-raised for Scrapy to log), and once the
    archive has failed, items are dropped instead of written."""

    @functools.wraps(process_item)
    def wrapper(self: Any, item: Any, *args: Any, **kwargs: Any) -> Any:
        if _state.archive_failure is not None:
            raise DropItem(f"not recorded: the crawl is stopping ({_state.archive_failure})")
        try:
            return process_item(self, item, *args, **kwargs)
        except Exception as exc:
            if is_archive_error(exc):
                archive_failed(describe_archive_error(exc))
            raise

    return wrapper  # type: ignore[return-value]


def _write_now(text: str) -> None:
    """Write a line to stderr from a signal handler: on its own line, straight to the fd."""
    board = _state.progress
    prefix = "\n" if board is not None and getattr(board, "_width", 0) else ""
    data = (prefix + text + "\n").encode("utf-8", "replace")
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    if fd is None:  # stderr is not a file (captured): print it from the reactor instead
        from twisted.internet import reactor

        reactor.callFromThread(lambda: print(text, file=sys.stderr, flush=True))  # type: ignore[attr-defined]
        return
    try:
        os.write(fd, data)
    except OSError:
        pass


class CrawlProcess(CrawlerProcess):
    """A CrawlerProcess that records the stop signal and says so on stderr at once."""

    def __init__(self, settings: Any, *, progress: Any = None) -> None:
        super().__init__(settings)
        _state.signal = None
        _state.archive_failure = None
        _state.process = self
        _state.progress = progress
        _state.crawlers = []

    def crawl(self, crawler_or_spidercls: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(crawler_or_spidercls, Crawler):
            _state.crawlers.append(crawler_or_spidercls)
        return super().crawl(crawler_or_spidercls, *args, **kwargs)

    def _signal_shutdown(self, signum: int, frame: Any) -> None:
        if _state.signal is None:
            _state.signal = signum
        _write_now(interrupt_message(signum))
        super()._signal_shutdown(signum, frame)

    def _signal_kill(self, signum: int, frame: Any) -> None:
        _write_now(FORCED_MESSAGE)
        super()._signal_kill(signum, frame)


def interrupted_by_keyboard() -> None:
    """A KeyboardInterrupt reached the runner (Ctrl-C before Scrapy's handlers were in place)."""
    if _state.signal is None:
        _state.signal = signal.SIGINT


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
        archive_failed(describe_archive_error(error))
