"""One batch of archive jobs, written in one transaction (no Twisted here: it runs in the
archive writer's thread or process).

A batch holds the jobs of a short moment of the crawl, in the order they were submitted.
:meth:`BatchWriter.write` handles the captures together -- one SELECT for the payloads they may
repeat, their WARC records appended and synced once, one multi-row INSERT for their rows and one
for the URL states -- then runs the other jobs (reports, failures, attachments, site finishes)
in order in the same transaction, and commits. If anything in the batch fails, the whole batch
is rolled back and each job is written again in a transaction of its own, so a bad item fails
alone and its neighbours are still recorded.

Durability: the WARC records of the batch are synced to disk before the COMMIT of the rows that
point at them. A batch that is rolled back (or a process killed before its COMMIT) may leave
WARC records no row points at; they stay valid records of the file and are simply not evidence
of anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crawler.capture import records
from crawler.capture.records import Exchange
from crawler.capture.warc import WarcWriteError, WarcWriter
from storage.captures import KnownUrl, PayloadRef, find_payloads, insert_captures, save_url_states
from storage.records import ReportRecord
from storage.report_batch import record_reports

__all__ = ["BatchWriter", "Call", "CaptureJob", "CaptureResult", "Job", "JobFailure", "RecordReport"]


@dataclass(frozen=True)
class CaptureJob:
    """Archive one HTTP exchange: its WARC records, its ``captures`` row, the URL's state."""

    run_id: int
    site_id: int | None
    url: str  # the response's URL
    state_url: str  # the request's URL, which the URL state is kept under
    page_kind: str | None
    exchange: Exchange
    fetched_at: datetime
    now: datetime  # the re-check policy's clock: "checked tonight"
    known: KnownUrl | None  # the URL's state before this answer
    remember: bool  # a GET answered 2xx or 304: the URL's state moves on


@dataclass(frozen=True)
class CaptureResult:
    capture_id: int
    payload: PayloadRef | None  # the capture holding the payload (a revisit's: the one it repeats)
    state: KnownUrl | None  # the URL's new state, when it moved on


@dataclass(frozen=True)
class Call:
    """Run a storage function (session first) inside the batch's transaction.

    The function must be importable by name (a module-level function) and its arguments plain
    data, because a writer process receives the job pickled.
    """

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    # Whether the caller wants the function's result (rows it returns are not sent back).
    returns: bool = True


@dataclass(frozen=True)
class RecordReport:
    """Archive one fetched report (consecutive ones are recorded together:
    :func:`storage.report_batch.record_reports`); the result is its ``RecordOutcome``."""

    run_id: int
    item: ReportRecord


Job = CaptureJob | Call | RecordReport


@dataclass(frozen=True)
class JobFailure:
    """Why a job was not recorded (exceptions need not survive a pipe, so: kind and text)."""

    kind: str  # "warc", "storage" or "internal"
    message: str


@dataclass(frozen=True)
class _Planned:
    """A capture job once its payload is known to be new or a repeat."""

    job: CaptureJob
    sha256: str | None  # None for a 304, which has no payload of its own
    same: PayloadRef | None  # the archived payload this answer repeats
    copy_of: int | None  # or the position of the batch's own full copy of it

    @property
    def repeat(self) -> bool:
        """Archived as a ``revisit`` record (its payload is elsewhere)."""
        return self.same is not None or self.copy_of is not None


class BatchWriter:
    """Write batches of jobs into the archive (SQLAlchemy sessions) and the WARC folder."""

    def __init__(self, sessions: sessionmaker[Session], warc: WarcWriter | None, *, sync: bool = True) -> None:
        self.sessions = sessions
        self.warc = warc
        self.sync = sync

    def write(self, jobs: Sequence[Job]) -> list[Any]:
        """Each job's result, or a :class:`JobFailure` in its place; acknowledged means committed.

        When the batch fails because of one of its jobs, each job is written again on its own,
        so only the bad one fails. When it fails because the archive cannot be written at all
        (the database gone or locked past its timeout, the WARC folder unwritable), every job
        fails with that reason at once: retrying them one by one would only wait out the same
        timeout again for each, and the crawl is stopping anyway.
        """
        try:
            with self.sessions() as session, session.begin():
                results = self._write(session, jobs)
            return results
        except Exception as exc:
            if len(jobs) == 1 or _archive_unavailable(exc):
                return [_failure(exc)] * len(jobs)
        results = []
        for position, job in enumerate(jobs):
            result = self._write_alone(job)
            results.append(result)
            if isinstance(result, _Unavailable):
                results.extend([result] * (len(jobs) - position - 1))
                break
        return results

    def _write_alone(self, job: Job) -> Any:
        try:
            with self.sessions() as session, session.begin():
                return self._write(session, [job])[0]
        except Exception as exc:
            return _failure(exc)

    def close(self) -> list[str]:
        """Finish the WARC file; the errors doing so (for the run's report)."""
        if self.warc is None:
            return []
        try:
            self.warc.close()
        except WarcWriteError as exc:
            return [str(exc)]
        return []

    # --- one transaction ----------------------------------------------------------------

    def _write(self, session: Session, jobs: Sequence[Job]) -> list[Any]:
        results: list[Any] = [None] * len(jobs)
        captures = [(index, job) for index, job in enumerate(jobs) if isinstance(job, CaptureJob)]
        if captures:
            for (index, _), result in zip(captures, self._captures(session, [job for _, job in captures]),
                                          strict=True):
                results[index] = result
        # The other jobs in order; a run of reports is recorded with set-based statements.
        reports: list[int] = []

        def record_waiting_reports() -> None:
            if reports:
                run_id = jobs[reports[0]].run_id  # type: ignore[union-attr]
                items = [jobs[index].item for index in reports]  # type: ignore[union-attr]
                for index, outcome in zip(reports, record_reports(session, run_id, items), strict=True):
                    results[index] = outcome
                reports.clear()

        for index, job in enumerate(jobs):
            if isinstance(job, RecordReport):
                if reports and jobs[reports[0]].run_id != job.run_id:  # type: ignore[union-attr]
                    record_waiting_reports()
                reports.append(index)
            elif isinstance(job, Call):
                record_waiting_reports()
                result = job.function(session, *job.args, **job.kwargs)
                results[index] = result if job.returns else None
        record_waiting_reports()
        return results

    def _captures(self, session: Session, jobs: list[CaptureJob]) -> list[CaptureResult]:
        if self.warc is None:
            raise WarcWriteError("capture is off: there is no WARC writer")
        digests = [None if job.exchange.status == 304 else hashlib.sha256(job.exchange.body).hexdigest()
                   for job in jobs]
        archived = find_payloads(session, [d for d in digests if d is not None])
        planned: list[_Planned] = []
        first_with: dict[str, int] = {}  # payload digest -> position of its full copy in this batch
        for position, (job, digest) in enumerate(zip(jobs, digests, strict=True)):
            same = _repeats(job.known, digest, archived)
            copy_of = None
            if same is None and digest is not None:
                copy_of = first_with.setdefault(digest, position)
            planned.append(_Planned(job, digest, same, copy_of if copy_of != position else None))

        # WARC records first (all of them), synced once, then the rows that point at them.
        rows: list[dict[str, Any]] = []
        for plan in planned:
            main = self._record(plan, rows[plan.copy_of] if plan.copy_of is not None else None)
            main_id = main.rec_headers.get_header("WARC-Record-ID")  # type: ignore[attr-defined]
            request = records.request_record(plan.job.url, plan.job.exchange, plan.job.fetched_at, main_id)
            rows.append(_capture_row(plan, self.warc.append(main, request)[0]))
        if self.sync:
            self.warc.sync()

        # Full payloads first, so a repeat of one of them can name its capture.
        ids: list[int] = [0] * len(rows)
        full = [i for i, plan in enumerate(planned) if not plan.repeat]
        repeats = [i for i, plan in enumerate(planned) if plan.repeat]
        for i, new_id in zip(full, insert_captures(session, [rows[i] for i in full]), strict=True):
            ids[i] = new_id
        for i in repeats:
            copy_of = planned[i].copy_of
            if copy_of is not None:
                rows[i]["revisit_of_id"] = ids[copy_of]
        for i, new_id in zip(repeats, insert_captures(session, [rows[i] for i in repeats]), strict=True):
            ids[i] = new_id

        results: list[CaptureResult] = []
        states: list[tuple[int, KnownUrl]] = []
        for i, plan in enumerate(planned):
            payload = plan.same
            if payload is None and plan.sha256 is not None:  # this batch holds the full payload
                source = plan.copy_of if plan.copy_of is not None else i
                payload = PayloadRef(
                    capture_id=ids[source], url=rows[source]["url"], fetched_at=rows[source]["fetched_at"],
                    warc_file=rows[source]["warc_file"], warc_record_id=rows[source]["warc_record_id"],
                    warc_offset=rows[source]["warc_offset"], sha256=plan.sha256,
                )
            state = _next_state(plan.job, payload) if payload is not None and plan.job.remember else None
            if state is not None and plan.job.site_id is not None:
                states.append((plan.job.site_id, state))
            results.append(CaptureResult(capture_id=ids[i], payload=payload, state=state))
        save_url_states(session, states)
        return results

    def _record(self, plan: _Planned, earlier_row: dict[str, Any] | None) -> object:
        job = plan.job
        exchange = job.exchange
        not_modified = exchange.status == 304
        if plan.same is not None:
            refers = plan.same
            return records.revisit_record(
                job.url, exchange, job.fetched_at,
                refers_to_uri=refers.url, refers_to_date=refers.fetched_at,
                refers_to_record_id=refers.warc_record_id,
                digest=None if not_modified else records.payload_digest(exchange.body),
                not_modified=not_modified,
            )
        if earlier_row is not None:  # the same bytes were archived in full earlier in this batch
            return records.revisit_record(
                job.url, exchange, job.fetched_at,
                refers_to_uri=earlier_row["url"], refers_to_date=earlier_row["fetched_at"],
                refers_to_record_id=earlier_row["warc_record_id"],
                digest=records.payload_digest(exchange.body), not_modified=False,
            )
        return records.response_record(job.url, exchange, job.fetched_at)


def _repeats(known: KnownUrl | None, digest: str | None, archived: dict[str, PayloadRef]) -> PayloadRef | None:
    """The archived payload this answer repeats: the URL's own for a 304 (no digest), else any
    capture with the same digest (the URL's last one first)."""
    if digest is None:
        return known.payload if known else None
    if known is not None and known.payload is not None and known.payload.sha256 == digest:
        return known.payload
    return archived.get(digest)


def _header(exchange: Exchange, name: bytes) -> str | None:
    for key, value in exchange.response_headers:
        if key.lower() == name.lower():
            return value.decode("latin-1") if value else None
    return None


def _capture_row(plan: _Planned, location: Any) -> dict[str, Any]:
    job, exchange = plan.job, plan.job.exchange
    return {
        "run_id": job.run_id,
        "site_id": job.site_id,
        "url": job.url,
        "page_kind": job.page_kind,
        "fetched_at": job.fetched_at,
        "http_status": exchange.status,
        "etag": _header(exchange, b"ETag"),
        "last_modified": _header(exchange, b"Last-Modified"),
        "content_type": _header(exchange, b"Content-Type"),
        "payload_sha256": plan.sha256,
        "payload_bytes": len(exchange.body),
        "record_type": "revisit" if plan.repeat else "response",
        "revisit_of_id": plan.same.capture_id if plan.same is not None else None,
        "warc_file": location.file,
        "warc_record_id": location.record_id,
        "warc_offset": location.offset,
        "warc_length": location.length,
    }


def _next_state(job: CaptureJob, payload: PayloadRef) -> KnownUrl:
    """The URL's state after this answer: checked tonight, its payload and validators."""
    exchange = job.exchange
    not_modified = exchange.status == 304
    etag = _header(exchange, b"ETag")
    last_modified = _header(exchange, b"Last-Modified")
    before = job.known or KnownUrl(
        url=job.state_url, page_kind=job.page_kind, first_seen_at=job.now, last_checked_at=job.now,
        etag=None, last_modified=None, payload=None,
    )
    # A 304 may omit the validators; they then stay as they were.
    return dataclasses.replace(
        before,
        last_checked_at=job.now,
        payload=payload,
        etag=etag if etag or not not_modified else before.etag,
        last_modified=last_modified if last_modified or not not_modified else before.last_modified,
    )


@dataclass(frozen=True)
class _Unavailable(JobFailure):
    """A failure that says nothing about the job: the archive could not be written at all."""


def _archive_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) means no job could be written now."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OperationalError) and getattr(seen.orig, "pgcode", None) in _TRANSIENT:
            return False  # a deadlock with another crawl's batch: the jobs alone will go through
        if isinstance(seen, (WarcWriteError, OperationalError, InterfaceError, DisconnectionError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# PostgreSQL's "deadlock detected" and "could not serialize access": the transaction lost a race.
_TRANSIENT = {"40P01", "40001"}


def _failure(exc: BaseException) -> JobFailure:
    from crawler.stopping import describe_archive_error, is_archive_error

    if isinstance(exc, WarcWriteError):
        return _Unavailable("warc", str(exc))
    kind = _Unavailable if _archive_unavailable(exc) else JobFailure
    if is_archive_error(exc):
        return kind("storage", describe_archive_error(exc))
    return kind("internal", f"internal error {type(exc).__name__}: {exc}")


def warc_writer_for(directory: Path, *, max_bytes: int) -> WarcWriter:
    """The writer's WARC file: synced per batch (:meth:`WarcWriter.sync`), not per record."""
    return WarcWriter(directory, max_bytes=max_bytes, fsync=False)
