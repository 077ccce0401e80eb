"""Headless Chromium against ``nianbao serve``: search, report, diff, coverage; nothing runs.

Debian's chromium, driven by Playwright for Python with the browser path given explicitly. A
real server in a child process on 127.0.0.1 serves an archive whose pages carry planted
scripts (they would set ``window.__pwned`` or open a dialog). Screenshots go to
``test-artifacts/``. Without chromium the test skips locally and fails under CI=true.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.web.conftest import HostileArchive, build_hostile_archive

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"


def _need(condition: bool, message: str) -> None:
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (required under CI=true)")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def nianbao_serve(database_url: str, data_dir: Path, cwd: Path, *, without: Sequence[str] = ()) -> Iterator[str]:
    """The real web app (``nianbao serve``) in a child process over an archive; yields its base
    URL. ``without`` names environment settings the child must not inherit."""
    port = _free_port()
    env = {**os.environ, "NIANBAO_DATA_DIR": str(data_dir)}
    for name in without:
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "--db", database_url, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(port: int, process: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"nianbao serve exited: {process.communicate()[1]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("nianbao serve did not start listening")


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[str, HostileArchive]]:
    archive = build_hostile_archive(database_url)
    with nianbao_serve(archive.url, tmp_path / "data", tmp_path) as base_url:
        yield base_url, archive


def test_search_report_diff_and_coverage_in_chromium(served: tuple[str, HostileArchive]) -> None:
    _need(CHROMIUM.is_file(), f"chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright (python) is not installed")
    base, archive = served
    ARTIFACTS.mkdir(exist_ok=True)
    dialogs: list[str] = []
    blocked: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.on(
                "console",
                lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
            )

            page.goto(f"{base}/search?q=复议")
            hits = page.locator("li.hit")
            assert hits.count() == 1
            assert hits.first.locator("mark").first.inner_text() == "复议"
            page.screenshot(path=str(ARTIFACTS / "browser-search.png"), full_page=True)

            hits.first.locator("a.title").click()
            page.wait_for_url(f"{base}/reports/{archive.report_id}")
            title = page.locator("h1.report-title").inner_text()
            assert title.startswith("示范局2023年政府信息公开工作年度报告") and "<script>" in title  # shown as text
            assert "window.__pwned = 1" in page.locator(".body-text").inner_text()
            assert page.locator(".body-text script, .body-text img").count() == 0
            assert page.locator("a[href^='javascript:']").count() == 0
            page.screenshot(path=str(ARTIFACTS / "browser-report.png"), full_page=True)

            page.locator("a.diff-link").last.click()
            page.wait_for_url(f"{base}/reports/{archive.report_id}/diff")
            changed = page.locator("table.diff tr.replace td.new")
            assert changed.count() >= 1 and "12件" in changed.first.inner_text()
            page.screenshot(path=str(ARTIFACTS / "browser-diff.png"), full_page=True)

            page.goto(f"{base}/coverage?as_of=2024-06-01")
            heading = page.locator("h1").inner_text()
            assert heading.startswith("Coverage")
            if page.locator("table.coverage").count():
                assert page.locator("table.coverage td[class^='cell-']").count() >= 1
            page.screenshot(path=str(ARTIFACTS / "browser-coverage.png"), full_page=True)

            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert dialogs == []
        finally:
            browser.close()
