"""Row 8: two schedulers on one archive.

The real-world mistake: ``nianbao scheduler`` left running on one machine and started again on
another (or twice by two service managers), both pointing at the same archive -- at the same
moment, or the second while the first is in the middle of the night's crawl. The crawl leases
must make every site's slot crawl exactly once: the second scheduler records the site as
skipped because the lease is held, no document, version or alert is duplicated, no alert
message reaches its receiver twice, and both processes stop cleanly on Ctrl-C.

Everything is real: two scheduler processes (``scheduler.run``, what ``nianbao scheduler``
runs), their crawl child processes, a live and an unreachable bureau on a loopback server, a
webhook receiver on loopback; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from tests.conftest import REPO_ROOT
from tests.crawler.capture.conftest import query
from tests.crawler.harness import FAST_CRAWL
from tests.reliability.conftest import list_page, report_page, send
from tests.reliability.test_alert_senders import Receiver, receiver  # noqa: F401  (fixture)
from tests.test_scheduler import SHANGHAI, _wait_for

# Every answer of the bureau server waits for the test to open the gate, so the first crawl
# holds its leases for as long as the test needs (a slow bureau on a bad night), however long
# the loaded machine takes to start the second scheduler; 60 s is only the safety net.
CRAWL_ARGS = (*FAST_CRAWL, "-s", "DOWNLOAD_TIMEOUT=60")
SITES = ("down", "live")
REPORT_YEARS = (2022, 2023)
# One scheduler process: what ``nianbao scheduler`` runs, with the test's crawl settings and
# first run time (``--run-now`` when the argument is "now").
LAUNCH = """
import json, sys
from datetime import datetime
import scheduler
given = json.loads(sys.argv[1])
first = datetime.now(scheduler.ZoneInfo(scheduler.TIMEZONE)) if given["first_run"] == "now" \\
    else datetime.fromisoformat(given["first_run"])
scheduler.run(scheduler.SchedulerOptions(
    database_url=given["db"], sites_file=given["sites"], crawl_args=tuple(given["crawl_args"]),
    data_dir=given["data_dir"], first_run=first))
"""


class GatedBureaus(ThreadingHTTPServer):
    """Two bureaus on one loopback server: ``/live/`` lists two reports, ``/down/`` drops every
    connection (the site is unreachable, which raises one alert). Nothing is answered before
    :attr:`gate` opens."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self) -> None:
        self.gate = threading.Event()
        super().__init__(("127.0.0.1", 0), _GatedHandler)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _GatedHandler(BaseHTTPRequestHandler):
    server: GatedBureaus

    def do_GET(self) -> None:
        self.server.gate.wait(timeout=60)
        if self.path.startswith("/down/"):
            self.close_connection = True  # no status line at all: the connection just drops
            return
        if self.path == "/live/list.html":
            send(self, 200, list_page({f"/live/{year}.html": year for year in REPORT_YEARS}))
        elif self.path in {f"/live/{year}.html" for year in REPORT_YEARS}:
            send(self, 200, report_page(int(self.path[len("/live/"):-len(".html")])))
        else:
            send(self, 404, "not found")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def bureaus() -> Iterator[GatedBureaus]:
    server = GatedBureaus()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.gate.set()
        server.shutdown()
        server.server_close()


def _sites_file(tmp_path: Path, bureaus: GatedBureaus, alert_url: str) -> Path:
    path = tmp_path / "two-schedulers.toml"
    blocks = [f'[alerts]\nurls = ["{alert_url}"]\n']
    for key, name in (("live", "示范局"), ("down", "无响应局")):
        blocks.append(
            f'[[sites]]\nkey = "{key}"\nname = "{name}"\nregion = "示范市"\nlevel = "department"\n'
            f'family = "generic"\nlist_urls = ["{bureaus.url(f"/{key}/list.html")}"]\nfirst_report_year = 2019\n')
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def _start(tmp_path: Path, database_url: str, sites: Path, first_run: str, name: str) -> subprocess.Popen[str]:
    given = {"db": database_url, "sites": str(sites), "crawl_args": list(CRAWL_ARGS),
             "data_dir": str(tmp_path / "nianbao-data"), "first_run": first_run}
    env = {key: value for key, value in os.environ.items() if key not in ("NIANBAO_DATABASE_URL", "NIANBAO_SITES")}
    log = (tmp_path / f"{name}.log").open("w", encoding="utf-8")
    return subprocess.Popen([sys.executable, "-c", LAUNCH, json.dumps(given)], cwd=REPO_ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)


def _events(database_url: str) -> list[tuple[str, str, str | None]]:
    try:
        return [tuple(row) for row in query(database_url, "SELECT site_key, event, detail FROM scheduler_events ORDER BY id")]
    except DBAPIError:  # not migrated yet
        return []


def _leases_held(database_url: str) -> int:
    try:
        return int(query(database_url, "SELECT count(*) FROM crawl_leases")[0][0])
    except DBAPIError:  # not migrated yet
        return 0


def _stop(process: subprocess.Popen[str]) -> int:
    """Ctrl-C, as an operator stops the scheduler."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def _skips(database_url: str) -> int:
    return sum(1 for _, event, _ in _events(database_url) if event == "skipped")


@pytest.mark.parametrize("start", ["together", "staggered"])
def test_two_schedulers_crawl_each_site_once_per_slot(
    bureaus: GatedBureaus, receiver: Receiver, tmp_path: Path, database_url: str, start: str  # noqa: F811
) -> None:
    sites = _sites_file(tmp_path, bureaus, receiver.url)
    if start == "together":
        # Both processes start at once with the same slot a few seconds ahead.
        slot = (datetime.now(SHANGHAI) + timedelta(seconds=3)).isoformat()
        first = _start(tmp_path, database_url, sites, slot, "first")
        second = _start(tmp_path, database_url, sites, slot, "second")
    else:
        # The second is started (``--run-now``) while the first is in the middle of both crawls.
        first = _start(tmp_path, database_url, sites, "now", "first")
        second = None
    try:
        if second is None:
            _wait_for(lambda: _leases_held(database_url) == len(SITES), timeout=60)
            second = _start(tmp_path, database_url, sites, "now", "second")
        # The second scheduler skips both sites while the first holds them; then the bureaus
        # answer and the first finishes its crawls, monitor and delivery.
        _wait_for(lambda: _skips(database_url) == len(SITES), timeout=90)
        bureaus.gate.set()
        _wait_for(lambda: len(_events(database_url)) >= 2 * len(SITES), timeout=90)
        time.sleep(2)  # a third job or a late delivery, if any, would show by now
    finally:
        bureaus.gate.set()
        first_status = _stop(first)
        second_status = _stop(second) if second is not None else None
    logs = {name: (tmp_path / f"{name}.log").read_text(encoding="utf-8") for name in ("first", "second")}
    assert (first_status, second_status) == (0, 0), logs
    assert "Traceback" not in logs["first"] + logs["second"], logs

    events = _events(database_url)
    assert sorted((site, event) for site, event, _ in events) == [
        ("down", "failed"), ("down", "skipped"), ("live", "finished"), ("live", "skipped")], events
    for site, event, detail in events:
        if event == "skipped":
            assert f"Skipped {site}: another crawl holds its lease" in (detail or ""), detail
    # Exactly one crawl of each site in the slot.
    crawls = query(database_url, "SELECT s.key, count(*) FROM site_crawls c JOIN sites s ON s.id = c.site_id GROUP BY s.key")
    assert sorted(crawls) == [("down", 1), ("live", 1)]
    assert query(database_url, "SELECT count(*) FROM crawl_runs WHERE status = 'running'") == [(0,)]
    assert _leases_held(database_url) == 0  # both released on the way out
    # Every report archived once, with one version.
    documents = query(database_url, "SELECT url, count(*) FROM documents GROUP BY url")
    assert len(documents) == len(REPORT_YEARS) and {n for _, n in documents} == {1}
    versions = query(database_url, "SELECT document_id, count(*) FROM versions GROUP BY document_id")
    assert len(versions) == len(REPORT_YEARS) and {n for _, n in versions} == {1}
    # One alert for the unreachable site, and every message sent exactly once: each row is
    # marked sent after one attempt, and the receiver got each of them once (both sites'
    # deliveries run at once in one scheduler's thread pool).
    alerts = query(database_url, "SELECT kind, count(*) FROM alerts WHERE kind = 'site_unreachable' GROUP BY kind")
    assert alerts == [("site_unreachable", 1)]
    queued, distinct = query(database_url, "SELECT count(*), count(DISTINCT idempotency_key) FROM alert_outbox")[0]
    assert queued == distinct >= 1
    per_alert = query(database_url, "SELECT alert_id, count(*) FROM alert_outbox GROUP BY alert_id")
    assert {n for _, n in per_alert} == {1}  # one "opened" message per alert, not one per scheduler
    outbox = query(database_url, "SELECT idempotency_key, status, attempts, last_error FROM alert_outbox")
    assert {(status, attempts) for _, status, attempts, _ in outbox} == {("sent", 1)}, outbox
    assert sorted(receiver.keys) == sorted(key for key, *_ in outbox), receiver.keys
