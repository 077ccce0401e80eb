"""A slow many-bureau site and the real `nianbao crawl` processes the crash tests stop.

The site is :mod:`crawler.demo.bulk` on a real loopback server; every report page answers after
:data:`PAGE_DELAY`, as an overloaded government server does, so a crawl takes long enough to be
caught in the middle. The server lives for the whole test module: :func:`uninterrupted_state`
crawls it once, start to end, into a fresh archive, and every test compares against that.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from crawler.demo.bulk import build_bulk_site, bulk_sites_toml
from crawler.demo.server import DemoServer
from tests.crawler.harness import run_nianbao
from tests.reliability.archive_state import ArchivedReport, archive_state, count

BUREAUS = 4
REPORTS = 6
EXPECTED_REPORTS = BUREAUS * REPORTS
PAGE_DELAY = 0.2
# Two requests at a time, no throttling or retries: a full crawl takes a few seconds. Attachments
# are refused at their first byte (their handling is not what these tests are about).
SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0", "RETRY_TIMES": "0", "DOWNLOAD_TIMEOUT": "5",
    "CONCURRENT_REQUESTS": "2", "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "NIANBAO_ATTACHMENT_MAX_BYTES": "1",
}


@pytest.fixture(scope="module")
def slow_bulk_site() -> Iterator[DemoServer]:
    site, reports = build_bulk_site(BUREAUS, REPORTS)
    for report in reports:
        site.pages[report.path].delay = PAGE_DELAY
    with DemoServer(site) as server:
        yield server


@pytest.fixture(scope="module")
def uninterrupted_state(
    slow_bulk_site: DemoServer, tmp_path_factory: pytest.TempPathFactory
) -> frozenset[ArchivedReport]:
    """The archive one uninterrupted crawl of the site leaves in a fresh SQLite archive."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    database_url = f"sqlite:///{folder / 'archive.sqlite3'}"
    done = run_crawl(folder, database_url, write_sites_file(folder, slow_bulk_site))
    assert done.returncode == 0, done.stdout + done.stderr
    state = archive_state(database_url)
    assert len(state) == EXPECTED_REPORTS
    assert all(report.attachments for report in state)  # attachments are part of what is compared
    return state


def write_sites_file(folder: Path, server: DemoServer) -> Path:
    sites = folder / "sites.toml"
    sites.write_text(bulk_sites_toml(server.base_url, BUREAUS), encoding="utf-8")
    return sites


def _arguments(database_url: str, sites: Path) -> list[str]:
    settings = [part for name, value in SETTINGS.items() for part in ("-s", f"{name}={value}")]
    return ["--db", database_url, "--sites", str(sites), "crawl", "-q", *settings]


def run_crawl(folder: Path, database_url: str, sites: Path) -> subprocess.CompletedProcess[str]:
    """`nianbao crawl` of every bureau, to its end, with its data folder under ``folder``."""
    return run_nianbao(*_arguments(database_url, sites), cwd=folder, timeout=120)


def start_crawl(folder: Path, database_url: str, sites: Path) -> subprocess.Popen[str]:
    """The same crawl as :func:`run_crawl`, left running for the test to signal."""
    env = {**os.environ, "NIANBAO_DATA_DIR": str(folder / "nianbao-data")}
    env.pop("NIANBAO_DATABASE_URL", None)
    env.pop("NIANBAO_SITES", None)
    return subprocess.Popen([sys.executable, "-m", "crawler", *_arguments(database_url, sites)], cwd=folder,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_rows(database_url: str, table: str, at_least: int, process: subprocess.Popen[str]) -> None:
    """Wait until the running crawl has written ``at_least`` rows to ``table``."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stdout, stderr = process.communicate()
            pytest.fail(f"the crawl ended (status {process.returncode}) before the test could stop it:\n"
                        f"{stdout[-2000:]}{stderr[-2000:]}")
        try:
            if count(database_url, f"SELECT count(*) FROM {table}") >= at_least:
                return
        except DBAPIError:
            pass  # the crawl has not created the schema yet
        time.sleep(0.02)
    pytest.fail(f"the crawl wrote fewer than {at_least} {table} rows in time")


def end(process: subprocess.Popen[str]) -> None:
    """Make sure a crawl the test started is gone, whatever the test did to it."""
    if process.poll() is None:
        process.kill()
        process.communicate()


def warc_folder(folder: Path) -> Path:
    return folder / "nianbao-data" / "warc"
