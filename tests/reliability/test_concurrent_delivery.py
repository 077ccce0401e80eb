"""Alert deliveries running at the same moment inside ONE process: the scheduler's thread pool
finishing two sites' crawls together, each job then calling ``send_pending`` with its own engine
(as ``scheduler._monitor_and_deliver`` does). Every message must reach the receiver exactly
once, none may be left pending, and when a receiver fails, the error recorded on a message must
be apprise's own warning for THAT delivery -- not another thread's line, not a bare "delivery
failed". Real webhook receivers on loopback, real apprise, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from alerts.delivery import DeliveryReport, send_pending
from alerts.settings import AlertSettings, check_alert_urls
from storage import sync_site
from storage.db import open_archive
from storage.models import AlertOutbox, Site, utcnow
from storage.outbox import Finding, raise_alert
from tests.loopback import serving
from tests.reliability.test_alert_senders import SITE, Receiver, _outbox, _ReceiverHandler, receiver  # noqa: F401

ROUNDS = 6
MESSAGES_PER_ROUND = 6
SENDERS = 2


class FailingReceiver(Receiver):
    """A webhook that answers every POST with one error status (a receiver that is down for
    maintenance, or a mistyped hook path), after counting the request."""

    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(delay=0.01)
        self.RequestHandlerClass = _FailingHandler


class _FailingHandler(_ReceiverHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server: FailingReceiver = self.server  # type: ignore[assignment]
        with server.lock:
            server.keys.append(self.headers.get("Idempotency-Key") or "")
        self.send_response(server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def unavailable() -> Iterator[Receiver]:
    with serving(FailingReceiver(503)) as server:
        yield server


@pytest.fixture
def missing_hook() -> Iterator[Receiver]:
    with serving(FailingReceiver(404)) as server:
        yield server


def _queue_round(database_url: str, round_no: int, count: int) -> None:
    """``count`` new pending messages: one 'report missing' alert per year not used before."""
    sessions = open_archive(database_url)
    try:
        with sessions() as session, session.begin():
            sync_site(session, SITE)
            site = session.scalars(select(Site).where(Site.key == SITE.key)).one()
            for year in range(1900 + round_no * count, 1900 + (round_no + 1) * count):
                raise_alert(session, Finding("report_missing", site, f"no report for {year}", report_year=year))
    finally:
        sessions.kw["bind"].dispose()


def _send_at_once(database_url: str, settings_per_sender: list[AlertSettings]) -> list[DeliveryReport]:
    """One thread per settings, each with its own engine, released together by a barrier."""
    reports: list[DeliveryReport | None] = [None] * len(settings_per_sender)
    barrier = threading.Barrier(len(settings_per_sender))

    def sender(index: int) -> None:
        sessions = open_archive(database_url)
        try:
            barrier.wait()
            reports[index] = send_pending(sessions, settings_per_sender[index], backoff_seconds=0.01, tries_per_send=1)
        finally:
            sessions.kw["bind"].dispose()

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(len(settings_per_sender))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(report is not None for report in reports), "a sender thread raised or hung"
    return [report for report in reports if report is not None]


def test_two_threads_deliver_every_message_exactly_once(database_url: str, receiver: Receiver) -> None:  # noqa: F811
    """Round after round, two scheduler threads deliver at the same instant to a working
    receiver: every message is sent once, by one thread, and nothing stays pending."""
    settings = AlertSettings(urls=(receiver.url,))
    for round_no in range(ROUNDS):
        _queue_round(database_url, round_no, MESSAGES_PER_ROUND)
        reports = _send_at_once(database_url, [settings] * SENDERS)
        sent = [row_id for report in reports for row_id in report.sent]
        assert len(sent) == len(set(sent)) == MESSAGES_PER_ROUND, (round_no, reports)
        assert [r.retrying or r.failed or r.no_target for r in reports] == [[]] * SENDERS, (round_no, reports)
    rows = _outbox(database_url)
    assert len(rows) == ROUNDS * MESSAGES_PER_ROUND
    assert {(r.status, r.attempts, r.last_error, r.claim_token) for r in rows} == {("sent", 1, None, None)}
    assert Counter(receiver.keys) == Counter({r.idempotency_key: 1 for r in rows})


def _only(codes: set[str], errors: list[str | None], own: str) -> bool:
    """Every error names this sender's receiver's status and none names the other's."""
    return all(e is not None and own in e and not any(code in e for code in codes - {own}) for e in errors)


def test_concurrent_failures_record_each_senders_own_apprise_error(
    database_url: str, unavailable: Receiver, missing_hook: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """Two threads deliver at once, one to a receiver answering 503, the other to one answering
    404. Each message's ``last_error`` must carry apprise's warning for the delivery that thread
    made (its own status code, never the other thread's, never a bare "delivery failed"), the
    message stays pending for a later retry, and the warning also reaches the process log."""
    caplog.set_level(logging.WARNING, logger="alerts.delivery")
    settings = [AlertSettings(urls=(unavailable.url,)), AlertSettings(urls=(missing_hook.url,))]
    expected_code = ["503", "404"]
    for round_no in range(ROUNDS // 2):
        _queue_round(database_url, round_no, MESSAGES_PER_ROUND)
        reports = _send_at_once(database_url, settings)
        errors = {row.id: row.last_error for row in _outbox(database_url)}
        for report, code in zip(reports, expected_code, strict=True):
            assert report.sent == report.failed == [], reports
            mine = [errors[row_id] for row_id in report.retrying]
            assert _only(set(expected_code), mine, code), (round_no, code, mine)
        retried = sorted(row_id for report in reports for row_id in report.retrying)
        assert len(retried) == len(set(retried)) == len(errors), (round_no, reports)
        _reset_retry_clock(database_url)
    rows = _outbox(database_url)
    assert {r.status for r in rows} == {"pending"} and all("delivery failed" not in (r.last_error or "") for r in rows)
    assert sum(len(server.keys) for server in (unavailable, missing_hook)) == sum(r.attempts for r in rows)
    logged = [record.getMessage() for record in caplog.records if record.name == "alerts.delivery"]
    assert any("503" in line for line in logged) and any("404" in line for line in logged), logged


def _reset_retry_clock(database_url: str) -> None:
    """Make every pending message due again, as the next night's send would find it."""
    sessions = open_archive(database_url)
    try:
        with sessions() as session, session.begin():
            session.execute(update(AlertOutbox).where(AlertOutbox.status == "pending").values(next_attempt_at=utcnow()))
    finally:
        sessions.kw["bind"].dispose()


def test_sites_file_check_in_another_thread_hides_no_delivery_error(
    database_url: str, unavailable: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """The scheduler's other job reads and checks the sites file (every alert URL through
    apprise's parser, :func:`alerts.settings.check_alert_urls`) while this job's delivery fails:
    apprise's warning must still reach the message's ``last_error`` and the log, and the check
    must leave apprise's logging on for the rest of the process."""
    caplog.set_level(logging.WARNING)
    _queue_round(database_url, 0, MESSAGES_PER_ROUND)
    settings = AlertSettings(urls=(unavailable.url,))
    stop = threading.Event()

    def check_sites_file_repeatedly() -> None:
        while not stop.is_set():
            check_alert_urls(settings, source="sites.toml")

    checkers = [threading.Thread(target=check_sites_file_repeatedly) for _ in range(2)]
    for checker in checkers:
        checker.start()
    sessions = open_archive(database_url)
    try:
        report = send_pending(sessions, settings, backoff_seconds=0.01, tries_per_send=3)
    finally:
        sessions.kw["bind"].dispose()
        stop.set()
        for checker in checkers:
            checker.join(30)
    rows = _outbox(database_url)
    assert sorted(report.retrying) == sorted(r.id for r in rows) and len(rows) == MESSAGES_PER_ROUND
    assert all("503" in (r.last_error or "") for r in rows), [r.last_error for r in rows]
    assert not logging.getLogger("apprise").disabled
    logged = [record.getMessage() for record in caplog.records if record.name == "alerts.delivery"]
    assert len(logged) == MESSAGES_PER_ROUND and all("503" in line for line in logged), logged
