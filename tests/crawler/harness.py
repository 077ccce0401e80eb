"""Harness for whole crawls: the demo site on a real loopback HTTP server, and the CLI run
in a child process (Twisted's reactor cannot be restarted inside the test process)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.demo.server import DemoServer
from crawler.demo.site import DemoSite, build_demo_site, demo_sites_toml

# The slow page answers after SLOW_SECONDS; crawls in tests give up after TIMEOUT_SECONDS.
SLOW_SECONDS = 6.0
TIMEOUT_SECONDS = 1
FAST_CRAWL = [
    "-s", f"DOWNLOAD_TIMEOUT={TIMEOUT_SECONDS}",
    "-s", "RETRY_TIMES=0",
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "DOWNLOAD_DELAY=0",
]


@dataclass
class RunningDemo:
    site: DemoSite
    server: DemoServer
    sites_file: Path

    def url(self, path: str) -> str:
        return self.server.base_url + path


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[RunningDemo]:
    site = build_demo_site(slow_seconds=SLOW_SECONDS)
    with DemoServer(site) as server:
        sites_file = tmp_path / "sites.toml"
        sites_file.write_text(demo_sites_toml(server.base_url), encoding="utf-8")
        yield RunningDemo(site=site, server=server, sites_file=sites_file)


def run_nianbao(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the ``nianbao`` CLI in a child process and capture its output."""
    full_env = {**os.environ, "NIANBAO_DATA_DIR": str(cwd / "nianbao-data"), **(env or {})}
    full_env.pop("NIANBAO_DATABASE_URL", None)
    full_env.pop("NIANBAO_SITES", None)
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
