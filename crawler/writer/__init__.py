"""The crawl process's archive writer: every archive write of a crawl, batched, off the reactor.

:mod:`crawler.writer.batch` writes one batch of jobs in one transaction; :mod:`crawler.writer.transport`
runs it in a child process or a thread and hands results back to the reactor as Deferreds. The
runner starts one writer per crawl process (:func:`start_for_crawl`) and hands it to every
crawler in the ``NIANBAO_ARCHIVE_WRITER`` setting; components find it with :func:`archive_writer_of`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from crawler.typed_defaults import bool_default, int_default
from crawler.writer.batch import Call, CaptureJob, CaptureResult, JobFailure, RecordReport
from crawler.writer.transport import ArchiveWriter, WarcJobFailed, WriteFailed, WriterConfig, start_writer
from storage.evidence import warc_directory
from storage.settings import default_of

__all__ = [
    "ARCHIVE_WRITER_SETTING",
    "ArchiveWriter",
    "Call",
    "CaptureJob",
    "CaptureResult",
    "JobFailure",
    "RecordReport",
    "WarcJobFailed",
    "WriteFailed",
    "archive_writer_of",
    "start_for_crawl",
    "writer_config",
]

ARCHIVE_WRITER_SETTING = "NIANBAO_ARCHIVE_WRITER"
WRITER_MODE_SETTING = "NIANBAO_WRITER"
WRITER_MODES = ("process", "thread")


def writer_config(settings: BaseSettings) -> WriterConfig:
    """The writer's configuration from a crawl's settings (database, WARC folder, mode)."""
    from crawler.errors import ConfigError

    mode = str(settings.get(WRITER_MODE_SETTING) or default_of(WRITER_MODE_SETTING))
    if mode not in WRITER_MODES:
        raise ConfigError(f"{WRITER_MODE_SETTING} must be one of {', '.join(WRITER_MODES)} (got {mode!r})")
    capture = settings.getbool("NIANBAO_CAPTURE_ENABLED", bool_default("NIANBAO_CAPTURE_ENABLED"))
    return WriterConfig(
        database_url=settings.get("NIANBAO_DATABASE_URL"),
        warc_directory=Path(warc_directory(settings.get("NIANBAO_WARC_DIR"))) if capture else None,
        warc_max_bytes=settings.getint("NIANBAO_WARC_MAX_BYTES", int_default("NIANBAO_WARC_MAX_BYTES")),
        warc_fsync=settings.getbool("NIANBAO_WARC_FSYNC", bool_default("NIANBAO_WARC_FSYNC")),
        mode=mode,
    )


def start_for_crawl(settings: BaseSettings) -> ArchiveWriter:
    """Start the process's writer and put it in ``settings`` for the crawlers made from them."""
    writer = start_writer(writer_config(settings))
    settings.set(ARCHIVE_WRITER_SETTING, writer, priority="cmdline")
    return writer


def archive_writer_of(crawler: Crawler) -> ArchiveWriter:
    """The writer the runner made for this process; a crawler made without one (a component
    tested on its own) gets a writer thread of its own, closed when its engine stops."""
    shared = crawler.settings.get(ARCHIVE_WRITER_SETTING)
    if isinstance(shared, ArchiveWriter):
        return shared
    own = getattr(crawler, "_nianbao_archive_writer", None)
    if isinstance(own, ArchiveWriter):
        return own
    config = writer_config(crawler.settings)
    own = start_writer(dataclasses.replace(config, mode="thread"))
    crawler._nianbao_archive_writer = own  # type: ignore[attr-defined]

    def close(**_: Any) -> None:
        own.close()

    crawler.signals.connect(close, signal=signals.engine_stopped, weak=False)
    return own
