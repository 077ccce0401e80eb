"""Delivery through apprise to real receivers on loopback: an SMTP server (aiosmtpd) and a
webhook that fails its first attempts."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from alerts.delivery import send_pending, with_idempotency_key
from alerts.monitor import run_monitor
from alerts.settings import AlertSettings, parse_alert_settings
from crawler.config import parse_sites
from storage.models import AlertOutbox
from tests.alerts.conftest import DEPT, Report
from tests.crawler.harness import run_nianbao
from tests.loopback import serving


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, _Inbox]]:
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port: aiosmtpd's readiness check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


class _Webhook(ThreadingHTTPServer):
    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict, dict]] = []
        super().__init__(("127.0.0.1", 0), _WebhookHandler)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server_address[1]}/hook"


class _WebhookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server: _Webhook = self.server  # type: ignore[assignment]
        server.requests.append((dict(self.headers), json.loads(body)))
        status = 503 if len(server.requests) <= server.fail_first else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[_Webhook]:
    with serving(_Webhook(fail_first=2)) as server:
        yield server


def _one_missing_alert(sessions, recorder) -> None:
    recorder.crawl(DEPT, [Report(2021, "2022-01-20"), Report(2022, "2023-01-18")])
    now = datetime(2024, 2, 1, 3, tzinfo=UTC)
    with sessions() as session, session.begin():
        assert len(run_monitor(session, ["tjj"], as_of=now.date(), now=now).queued) == 1


def _mailto(controller: Controller) -> str:
    return (f"mailto://127.0.0.1:{controller.port}?from=nianbao@example.org&to=ops@example.org"
            "&mode=insecure")


def test_email_and_webhook_receive_the_alert_with_retries_and_one_idempotency_key(
    sessions, recorder, smtp, webhook
):
    controller, inbox = smtp
    _one_missing_alert(sessions, recorder)
    settings = AlertSettings(urls=(_mailto(controller), webhook.url), max_attempts=5)
    sleeps: list[float] = []
    clock = [datetime(2024, 2, 1, 4, tzinfo=UTC)]

    report = send_pending(sessions, settings, now=lambda: clock[0], sleep=sleeps.append, tries_per_send=2)
    # Email accepted; the webhook failed twice (1 s backoff between): retried later.
    assert len(inbox.messages) == 1 and len(webhook.requests) == 2 and sleeps == [1.0]
    assert report.retrying and not report.sent
    with sessions() as session:
        row = session.scalars(select(AlertOutbox)).one()
        assert (row.status, row.attempts) == ("pending", 1)
        assert "503" in row.last_error or "json" in row.last_error
        assert row.next_attempt_at > clock[0]

    assert send_pending(sessions, settings, now=lambda: clock[0], sleep=sleeps.append).sent == []  # not due yet
    clock[0] += timedelta(minutes=6)
    report = send_pending(sessions, settings, now=lambda: clock[0], sleep=sleeps.append, tries_per_send=2)
    assert report.sent
    # The email was not sent a second time; the webhook got the same key on every attempt.
    assert len(inbox.messages) == 1 and len(webhook.requests) == 3
    keys = {headers.get("Idempotency-Key") for headers, _ in webhook.requests}
    assert keys == {"nianbao:report_missing:tjj:2023:1"}
    assert {payload["idempotency_key"] for _, payload in webhook.requests} == keys
    assert "Report missing" in webhook.requests[-1][1]["title"]
    mail = message_from_bytes(inbox.messages[0])
    assert "Report missing" in str(make_header(decode_header(mail["Subject"])))
    with sessions() as session:
        row = session.scalars(select(AlertOutbox)).one()
        assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
        assert row.sent_at is not None and len(row.delivered_to) == 2


def test_a_message_that_keeps_failing_is_given_up_after_max_attempts(sessions, recorder):
    _one_missing_alert(sessions, recorder)
    settings = AlertSettings(urls=("json://127.0.0.1:9/hook",), max_attempts=2)
    clock = [datetime(2024, 2, 1, 4, tzinfo=UTC)]
    for _ in range(2):
        send_pending(sessions, settings, now=lambda: clock[0], sleep=lambda s: None, tries_per_send=1)
        clock[0] += timedelta(days=1)
    with sessions() as session:
        row = session.scalars(select(AlertOutbox)).one()
        assert (row.status, row.attempts) == ("failed", 2)


def test_most_specific_alert_urls_win():
    document = {
        "alerts": {"urls": ["json://global/"], "repeat_days": 3},
        "regions": {"福建省": {"alert_urls": ["json://fujian/"]}, "福建省莆田市": {"alert_urls": ["json://putian/"]}},
        "sites": [
            {"key": "a", "name": "A", "region": "福建省莆田市", "level": "department", "family": "trs",
             "list_urls": ["http://a/"]},
            {"key": "b", "name": "B", "region": "福建省福州市", "level": "department", "family": "trs",
             "list_urls": ["http://b/"]},
            {"key": "c", "name": "C", "region": "福建省福州市", "level": "department", "family": "trs",
             "list_urls": ["http://c/"], "alert_urls": ["json://own/"]},
            {"key": "d", "name": "D", "region": "广东省", "level": "department", "family": "trs",
             "list_urls": ["http://d/"]},
        ],
    }
    settings = parse_alert_settings(document, parse_sites(document))
    assert settings.targets_for("a") == ("json://putian/",)
    assert settings.targets_for("b") == ("json://fujian/",)
    assert settings.targets_for("c") == ("json://own/",)
    assert settings.targets_for("d") == ("json://global/",)
    assert settings.repeat_interval == timedelta(days=3)
    assert "alert_urls" not in parse_sites(document)[2].as_dict()  # secrets stay out of the archive


def test_idempotency_key_goes_into_webhook_urls_only():
    assert with_idempotency_key("json://h/p", "k:1") == "json://h/p?+Idempotency-Key=k%3A1&:idempotency_key=k%3A1"
    assert with_idempotency_key("form://h/p?x=1", "k") == "form://h/p?x=1&+Idempotency-Key=k"
    assert with_idempotency_key("mailto://u:p@h", "k") == "mailto://u:p@h"


def test_alerts_test_command_delivers_or_fails_in_one_line(tmp_path, webhook):
    webhook.fail_first = 0
    ok = run_nianbao("alerts", "test", webhook.url, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("delivered (idempotency key nianbao:test:")
    assert webhook.requests[-1][0]["Idempotency-Key"].startswith("nianbao:test:")
    bad = run_nianbao("alerts", "test", "json://127.0.0.1:9/hook", cwd=tmp_path)
    assert bad.returncode == 1
    assert len(bad.stderr.strip().splitlines()) == 1 and bad.stderr.startswith("Error: test message not delivered")
