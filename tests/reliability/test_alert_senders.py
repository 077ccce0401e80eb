"""Alert senders racing each other: two ``nianbao alerts send`` started at once by cron and by
hand on one archive, or the scheduler's thread pool finishing two sites' crawls together. Every
alert message must reach the receiver exactly once -- claimed by one conditional UPDATE, not a
row lock (``SELECT ... FOR UPDATE`` does nothing on SQLite). A real webhook receiver on
loopback, real child processes, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select, update

from alerts.delivery import send_pending
from alerts.settings import AlertSettings
from crawler.config import SiteConfig
from storage import sync_site
from storage.db import open_archive
from storage.models import AlertOutbox, Site
from storage.outbox import Finding, raise_alert
from tests.loopback import serving

MESSAGES = 40
SITE = SiteConfig(key="tjj", name="示例市统计局", region="福建省示例市", level="department", family="trs",
                  list_urls=("http://127.0.0.1:9/tjj/index.html",))


class Receiver(ThreadingHTTPServer):
    """A webhook that takes a little while to answer, as a real one does."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, delay: float = 0.03) -> None:
        self.delay = delay
        self.keys: list[str] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server_address[1]}/hook"


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        server: Receiver = self.server  # type: ignore[assignment]
        time.sleep(server.delay)
        with server.lock:
            server.keys.append(self.headers.get("Idempotency-Key") or body.get("idempotency_key"))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver()) as server:
        yield server


def _queue_messages(database_url: str, count: int = MESSAGES, at: datetime | None = None) -> None:
    """``count`` pending messages: one 'report missing' alert per report year."""
    sessions = open_archive(database_url)
    try:
        with sessions() as session, session.begin():
            sync_site(session, SITE)
            site = session.scalars(select(Site).where(Site.key == SITE.key)).one()
            for year in range(1990, 1990 + count):
                finding = Finding("report_missing", site, f"no report for {year}", report_year=year)
                raise_alert(session, finding, now=at)
    finally:
        sessions.kw["bind"].dispose()


def _outbox(database_url: str) -> list[AlertOutbox]:
    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            rows = list(session.scalars(select(AlertOutbox).order_by(AlertOutbox.id)))
            session.expunge_all()
            return rows
    finally:
        sessions.kw["bind"].dispose()


def _sites_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(
        f'[alerts]\nurls = ["{url}"]\n\n[[sites]]\nkey = "{SITE.key}"\nname = "{SITE.name}"\n'
        f'region = "{SITE.region}"\nlevel = "{SITE.level}"\nfamily = "{SITE.family}"\n'
        f'list_urls = ["{SITE.list_urls[0]}"]\n',
        encoding="utf-8",
    )
    return path


def _assert_each_delivered_once(database_url: str, receiver: Receiver, count: int = MESSAGES) -> None:
    rows = _outbox(database_url)
    duplicates = {key: n for key, n in Counter(receiver.keys).items() if n > 1}
    assert duplicates == {}, f"{len(duplicates)} message(s) delivered more than once"
    assert sorted(receiver.keys) == sorted(r.idempotency_key for r in rows) and len(rows) == count
    assert {(r.status, r.attempts, r.claim_token, r.claimed_until) for r in rows} == {("sent", 1, None, None)}


def test_two_alerts_send_processes_at_once_deliver_each_message_once(tmp_path, database_url, receiver):
    """Two ``nianbao alerts send`` processes started together on one archive."""
    _queue_messages(database_url)
    sites = _sites_file(tmp_path, receiver.url)
    env = {**os.environ, "NIANBAO_DATA_DIR": str(tmp_path / "nianbao-data")}
    env.pop("NIANBAO_DATABASE_URL", None)
    command = [sys.executable, "-m", "crawler", "--db", database_url, "--sites", str(sites), "alerts", "send"]
    senders = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [sender.communicate(timeout=120) for sender in senders]
    for sender, (_out, err) in zip(senders, outputs, strict=True):
        assert sender.returncode == 0, err
    _assert_each_delivered_once(database_url, receiver)
    sent = [int(out.split(" sent", 1)[0]) for out, _ in outputs]
    assert sum(sent) == MESSAGES, outputs


def test_concurrent_scheduler_threads_deliver_each_message_once(database_url, receiver):
    """Four threads -- the scheduler's pool after four sites' crawls -- each with its own
    engine, as ``scheduler._monitor_and_deliver`` opens one per job."""
    _queue_messages(database_url)
    settings = AlertSettings(urls=(receiver.url,))
    reports = []
    barrier = threading.Barrier(4)

    def sender() -> None:
        sessions = open_archive(database_url)
        try:
            barrier.wait()
            reports.append(send_pending(sessions, settings))
        finally:
            sessions.kw["bind"].dispose()

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    _assert_each_delivered_once(database_url, receiver)
    assert sum(len(r.sent) for r in reports) == MESSAGES


def test_a_dead_senders_claim_lapses_and_a_live_one_is_respected(database_url, receiver):
    """A sender killed mid-delivery leaves its claim behind: another sender leaves the message
    alone until the claim lapses, then delivers it."""
    start = datetime(2024, 2, 1, 4, tzinfo=UTC)
    _queue_messages(database_url, count=2, at=start)
    sessions = open_archive(database_url)
    try:
        first, second = (r.id for r in _outbox(database_url))
        with sessions() as session, session.begin():
            session.execute(update(AlertOutbox).where(AlertOutbox.id.in_([first, second]))
                            .values(claim_token="dead-sender", claimed_until=start + timedelta(minutes=15)))
        settings = AlertSettings(urls=(receiver.url,))
        clock = start + timedelta(minutes=5)
        assert send_pending(sessions, settings, now=lambda: clock).sent == []  # claimed by someone alive
        assert receiver.keys == []
        clock = start + timedelta(minutes=16)
        assert sorted(send_pending(sessions, settings, now=lambda: clock).sent) == [first, second]
        assert send_pending(sessions, settings, now=lambda: clock).sent == []  # sent: never again
    finally:
        sessions.kw["bind"].dispose()
    _assert_each_delivered_once(database_url, receiver, count=2)
