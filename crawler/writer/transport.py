"""The archive writer of a crawl process: jobs in, one batch at a time, Deferreds out.

Every archive write of the process goes through one :class:`ArchiveWriter`. ``submit(job)``
returns a Deferred that fires (on the reactor thread) only after the batch holding the job has
committed -- acknowledged means committed -- with the job's result, or fails with
:class:`WriteFailed`. Jobs are written in the order they were submitted; a job submitted after
another never commits before it, so an attachment's link can rely on its report's row.

Batches are cut at :data:`BATCH_JOBS` jobs, when the oldest waiting job is :data:`BATCH_AGE`
old, or when no job has come for :data:`BATCH_LINGER`; one batch is in flight at a time, so the
jobs that arrive while it is written make the next one: the batch grows when the database is
slow and stays small (short waits) when the crawl is quiet.

Two ways to run the writer, chosen by ``NIANBAO_WRITER`` (measured in BENCHMARKS.md):

* ``process`` (default): a child process owns the database connection and the WARC file; jobs
  and results cross a pipe, and the reactor keeps its core. The child is forked before the
  crawl starts any thread (so it starts with everything imported) and dies with its parent
  (``PR_SET_PDEATHSIG``), so a killed crawl cannot leave a writer running.
* ``thread``: a thread of the crawl process, sharing its interpreter (and its GIL).

Back-pressure: Scrapy waits for each page's capture and each item's write, so the jobs in the
queue are bounded by the concurrent requests and the scraper's slot, not by the writer's speed.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet import defer

from crawler.capture.warc import WarcWriteError
from crawler.child_process import become_helper_of, one_way_pipe, start_context
from crawler.errors import StorageError
from crawler.writer.batch import BatchWriter, Job, JobFailure, warc_writer_for

__all__ = ["BATCH_AGE", "BATCH_JOBS", "ArchiveWriter", "WriteFailed", "WriterConfig", "start_writer"]

logger = logging.getLogger(__name__)

BATCH_JOBS = 200  # cut a batch at this many jobs ...
BATCH_AGE = 0.03  # ... or when its oldest job has waited this long (seconds) ...
BATCH_LINGER = 0.002  # ... or when no further job came for this long


class WriteFailed(StorageError):
    """A job the archive writer could not record; ``kind`` is "warc", "storage" or "internal"."""

    def __init__(self, failure: JobFailure) -> None:
        super().__init__(failure.message)
        self.kind = failure.kind


class WarcJobFailed(WriteFailed, WarcWriteError):
    """A capture whose WARC record could not be written (full disk, read-only folder)."""


def _as_error(failure: JobFailure) -> WriteFailed:
    return WarcJobFailed(failure) if failure.kind == "warc" else WriteFailed(failure)


@dataclass(frozen=True)
class WriterConfig:
    database_url: str
    warc_directory: Path | None  # None: capture is off, no WARC file
    warc_max_bytes: int
    warc_fsync: bool = True  # sync each batch's WARC records before its COMMIT
    mode: str = "process"  # "process" or "thread"


def _open(config: WriterConfig) -> BatchWriter:
    from storage.db import writer_archive

    warc = (warc_writer_for(config.warc_directory, max_bytes=config.warc_max_bytes)
            if config.warc_directory is not None else None)
    return BatchWriter(writer_archive(config.database_url), warc, sync=config.warc_fsync)


def _next_batch(take: Callable[[float | None], Any]) -> tuple[list[tuple[int, Job]], bool]:
    """Wait for a job, then gather more; (batch, closing).

    The batch is cut at BATCH_JOBS jobs, when its first job has waited BATCH_AGE, or when no
    further job comes within BATCH_LINGER: a quiet crawl (a test, a small site) gets its pages
    acknowledged at once, a busy one fills its batches while the previous batch is written.
    """
    first = take(None)
    if first is None:
        return [], True
    batch = [first]
    deadline = time.monotonic() + BATCH_AGE
    while len(batch) < BATCH_JOBS:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        item = take(min(left, BATCH_LINGER))
        if item is None:
            return batch, True
        if item is _EMPTY:
            break
        batch.append(item)
    return batch, False


_EMPTY = object()


def _write_batch(writer: BatchWriter, batch: list[tuple[int, Job]]) -> list[tuple[int, Any]]:
    results = writer.write([job for _, job in batch])
    return [(number, result) for (number, _), result in zip(batch, results, strict=True)]


class ArchiveWriter:
    """The process's archive writer; see the module docstring."""

    def __init__(self, config: WriterConfig) -> None:
        self.config = config
        self._numbers = itertools.count(1)
        self._waiting: dict[int, defer.Deferred[Any]] = {}
        self._closed = False
        self._broken: str | None = None  # why the writer cannot write any more
        self.close_errors: list[str] = []

    def __deepcopy__(self, memo: dict[int, Any]) -> ArchiveWriter:
        return self  # each site's settings are a deep copy; they must share the one writer

    def submit(self, job: Job) -> defer.Deferred[Any]:
        """Queue ``job``; the Deferred fires with its result once its batch has committed."""
        if self._closed or self._broken is not None:
            reason = self._broken or "the archive writer is closed"
            return defer.fail(WriteFailed(JobFailure("internal", reason)))
        number = next(self._numbers)
        waiting: defer.Deferred[Any] = defer.Deferred()
        self._waiting[number] = waiting
        self._send(number, job)
        return waiting

    def close(self) -> None:
        """Write what is queued, finish the WARC file and stop (blocks; not on the reactor)."""
        if self._closed:
            return
        self._closed = True
        self._stop()

    # Called on the reactor thread with a batch's results.
    def _deliver(self, results: list[tuple[int, Any]]) -> None:
        for number, result in results:
            waiting = self._waiting.pop(number, None)
            if waiting is None:
                continue
            if isinstance(result, JobFailure):
                waiting.errback(_as_error(result))
            else:
                waiting.callback(result)

    def _gone(self, reason: str) -> None:
        """On the reactor thread: the writer cannot write any more; fail what waits and what comes."""
        self._broken = reason
        self._deliver([(number, JobFailure("internal", reason)) for number in list(self._waiting)])

    def _call_in_reactor_gone(self, reason: str) -> None:
        from twisted.internet import reactor

        if reactor.running:
            reactor.callFromThread(self._gone, reason)

    def _call_in_reactor(self, results: list[tuple[int, Any]]) -> None:
        from twisted.internet import reactor

        if reactor.running:
            reactor.callFromThread(self._deliver, results)

    def _send(self, number: int, job: Job) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError


class ThreadArchiveWriter(ArchiveWriter):
    def __init__(self, config: WriterConfig) -> None:
        super().__init__(config)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer = _open(config)
        self._thread = threading.Thread(target=self._run, name="nianbao-archive-writer", daemon=True)
        self._thread.start()

    def _send(self, number: int, job: Job) -> None:
        self._queue.put((number, job))

    def _take(self, timeout: float | None) -> Any:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return _EMPTY

    def _run(self) -> None:
        closing = False
        while not closing:
            batch, closing = _next_batch(self._take)
            if batch:
                self._call_in_reactor(_write_batch(self._writer, batch))
        self.close_errors.extend(self._writer.close())

    def _stop(self) -> None:
        self._queue.put(None)
        self._thread.join()


class ProcessArchiveWriter(ArchiveWriter):
    def __init__(self, config: WriterConfig) -> None:
        super().__init__(config)
        context = start_context()  # fork before the crawl's threads start (crawler/child_process.py)
        child_jobs, self._jobs = one_way_pipe(context)
        self._results, child_results = one_way_pipe(context)
        self._child = context.Process(
            target=_child_main, args=(config, child_jobs, child_results, os.getpid()),
            name="nianbao-archive-writer", daemon=True,
        )
        self._child.start()
        child_jobs.close()
        child_results.close()
        self._send_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_results, name="nianbao-writer-results", daemon=True)
        self._reader.start()

    def _send(self, number: int, job: Job) -> None:
        with self._send_lock:
            try:
                self._jobs.send((number, job))
            except (OSError, EOFError) as exc:
                self._gone(f"the archive writer process is gone: {exc}")

    def _read_results(self) -> None:
        while True:
            try:
                message = self._results.recv()
            except (EOFError, OSError):
                break
            kind, payload = message
            if kind == "results":
                self._call_in_reactor(payload)
            elif kind == "closed":
                self.close_errors.extend(payload)
        # The child is gone: whatever still waits will never be written, and nothing more will.
        self._call_in_reactor_gone("the archive writer process ended")

    def _stop(self) -> None:
        with self._send_lock, contextlib.suppress(OSError, EOFError):
            self._jobs.send(None)
        self._child.join()
        self._reader.join(timeout=10)
        with contextlib.suppress(OSError):
            self._jobs.close()


def _child_main(config: WriterConfig, jobs: Any, results: Any, parent: int) -> None:
    """The writer process: read jobs, write batches, send results back."""
    become_helper_of(parent)
    # A forked child also holds the crawl process's archive connections: it never touches them
    # (closing one would end the parent's session) and leaves with os._exit, so nothing closes
    # them here; the writer opens its own.
    writer = _open(config)
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def read() -> None:
        # Drain the pipe at once, so the crawl process never blocks on a full pipe while a
        # batch is being written.
        while True:
            try:
                message = jobs.recv()
            except (EOFError, OSError):
                message = None
            inbox.put(message)
            if message is None:
                return

    threading.Thread(target=read, daemon=True).start()

    def take(timeout: float | None) -> Any:
        try:
            return inbox.get(timeout=timeout)
        except queue.Empty:
            return _EMPTY

    closing = False
    while not closing:
        batch, closing = _next_batch(take)
        if batch:
            results.send(("results", _write_batch(writer, batch)))
    results.send(("closed", writer.close()))
    results.close()


def start_writer(config: WriterConfig) -> ArchiveWriter:
    """The process's archive writer, running (``config.mode``: "process" or "thread")."""
    if config.mode == "thread":
        return ThreadArchiveWriter(config)
    return ProcessArchiveWriter(config)
