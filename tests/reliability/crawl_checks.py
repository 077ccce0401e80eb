"""Helpers shared by the reliability rows that crawl hostile files: a whole crawl measured for
its peak memory, and a read of the archive the crawl left behind.

The peak is taken by ``/usr/bin/time`` around the crawl's own process: ``wait4`` reports the
largest resident set of that process and of every child it waited for (the attachment sandbox's
readers and the OCR engine included), so one number bounds the whole tree.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import open_archive
from storage.models import Attachment, AttachmentLink, CrawlError, Document
from tests.reliability.conftest import sites_toml

TIME = "/usr/bin/time"
T = TypeVar("T")


@dataclass
class MeasuredCrawl:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_kb: int


def measured_crawl(tmp_path: Path, database_url: str, list_urls: list[str], *settings: str,
                   env: dict[str, str] | None = None, timeout: float = 180) -> MeasuredCrawl:
    """``nianbao crawl`` of one generic site (as :func:`tests.reliability.conftest.crawl`), run
    under ``/usr/bin/time`` so the peak RSS of the crawl and its sandbox children is known."""
    sites = tmp_path / "sites.toml"
    sites.write_text(sites_toml(list_urls), encoding="utf-8")
    args: list[str] = []
    for setting in ("AUTOTHROTTLE_ENABLED=False", "DOWNLOAD_DELAY=0", "DOWNLOAD_TIMEOUT=5", "RETRY_TIMES=0",
                    *settings):
        args += ["-s", setting]
    child_env = {**os.environ, "NIANBAO_DATA_DIR": str(tmp_path / "nianbao-data"), **(env or {})}
    child_env.pop("NIANBAO_DATABASE_URL", None)
    child_env.pop("NIANBAO_SITES", None)
    started = time.monotonic()
    done = subprocess.run(
        [TIME, "-f", "peak-rss-kb=%M", sys.executable, "-m", "crawler", "--db", database_url,
         "--sites", str(sites), "crawl", "-q", *args],
        cwd=tmp_path, env=child_env, capture_output=True, text=True, timeout=timeout)
    peaks = re.findall(r"peak-rss-kb=(\d+)", done.stderr)
    assert peaks, done.stderr[-2000:]
    return MeasuredCrawl(done.returncode, done.stdout, done.stderr, time.monotonic() - started, int(peaks[-1]))


def read_archive(database_url: str, read: Callable[[Session], T]) -> T:
    """``read(session)`` on the archive, the engine disposed afterwards (PostgreSQL keeps no
    connection open into the next test's schema reset)."""
    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            return read(session)
    finally:
        sessions.kw["bind"].dispose()


@dataclass
class CrawlOutcome:
    """What one crawl left in the archive, keyed by URL."""

    errors: dict[str, str]  # crawl_errors: url -> reason
    documents: set[str]  # reports archived
    attachment_errors: dict[str, str | None]  # attachment link url -> the stored file's reason
    attachment_texts: dict[str, str | None]  # attachment link url -> the stored file's text
    link_errors: dict[str, str | None]  # attachment link url -> the download's reason


def crawl_outcome(database_url: str) -> CrawlOutcome:
    def read(session: Session) -> CrawlOutcome:
        links = list(session.scalars(select(AttachmentLink)))
        files = {a.id: a for a in session.scalars(select(Attachment))}
        stored = {link.url: files.get(link.attachment_id) for link in links}
        return CrawlOutcome(
            errors={e.url: e.reason for e in session.scalars(select(CrawlError))},
            documents=set(session.scalars(select(Document.url))),
            attachment_errors={url: a.error if a else None for url, a in stored.items()},
            attachment_texts={url: a.text if a else None for url, a in stored.items()},
            link_errors={link.url: link.error for link in links},
        )

    return read_archive(database_url, read)


def files_outside(root: Path, data_dir: Path, allowed: set[Path]) -> set[Path]:
    """Files under ``root`` a crawl wrote outside its data folder (``allowed``: the sites file,
    the SQLite archive)."""
    return {p for p in root.rglob("*")
            if p.is_file() and data_dir not in p.parents and p not in allowed and p.suffix != ".sqlite3"}


# A repr (``<twisted.python.failure.Failure …>``, ``<200 http://…>``), a traceback or an address.
UNREADABLE = re.compile(r"<[\w.]+[ >:]|Failure|twisted|Traceback|0x[0-9a-f]{6,}")


def is_readable(reason: str | None) -> bool:
    """A reason an archivist can read: present, short, and no Python or Twisted repr."""
    return bool(reason) and len(reason) <= 300 and not UNREADABLE.search(reason)
