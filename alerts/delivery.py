"""Deliver outbox messages through apprise, with retries and backoff, and record the result.

Each pending message goes to the apprise URLs configured for its site (:mod:`alerts.settings`:
site, else region group, else global). Every target is tried separately and a target that
accepted the message is remembered on the row (``delivered_to``), so a retry never sends a
message twice to a receiver that already has it. Within one :func:`send_pending` call a failing
target is retried a few times with exponential backoff; what still fails stays ``pending`` with
a later ``next_attempt_at`` (again exponential), until ``max_attempts`` is reached and the row
becomes ``failed``. Webhook targets (``json://``, ``jsons://``, ``form://``, ``xml://``) get
the message's idempotency key as an ``Idempotency-Key`` header and, for JSON, as a field of
the payload, so a receiver can drop a duplicate.

Any number of senders may run at once (two ``nianbao alerts send``, the scheduler's threads):
each message is delivered by the one sender that claimed it. A claim is a random token and an
expiry written by ONE conditional ``UPDATE ... WHERE status = 'pending' AND next_attempt_at <= now
AND (claim_token IS NULL OR claimed_until < now)``: the database lets exactly one sender's
update match (on SQLite the write lock serialises them, on PostgreSQL the second update waits
and re-checks the row), and the row counts say who won -- no row lock needed, which SQLite
does not have. The sender then delivers outside any transaction and writes the outcome with a
second ``UPDATE`` that only matches while its token is still on the row, clearing the claim. A
sender that dies mid-delivery leaves a claim that lapses after ``claim_ttl`` (default 15
minutes, far longer than a delivery's retries take), and the message is sent again then.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

import apprise
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.settings import AlertSettings
from crawler.i18n import gettext as _
from storage.models import AlertOutbox, utcnow
from storage.outbox import claim_message, finish_message

__all__ = ["DeliveryReport", "notify_once", "send_pending", "target_digest", "with_idempotency_key"]

WEBHOOK_SCHEMES = ("json", "jsons", "form", "forms", "xml", "xmls")
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Retries inside one send: after 1 s, 2 s, ... (times backoff_seconds).
TRIES_PER_SEND = 3
# A message still failing waits this long (doubling per attempt) before the next send.
RETRY_BASE = timedelta(minutes=5)
RETRY_CAP = timedelta(hours=12)
# A claim lapses after this: then another sender may deliver the message (its sender died).
CLAIM_TTL = timedelta(minutes=15)

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    no_target: list[int] = field(default_factory=list)


def target_digest(url: str) -> str:
    """A short digest naming a target without storing its (secret-bearing) URL."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def with_idempotency_key(url: str, key: str) -> str:
    """The URL with the key added as a header (and JSON field) for webhook schemes."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in WEBHOOK_SCHEMES:
        return url
    value = quote(key, safe="")
    extra = f"+{IDEMPOTENCY_HEADER}={value}"
    if scheme in ("json", "jsons"):
        extra += f"&:idempotency_key={value}"
    return url + ("&" if "?" in url else "?") + extra


def notify_once(url: str, subject: str, body: str, idempotency_key: str | None = None) -> tuple[bool, str | None]:
    """Send one message to one apprise URL: (accepted, error line).

    The error line is apprise's own last warning of this call, read from the call's result:
    apprise captures each call's log lines per call and per thread (a context variable), so two
    senders in one process -- the scheduler's thread pool -- never see each other's lines. A
    handler of ours on the shared ``apprise`` logger would not be: it receives every thread's
    records, and adding and removing handlers on that logger while another thread is logging
    through it can make the logger skip a handler for a record.
    """
    target = with_idempotency_key(url, idempotency_key) if idempotency_key else url
    scheme = urlsplit(url).scheme
    client = apprise.Apprise()
    if not client.add(target):
        return False, _("not a valid apprise URL (%(scheme)s://…)", scheme=scheme)
    result = client.notify(title=subject, body=body)
    if result:
        return True, None
    return False, (_last_problem(result) or f"{_('delivery failed')} ({result.status.name})")[:300]


def _last_problem(result: apprise.AppriseResult) -> str | None:
    """The last warning or error apprise logged during this one call, if any."""
    problems = [entry.message for entry in result.logs() if _at_least_warning(entry.level)]
    return problems[-1] if problems else None


def _at_least_warning(level_name: str) -> bool:
    level = logging.getLevelName(level_name)  # a number for known names, else "Level x"
    return isinstance(level, int) and level >= logging.WARNING


def send_pending(
    sessions: sessionmaker[Session],
    settings: AlertSettings,
    *,
    now: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    backoff_seconds: float = 1.0,
    tries_per_send: int = TRIES_PER_SEND,
    notify: Callable[[str, str, str, str | None], tuple[bool, str | None]] = notify_once,
    claim_ttl: timedelta = CLAIM_TTL,
) -> DeliveryReport:
    """Deliver every pending message that is due and that this call claims first."""
    report = DeliveryReport()
    token = uuid.uuid4().hex
    with sessions() as session:
        ids = session.scalars(
            select(AlertOutbox.id)
            .where(AlertOutbox.status == "pending", AlertOutbox.next_attempt_at <= now())
            .order_by(AlertOutbox.id)
        ).all()
    for row_id in ids:
        if not _claim(sessions, row_id, token, now(), claim_ttl):
            continue  # another sender has it (or has just dealt with it)
        with sessions() as session:
            row = session.get(AlertOutbox, row_id)
            if row is None or row.claim_token != token:
                continue
            session.expunge(row)  # delivered outside any transaction, written back below
        _deliver(row, settings, report, now, sleep, backoff_seconds, tries_per_send, notify)
        if not _finish(sessions, row, token):
            log.warning("alert message %s: the claim lapsed during delivery; another sender may repeat it", row_id)
    return report


def _claim(sessions: sessionmaker[Session], row_id: int, token: str, at: datetime, ttl: timedelta) -> bool:
    """Claim one message for this sender: True when this sender's UPDATE is the one that matched."""
    with sessions() as session, session.begin():
        return claim_message(session, row_id, token, at, ttl)


def _finish(sessions: sessionmaker[Session], row: AlertOutbox, token: str) -> bool:
    """Write the delivery's outcome and release the claim -- only while the claim is ours."""
    with sessions() as session, session.begin():
        return finish_message(session, row, token)


def _deliver(row: AlertOutbox, settings: AlertSettings, report: DeliveryReport, now: Callable[[], datetime],
             sleep: Callable[[float], None], backoff_seconds: float, tries: int,
             notify: Callable[[str, str, str, str | None], tuple[bool, str | None]]) -> None:
    targets = settings.targets_for(row.payload.get("site"))
    if not targets:
        row.last_error = _("no alert URLs configured for this site")
        report.no_target.append(row.id)
        return  # stays pending: configuring a URL later delivers it
    delivered = list(row.delivered_to or [])
    errors: list[str] = []
    body = f"{row.body}\n\n[{row.idempotency_key}]"
    for url in targets:
        digest = target_digest(url)
        if digest in delivered:
            continue
        error = None
        for attempt in range(tries):
            if attempt:
                sleep(backoff_seconds * 2 ** (attempt - 1))
            ok, error = notify(url, row.subject, body, row.idempotency_key)
            if ok:
                delivered.append(digest)
                break
        else:
            errors.append(f"{urlsplit(url).scheme}://…: {error}")
            log.warning("alert message %s not delivered to %s://…: %s", row.id, urlsplit(url).scheme, error)
    row.delivered_to = delivered
    row.attempts += 1
    if not errors:
        row.status, row.sent_at, row.last_error = "sent", now(), None
        report.sent.append(row.id)
    elif row.attempts >= settings.max_attempts:
        row.status, row.last_error = "failed", "; ".join(errors)
        report.failed.append(row.id)
    else:
        wait = min(RETRY_BASE * 2 ** (row.attempts - 1), RETRY_CAP)
        row.next_attempt_at, row.last_error = now() + wait, "; ".join(errors)
        report.retrying.append(row.id)
