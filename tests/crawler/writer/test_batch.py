"""The archive writer's batch (crawler/writer/batch.py) on a real archive and a real WARC folder.

Each test hands :class:`BatchWriter` the jobs a short moment of a crawl produces -- pages
fetched, reports and failures to record, attachment links -- exactly as the writer thread or
process does, on SQLite and on PostgreSQL, and then reads what was committed back: the rows
through the database, the evidence through the WARC files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from warcio.archiveiterator import ArchiveIterator

from crawler.capture.records import NOT_MODIFIED_PROFILE, Exchange
from crawler.capture.warc import WarcWriter
from crawler.items import ReportItem
from crawler.writer.batch import (
    BatchWriter,
    Call,
    CaptureJob,
    CaptureResult,
    Job,
    JobFailure,
    RecordReport,
    warc_writer_for,
)
from storage.archive import record_failure
from storage.attachments import link_attachment, record_attachment_id
from storage.captures import KnownUrl, site_id_of
from storage.db import writer_archive
from storage.evidence import read_response, resolve
from storage.models import Attachment, AttachmentLink, Capture, CrawlError, Document, UrlState
from storage.records import PageFailure
from storage.report_batch import RecordOutcome
from tests.crawler.capture.conftest import check_captures_point_at_evidence, check_with_warcio, query, warc_files
from tests.storage.conftest import SITE_A

Sessions = sessionmaker[Session]
MakeItem = Callable[..., ReportItem]

# Two nights of the crawl: the re-check policy's clock of each.
NIGHT_1 = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)
NIGHT_2 = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
COLUMN = "https://www.putian.gov.cn/zwgk/zfxxgknb/"
IDENTICAL_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"


@dataclass(frozen=True)
class Crawl:
    """The run and site the jobs of a test belong to."""

    run_id: int
    site_id: int


@pytest.fixture
def crawl(archive: Sessions, new_run: Callable[..., int]) -> Crawl:
    """A running crawl of the first test site (both sites synced)."""
    run_id = new_run()
    with archive() as session:
        site_id = site_id_of(session, SITE_A.key)
    assert site_id is not None
    return Crawl(run_id, site_id)


@pytest.fixture
def warc_folder(tmp_path: Path) -> Path:
    return tmp_path / "warc"


@pytest.fixture
def batch_writer(database_url: str, archive: Sessions, warc_folder: Path) -> Iterator[BatchWriter]:
    """The batch writer as the writer thread or process opens it: its own engine on the
    already migrated archive (``archive`` migrates it), a WARC file synced once per batch."""
    sessions = writer_archive(database_url)
    writer = BatchWriter(sessions, warc_writer_for(warc_folder, max_bytes=1 << 30))
    try:
        yield writer
    finally:
        assert writer.close() == []
        sessions.kw["bind"].dispose()


def _exchange(url: str, body: bytes, *, status: int = 200, etag: str | None = None) -> Exchange:
    """One HTTP exchange as Scrapy hands it to the capture middleware."""
    request = Request(url, headers={"User-Agent": "nianbao-test"})
    headers = {"Content-Type": "text/html; charset=utf-8"}
    if etag is not None:
        headers["ETag"] = etag
    response = HtmlResponse(url, status=status, body=body, headers=headers, request=request)
    return Exchange.of(request, response)


def _page(crawl: Crawl, url: str, body: bytes, *, status: int = 200, etag: str | None = None,
          known: KnownUrl | None = None, night: datetime = NIGHT_1) -> CaptureJob:
    """The capture job the middleware submits for a GET of ``url`` answered ``status``."""
    return CaptureJob(
        run_id=crawl.run_id,
        site_id=crawl.site_id,
        url=url,
        state_url=url,
        page_kind="report",
        exchange=_exchange(url, body, status=status, etag=etag),
        fetched_at=datetime.now(UTC),
        now=night,
        known=known,
        remember=True,
    )


def _captures(results: Sequence[Any]) -> list[CaptureResult]:
    assert all(isinstance(result, CaptureResult) for result in results), results
    return list(results)


def _warc_record(folder: Path, capture: Capture) -> Any:
    """The WARC record a capture row points at, read from its file as a reader would."""
    with resolve(folder, capture.warc_file).open("rb") as handle:
        handle.seek(capture.warc_offset)
        record = next(iter(ArchiveIterator(handle)))
        record.content_stream().read()  # the whole record is in the file, not just its headers
        return record


def _rows(archive: Sessions) -> dict[int, Capture]:
    with archive() as session:
        return {capture.id: capture for capture in session.scalars(select(Capture))}


def _url_states(archive: Sessions) -> dict[str, UrlState]:
    with archive() as session:
        return {state.url: state for state in session.scalars(select(UrlState))}


def _count(archive: Sessions, model: type[Any]) -> int:
    with archive() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_batch_of_pages_keeps_each_payload_once(
    batch_writer: BatchWriter, crawl: Crawl, archive: Sessions, database_url: str, warc_folder: Path
) -> None:
    """A crawl of many pages over two nights: pages with the same bytes (a bureau serving one
    report under two URLs) are archived in full once and as revisits after, within a batch and
    across batches; a 304 on the second night is a server-not-modified revisit of the URL's
    known payload; every row points at a whole WARC record and the URL states move on."""
    report = "<html><body>莆田市统计局2023年政府信息公开工作年度报告</body></html>".encode()
    column_v1 = "<html><body>年报栏目 第1版</body></html>".encode()
    column_v2 = "<html><body>年报栏目 第2版</body></html>".encode()
    first_url, second_url = f"{COLUMN}202401/t20240115_1.htm", f"{COLUMN}202401/t20240115_1_copy.htm"
    night_1 = _captures(batch_writer.write([
        _page(crawl, first_url, report, etag='"r1"'),
        _page(crawl, second_url, report),  # same bytes, other URL, same batch
        _page(crawl, COLUMN, column_v1, etag='"c1"'),
        _page(crawl, COLUMN, column_v2, etag='"c2"'),  # the column fetched again in the batch
    ]))
    full, copy, column_first, column_last = night_1

    rows = _rows(archive)
    assert rows[full.capture_id].record_type == "response"
    assert rows[copy.capture_id].record_type == "revisit"
    assert rows[copy.capture_id].revisit_of_id == full.capture_id
    assert copy.payload is not None and copy.payload.capture_id == full.capture_id
    revisit = _warc_record(warc_folder, rows[copy.capture_id])
    assert revisit.rec_headers.get_header("WARC-Refers-To") == rows[full.capture_id].warc_record_id
    assert revisit.rec_headers.get_header("WARC-Profile") == IDENTICAL_PROFILE
    assert revisit.rec_headers.get_header("WARC-Refers-To-Target-URI") == first_url
    assert [rows[c.capture_id].record_type for c in (column_first, column_last)] == ["response", "response"]

    # The next night: a third URL serving the same report, and the first URL answering 304.
    assert full.state is not None
    third_url = f"{COLUMN}202401/t20240115_1_print.htm"
    night_2 = _captures(batch_writer.write([
        _page(crawl, third_url, report, night=NIGHT_2),
        _page(crawl, first_url, b"", status=304, known=full.state, night=NIGHT_2),
    ]))
    again, not_modified = night_2

    rows = _rows(archive)
    assert rows[again.capture_id].record_type == "revisit"
    assert rows[again.capture_id].revisit_of_id == full.capture_id
    assert _warc_record(warc_folder, rows[again.capture_id]).rec_headers.get_header(
        "WARC-Refers-To") == rows[full.capture_id].warc_record_id
    unchanged = rows[not_modified.capture_id]
    assert (unchanged.record_type, unchanged.http_status, unchanged.payload_sha256) == ("revisit", 304, None)
    assert unchanged.revisit_of_id == full.capture_id
    record = _warc_record(warc_folder, unchanged)
    assert record.rec_headers.get_header("WARC-Profile") == NOT_MODIFIED_PROFILE
    assert record.rec_headers.get_header("WARC-Refers-To") == rows[full.capture_id].warc_record_id
    assert not_modified.payload is not None and not_modified.payload.capture_id == full.capture_id

    assert check_captures_point_at_evidence(database_url, warc_folder) == 6
    check_with_warcio(warc_files(warc_folder))

    states = _url_states(archive)
    assert set(states) == {first_url, second_url, third_url, COLUMN}
    # The 304 confirmed the first night's payload and kept its validator.
    assert states[first_url].payload_capture_id == full.capture_id
    assert states[first_url].etag == '"r1"'
    assert states[first_url].last_checked_at == NIGHT_2
    assert states[first_url].first_seen_at == NIGHT_1
    assert states[second_url].payload_capture_id == full.capture_id
    assert states[third_url].payload_capture_id == full.capture_id
    # Fetched twice in one batch: the URL keeps its last answer.
    assert states[COLUMN].payload_capture_id == column_last.capture_id
    assert states[COLUMN].etag == '"c2"'


def _divide_by_zero(session: Session) -> None:
    """A pipeline bug: not an archive error."""
    1 / 0  # noqa: B018


def test_a_bad_job_fails_alone_and_its_neighbours_are_recorded(
    batch_writer: BatchWriter, crawl: Crawl, archive: Sessions, make_item: MakeItem
) -> None:
    """A bad item in a busy moment of the crawl (a failure reported for a site the archive does
    not know) fails on its own: the attachment stored before it and the report after it in
    the same batch are committed; a bug in a storage call is reported as internal."""
    stored = Call(record_attachment_id, kwargs={
        "sha256": "a" * 64, "size": 5, "media_type": "application/pdf", "text": "年度报告"})
    unknown_site = Call(record_failure, (crawl.run_id, PageFailure(
        site_key="no-such-site", url=f"{COLUMN}missing.htm", reason="HTTP 404")))
    report = RecordReport(crawl.run_id, make_item())
    attachment_id, failure, outcome = batch_writer.write([stored, unknown_site, report])

    assert isinstance(attachment_id, int)
    assert failure == JobFailure("storage", "unknown site 'no-such-site': sync the site before recording its pages")
    assert outcome == RecordOutcome.NEW_DOCUMENT
    with archive() as session:
        assert session.scalars(select(Attachment.id).where(Attachment.sha256 == "a" * 64)).one() == attachment_id
    assert _count(archive, Document) == 1
    assert _count(archive, CrawlError) == 0

    second = Call(record_attachment_id, kwargs={
        "sha256": "b" * 64, "size": 5, "media_type": "application/pdf", "text": None})
    second_id, bug = batch_writer.write([second, Call(_divide_by_zero)])
    assert isinstance(second_id, int) and second_id != attachment_id
    assert isinstance(bug, JobFailure) and bug.kind == "internal"
    assert "ZeroDivisionError" in bug.message
    assert _count(archive, Attachment) == 2


def test_a_bad_report_among_reports_fails_alone(
    batch_writer: BatchWriter, crawl: Crawl, archive: Sessions, make_item: MakeItem
) -> None:
    """Reports recorded together (one set-based write for consecutive reports): one with a
    malformed date fails, the reports on either side of it are still archived."""
    before = make_item(url=f"{COLUMN}202401/t20240115_1.htm", index_no="A-1", title="2023年报告甲")
    malformed = make_item(url=f"{COLUMN}202401/t20240115_2.htm", index_no="A-2", pub_date="2024-13-45")
    after = make_item(url=f"{COLUMN}202401/t20240115_3.htm", index_no="A-3", title="2023年报告乙",
                      body_text="一、总体情况\n另一份报告的正文。")
    results = batch_writer.write([RecordReport(crawl.run_id, item) for item in (before, malformed, after)])

    assert results[0] == RecordOutcome.NEW_DOCUMENT
    assert isinstance(results[1], JobFailure) and results[1].kind == "storage"
    assert "pub_date must be YYYY-MM-DD" in results[1].message
    assert results[2] == RecordOutcome.NEW_DOCUMENT
    with archive() as session:
        assert sorted(str(index_no) for index_no in session.scalars(select(Document.index_no))) == ["A-1", "A-3"]


def test_a_job_sees_the_rows_of_the_jobs_before_it_in_its_batch(
    batch_writer: BatchWriter, crawl: Crawl, archive: Sessions, make_item: MakeItem
) -> None:
    """A report and its attachment link reach the writer in one batch (the attachment pipeline
    links right after the report pipeline recorded): the link finds the report's version."""
    item = make_item()
    pdf = item.attachments[0]
    stored = Call(record_attachment_id, kwargs={
        "sha256": "c" * 64, "size": 9, "media_type": "application/pdf", "text": "附件正文"})
    (attachment_id,) = batch_writer.write([stored])
    link = Call(link_attachment, kwargs={
        "site_key": item.site_key, "report_url": item.url, "url": pdf, "link_text": "附件1",
        "attachment_id": attachment_id}, returns=False)
    outcome, linked = batch_writer.write([RecordReport(crawl.run_id, item), link])

    assert outcome == RecordOutcome.NEW_DOCUMENT
    assert linked is None  # returns=False: nothing sent back
    with archive() as session:
        document = session.scalars(select(Document)).one()
        links = session.scalars(select(AttachmentLink)).all()
    assert [(row.url, row.version_id, row.attachment_id) for row in links] == [
        (pdf, document.latest_version_id, attachment_id)]


class _WatchedWarc(WarcWriter):
    """The writer's WARC file (as :func:`warc_writer_for` makes it) that notes, each time the
    batch syncs it, which captures another connection can already see."""

    def __init__(self, directory: Path, database_url: str) -> None:
        super().__init__(directory, max_bytes=1 << 30, fsync=False)
        self.database_url = database_url
        self.visible_at_sync: list[int] = []
        self.size_at_sync: list[int] = []

    def sync(self) -> None:
        super().sync()
        self.visible_at_sync.append(query(self.database_url, "SELECT count(*) FROM captures")[0][0])
        assert self.current_file is not None
        self.size_at_sync.append(resolve(self.directory, self.current_file).stat().st_size)


def test_warc_records_are_synced_before_their_rows_are_committed(
    database_url: str, archive: Sessions, crawl: Crawl, warc_folder: Path
) -> None:
    """A kill -9 between the WARC write and the COMMIT must never leave a row pointing at
    missing evidence: the batch syncs its records while its rows are still invisible to other
    connections, and once ``write`` returns every row's record is whole in the file."""
    warc = _WatchedWarc(warc_folder, database_url)
    sessions = writer_archive(database_url)
    writer = BatchWriter(sessions, warc)
    bodies = {f"{COLUMN}2024{n:02d}/t_{n}.htm": f"<html><body>第{n}份年报</body></html>".encode()
              for n in range(1, 6)}
    try:
        for batch in (list(bodies.items())[:3], list(bodies.items())[3:]):
            jobs: list[Job] = [_page(crawl, url, body) for url, body in batch]
            _captures(writer.write(jobs))
            # Every record of the batch is readable as soon as write() has returned.
            with archive() as session:
                rows = session.scalars(select(Capture)).all()
            for row in rows:
                archived = read_response(warc_folder, row.warc_file, row.warc_offset)
                assert archived.body == bodies[row.url]
                assert row.warc_offset + row.warc_length <= resolve(warc_folder, row.warc_file).stat().st_size
    finally:
        writer.close()
        sessions.kw["bind"].dispose()
    # At each sync the batch's rows were not committed yet (0, then the first batch's 3)...
    assert warc.visible_at_sync == [0, 3]
    # ... and every record the rows point at was already in the file.
    with archive() as session:
        ends = sorted(row.warc_offset + row.warc_length for row in session.scalars(select(Capture)))
    assert ends[2] <= warc.size_at_sync[0] and ends[4] <= warc.size_at_sync[1]
