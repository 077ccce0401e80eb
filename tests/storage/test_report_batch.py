"""Recording a batch of reports (:func:`storage.report_batch.record_reports`): the archive it
leaves is the one recording the same reports one after another leaves, in a number of statements
that does not grow with the batch; a bad report fails the whole batch; writers racing on one
report make one document."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import ExecuteStyle
from sqlalchemy.orm import Session, sessionmaker

from crawler.errors import StorageError
from crawler.items import ReportItem
from storage import RecordOutcome, open_archive, record_report, start_run, sync_site
from storage.captures import KnownUrl, insert_captures, save_url_states
from storage.identity import urls_of
from storage.models import Capture, CrawlRun, Document, DocumentUrl, SearchEntry, Site, SiteCrawl, UrlState, Version
from storage.report_batch import record_reports
from storage.search import search
from tests.conftest import reset_postgres
from tests.storage.conftest import SITE_A, SITE_B

MakeItem = Callable[..., ReportItem]
Sessions = sessionmaker[Session]

NEW = RecordOutcome.NEW_DOCUMENT
CHANGED = RecordOutcome.NEW_VERSION
SAME = RecordOutcome.UNCHANGED

T0 = datetime(2024, 6, 1, 2, 0, tzinfo=UTC)  # a nightly crawl's start

# Where the test sites publish, and where they moved reports to.
A_2023 = "https://www.putian.gov.cn/zwgk/zfxxgknb/202401/t20240115_1.htm"
A_2023_MOVED = "https://www.putian.gov.cn/zfxxgk/fdzdgknr/ndbg/202401/t20240115_9.htm"
A_2022 = "https://www.putian.gov.cn/zwgk/zfxxgknb/202301/t20230120_4.htm"
A_2022_MOVED = "https://tjj.putian.gov.cn/xxgk/ndbg/202301/t20230120_4.htm"
A_2021 = "https://www.putian.gov.cn/zwgk/zfxxgknb/202201/t20220118_2.htm"
A_2021_REPUBLISHED = "https://tjj.putian.gov.cn/zfxxgk/ndbg/202201/t20220118_7.htm"
A_2020 = "https://www.putian.gov.cn/zwgk/zfxxgknb/202101/t20210125_3.htm"
A_2024 = "https://www.putian.gov.cn/zwgk/zfxxgknb/202501/t20250116_1.htm"
B_2023 = "https://www.pingtan.gov.cn/xxgk/ndbg/202401/t20240130_1.htm"
B_2024 = "https://www.pingtan.gov.cn/xxgk/ndbg/202501/t20250125_1.htm"


def _report_body(unit: str, year: int, published: int, requests: int) -> str:
    """A full report's text (well over identity.MIN_BODY_CHARS), its figures as given."""
    return "\n".join(
        [
            "一、总体情况",
            f"{year}年，{unit}坚持以习近平新时代中国特色社会主义思想为指导，全面贯彻落实《中华人民共和国政府信息公开条例》，"
            "围绕中心工作，持续深化政务公开，推进数据发布解读，回应社会关切。",
            "二、主动公开政府信息情况",
            f"本年主动公开政府信息{published}条，其中数据发布126条，分析解读52条，政策文件12条，通知公告198条。"
            "门户网站信息公开专栏访问量稳步增长。",
            "三、收到和处理政府信息公开申请情况",
            f"本年新收政府信息公开申请{requests}件，上年结转1件，办结{requests + 1}件。",
            "四、政府信息公开行政复议、行政诉讼情况",
            "本年未发生政府信息公开行政复议、行政诉讼案件。",
            "五、存在的主要问题及改进情况",
            "数据解读的深度和形式仍需丰富，下一步将加强图解、视频解读，提升公开实效。",
        ]
    )


BODY_A_2023 = _report_body("莆田市统计局", 2023, 388, 10)
BODY_A_2023_CORRECTED = _report_body("莆田市统计局", 2023, 390, 10)
BODY_A_2021 = _report_body("莆田市统计局", 2021, 301, 4)
BODY_A_2024 = _report_body("莆田市统计局", 2024, 402, 12)
BODY_A_2024_CORRECTED = _report_body("莆田市统计局", 2024, 402, 13)
BODY_B_2023 = _report_body("平潭综合实验区管委会", 2023, 1520, 31)
BODY_B_2023_CORRECTED = _report_body("平潭综合实验区管委会", 2023, 1521, 31)
BODY_B_2024 = _report_body("平潭综合实验区管委会", 2024, 1604, 27)
ATTACHMENT_ONLY = "详见附件。"


def _a(url: str, **fields: Any) -> dict[str, Any]:
    return {"site_key": SITE_A.key, "url": url, **fields}


def _b(url: str, **fields: Any) -> dict[str, Any]:
    return {"site_key": SITE_B.key, "url": url, "publisher": "平潭综合实验区管委会", "topic": None, **fields}


#: Report pages as two sites serve them over two nights, in the order the crawl yields them,
#: each with the outcome recording it must have. The first CRAWL_FIRST_NIGHT are last night's
#: crawl (the originals); the rest is tonight's: reports that moved, were corrected, reverted or
#: did not change.
CRAWL: list[tuple[dict[str, Any], RecordOutcome]] = [
    # last night: every report at its original URL
    (_a(A_2023, index_no="003519001/2024-00012", title="莆田市统计局2023年政府信息公开工作年度报告",
        report_year=2023, body_text=BODY_A_2023), NEW),
    # a Hanweb column without a metadata table: no 索引号, the report is the attachment
    (_a(A_2022, index_no=None, title="莆田市统计局2022年政府信息公开工作年度报告", report_year=2022,
        pub_date="2023-01-20", body_text=ATTACHMENT_ONLY), NEW),
    (_a(A_2021, index_no="003519001/2022-00007", title="莆田市统计局2021年政府信息公开工作年度报告",
        report_year=2021, pub_date="2022-01-18", body_text=BODY_A_2021), NEW),
    (_b(B_2023, index_no="PT-2024-0031", title="平潭综合实验区管委会2023年政府信息公开工作年度报告",
        report_year=2023, pub_date="2024-01-30", body_text=BODY_B_2023), NEW),
    # a page whose title the extractor could not find: the column's link text names it
    (_a(A_2020, index_no=None, title=None, list_title="2020年年报", report_year=2020, pub_date="2021-01-25",
        body_text="详见附件：2020年年报.pdf"), NEW),
    # the bureau corrected a figure the same night
    (_a(A_2023, index_no="003519001/2024-00012", title="莆田市统计局2023年政府信息公开工作年度报告",
        report_year=2023, body_text=BODY_A_2023_CORRECTED), CHANGED),
    # tonight: this year's reports, new on both sites
    (_a(A_2024, index_no="003519001/2025-00003", title="莆田市统计局2024年政府信息公开工作年度报告",
        report_year=2024, pub_date="2025-01-16", body_text=BODY_A_2024), NEW),
    (_b(B_2024, index_no="PT-2025-0027", title="平潭综合实验区管委会2024年政府信息公开工作年度报告",
        report_year=2024, pub_date="2025-01-25", body_text=BODY_B_2024), NEW),
    # the column was reorganised: same 索引号 at a new path, the title re-spaced
    (_a(A_2023_MOVED, index_no="003519001/2024-00012", title="莆田市统计局 2023年政府信息公开工作年度报告",
        report_year=2023, body_text=BODY_A_2023_CORRECTED), SAME),
    # the Hanweb report on the bureau's new domain: no 索引号, same year and title
    (_a(A_2022_MOVED, index_no=None, title="莆田市统计局 2022年 政府信息公开工作年度报告", report_year=2022,
        pub_date="2023-01-20", body_text=ATTACHMENT_ONLY), SAME),
    # a new CMS re-published the 2021 report: its own 索引号, a reworded title, the same text
    (_a(A_2021_REPUBLISHED, index_no="11350300MB1234567X/2022-00301",
        title="莆田市统计局关于2021年度政府信息公开工作情况的报告", report_year=2021, pub_date="2022-01-18",
        body_text=BODY_A_2021.replace("\n", "\n\u3000\u3000")), SAME),
    # the same URL again in the same batch (listed in two columns), corrected in between
    (_a(A_2024, index_no="003519001/2025-00003", title="莆田市统计局2024年政府信息公开工作年度报告",
        report_year=2024, pub_date="2025-01-16", body_text=BODY_A_2024_CORRECTED), CHANGED),
    # the correction of the 2023 report was taken back: version 1 is the latest again
    (_a(A_2023, index_no="003519001/2024-00012", title="莆田市统计局2023年政府信息公开工作年度报告",
        report_year=2023, body_text=BODY_A_2023), SAME),
    # unchanged re-fetches
    (_b(B_2023, index_no="PT-2024-0031", title="平潭综合实验区管委会2023年政府信息公开工作年度报告",
        report_year=2023, pub_date="2024-01-30", body_text=BODY_B_2023), SAME),
    (_a(A_2020, index_no=None, title=None, list_title="2020年年报", report_year=2020, pub_date="2021-01-25",
        body_text="详见附件：2020年年报.pdf"), SAME),
    (_a(A_2024, index_no="003519001/2025-00003", title="莆田市统计局2024年政府信息公开工作年度报告",
        report_year=2024, pub_date="2025-01-16", body_text=BODY_A_2024_CORRECTED), SAME),
    # fetched before the 2023 report's last fetch but yielded after it (fetched_at set below):
    # it must not take the canonical URL back
    (_a(A_2023_MOVED, index_no="003519001/2024-00012", title="莆田市统计局2023年政府信息公开工作年度报告",
        report_year=2023, body_text=BODY_A_2023), SAME),
    # site B corrected last year's report
    (_b(B_2023, index_no="PT-2024-0031", title="平潭综合实验区管委会2023年政府信息公开工作年度报告",
        report_year=2023, pub_date="2024-01-30", body_text=BODY_B_2023_CORRECTED), CHANGED),
    # this year's report reverted to its first text within the batch
    (_a(A_2024, index_no="003519001/2025-00003", title="莆田市统计局2024年政府信息公开工作年度报告",
        report_year=2024, pub_date="2025-01-16", body_text=BODY_A_2024), SAME),
]
CRAWL_FIRST_NIGHT = 6
#: Items whose fetch finished before their predecessor's (concurrent downloads): fetched this
#: long before the crawl's clock says.
FETCHED_EARLY = {16: timedelta(hours=9)}

#: A report corrected at its old URL, then the corrected text re-published by a new CMS under
#: a new 索引号 and a reworded title: the content rule must find the correction, recorded
#: earlier in the same batch.
CORRECTED_THEN_REPUBLISHED: list[tuple[dict[str, Any], RecordOutcome]] = [
    (_a(A_2021, index_no="003519001/2022-00007", title="莆田市统计局2021年政府信息公开工作年度报告",
        report_year=2021, pub_date="2022-01-18", body_text=BODY_A_2021), NEW),
    (_a(A_2021, index_no="003519001/2022-00007", title="莆田市统计局2021年政府信息公开工作年度报告",
        report_year=2021, pub_date="2022-01-18", body_text=BODY_A_2023_CORRECTED.replace("2023", "2021")), CHANGED),
    (_a(A_2021_REPUBLISHED, index_no="11350300MB1234567X/2022-00301",
        title="莆田市统计局关于2021年度政府信息公开工作情况的报告", report_year=2021, pub_date="2022-01-18",
        body_text=BODY_A_2023_CORRECTED.replace("2023", "2021")), SAME),
]

#: A new CMS gave a report a new 索引号 (recorded at its old URL), then listed it in a second
#: column under a title of its own and with only a link to the attachment: the 索引号 rule must
#: see the document's new 索引号, recorded earlier in the same batch.
RENUMBERED_THEN_LISTED_TWICE: list[tuple[dict[str, Any], RecordOutcome]] = [
    (_a(A_2022, index_no="003519001/2023-00004", title="莆田市统计局2022年政府信息公开工作年度报告",
        report_year=2022, pub_date="2023-01-20", body_text=ATTACHMENT_ONLY), NEW),
    (_a(A_2022, index_no="11350300MB1234567X/2023-00110", title="莆田市统计局2022年政府信息公开工作年度报告",
        report_year=2022, pub_date="2023-01-20", body_text=ATTACHMENT_ONLY), SAME),
    (_a(A_2022_MOVED, index_no="11350300MB1234567X/2023-00110", title="2022年度报告", report_year=2022,
        pub_date="2023-01-20", body_text=ATTACHMENT_ONLY), SAME),
]

SCRIPTS = {
    "crawl": CRAWL,
    "corrected_then_republished": CORRECTED_THEN_REPUBLISHED,
    "renumbered_then_listed_twice": RENUMBERED_THEN_LISTED_TWICE,
}


# --- helpers ------------------------------------------------------------------------------------


def _empty_archive(database_url: str, tmp_path: Path, name: str) -> Sessions:
    """A migrated, empty archive of its own: a new SQLite file, or the PostgreSQL test database
    emptied (the two archives of a comparison are built one after the other)."""
    if database_url.startswith("sqlite"):
        return open_archive(f"sqlite:///{tmp_path / f'{name}.sqlite3'}")
    reset_postgres(database_url)
    return open_archive(database_url)


def _engine(archive: Sessions) -> Engine:
    bind = archive.kw["bind"]
    assert isinstance(bind, Engine)
    return bind


def _start(archive: Sessions) -> int:
    with archive() as session, session.begin():
        return start_run(session, (SITE_A.key, SITE_B.key)).id


def _items(make_item: MakeItem, script: Sequence[tuple[dict[str, Any], RecordOutcome]]) -> list[ReportItem]:
    """The script's items, fetched an hour apart (but for FETCHED_EARLY ones)."""
    return [
        make_item(**fields, fetched_at=T0 + timedelta(hours=n) - FETCHED_EARLY.get(n, timedelta()))
        for n, (fields, _) in enumerate(script)
    ]


def _with_captures(archive: Sessions, run_id: int, items: Sequence[ReportItem]) -> list[ReportItem]:
    """The items, each with a capture of its own (the WARC evidence a version keeps)."""
    with archive() as session, session.begin():
        site_ids = dict(session.execute(select(Site.key, Site.id)).all())
        capture_ids = insert_captures(session, [
            {"run_id": run_id, "site_id": site_ids[item.site_key], "url": item.url, "page_kind": "report",
             "fetched_at": item.fetched_at, "http_status": 200, "record_type": "response",
             "warc_file": "nianbao-00001.warc.gz", "warc_record_id": f"<urn:uuid:report-{n}>",
             "warc_offset": 1000 * n, "warc_length": 900}
            for n, item in enumerate(items)
        ])
    return [dataclasses.replace(item, capture_id=capture_id) for item, capture_id in zip(items, capture_ids, strict=True)]


def _record_one_by_one(archive: Sessions, run_id: int, items: Sequence[ReportItem]) -> list[RecordOutcome]:
    outcomes = []
    for item in items:
        with archive() as session, session.begin():
            outcomes.append(record_report(session, run_id, item))
    return outcomes


def _record_batch(archive: Sessions, run_id: int, items: Sequence[ReportItem]) -> list[RecordOutcome]:
    with archive() as session, session.begin():
        return record_reports(session, run_id, items)


def _build(archive: Sessions, items: Sequence[ReportItem], first_night: int, *, batch: bool) -> list[RecordOutcome]:
    """Last night recorded one by one, tonight in one batch (or one by one); tonight's outcomes."""
    with archive() as session, session.begin():
        sync_site(session, SITE_A)
        sync_site(session, SITE_B)
    last_night, tonight = _start(archive), _start(archive)
    items = _with_captures(archive, tonight, items)
    _record_one_by_one(archive, last_night, items[:first_night])
    record = _record_batch if batch else _record_one_by_one
    return record(archive, tonight, items[first_night:])


def _dump(archive: Sessions) -> dict[str, Any]:
    """Everything recording decides, without the database's ids: documents are named by their
    site and URLs, runs by their order, captures by their WARC record."""
    with archive() as session:
        sites = dict(session.execute(select(Site.id, Site.key)).all())
        order = {run_id: n for n, run_id in enumerate(session.scalars(select(CrawlRun.id).order_by(CrawlRun.id)))}

        def runs(run_id: int | None) -> int | None:
            return None if run_id is None else order[run_id]

        records = dict(session.execute(select(Capture.id, Capture.warc_record_id)).all())
        documents = session.scalars(select(Document).order_by(Document.id)).all()
        urls = session.scalars(select(DocumentUrl).order_by(DocumentUrl.id)).all()
        names: dict[int, tuple[str, tuple[str, ...]]] = {
            document.id: (sites[document.site_id], tuple(sorted(u.url for u in urls if u.document_id == document.id)))
            for document in documents
        }
        versions = session.scalars(select(Version)).all()
        numbers = {version.id: version.number for version in versions}
        # (the capture column is added to the mapping by storage.models.capture)
        captured: dict[int, int | None] = dict(session.execute(select(Version.id, Version.__table__.c.capture_id)).all())
        entries = session.scalars(select(SearchEntry)).all()
        hits = search(session, "政府信息公开", limit=100, all_versions=True).hits
        latest_hits = search(session, "政府信息公开", limit=100).hits
        return {
            "documents": sorted(
                (names[d.id], d.url, d.index_no, d.title, d.report_year, d.publisher, d.pub_date, d.missing_fields,
                 numbers.get(d.latest_version_id or 0), d.first_seen_at, d.last_seen_at, runs(d.last_run_id))
                for d in documents
            ),
            "document_urls": sorted(
                (names[u.document_id], sites[u.site_id], u.url, u.first_seen_at, u.last_seen_at) for u in urls
            ),
            "versions": sorted(
                (names[v.document_id], v.number, v.content_hash, records.get(captured[v.id] or 0), v.title, v.index_no,
                 v.body_text, v.first_seen_at, v.last_seen_at, runs(v.first_run_id), runs(v.last_run_id))
                for v in versions
            ),
            "search_entries": sorted(
                (names[e.document_id], numbers[e.version_id], e.latest, e.tokens, sites.get(e.site_id or 0), e.report_year)
                for e in entries
            ),
            "search_hits": sorted((names[h.document_id], h.version_number, h.url) for h in hits),
            "latest_hits": sorted((names[h.document_id], h.version_number, h.url) for h in latest_hits),
            "site_crawls": sorted(
                (runs(c.run_id), sites[c.site_id], c.reports_found, c.new_documents, c.new_versions, c.unchanged)
                for c in session.scalars(select(SiteCrawl))
            ),
        }


def _counts(archive: Sessions) -> dict[str, int]:
    with archive() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Document, DocumentUrl, Version, SearchEntry)
        }


@contextmanager
def _statements(archive: Sessions) -> Iterator[list[str]]:
    """The SQL statements the engine sends meanwhile; an executemany counts once."""
    sent: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.append(statement)

    engine = _engine(archive)
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _by_kind(statements: Sequence[str]) -> list[tuple[str, int]]:
    """How many of each statement were sent (first words of each), most first: the failure message."""
    return Counter(" ".join(statement.split())[:70] for statement in statements).most_common()


def _new_reports(make_item: MakeItem, first: int, count: int) -> list[ReportItem]:
    """``count`` reports the site has not published before: their own URL, 索引号, title and body."""
    return [
        make_item(
            url=f"https://www.putian.gov.cn/zwgk/zfxxgknb/dept{n}/t2024_{n}.htm",
            index_no=f"003519{n:03d}/2024-00001",
            title=f"莆田市第{n}局2023年政府信息公开工作年度报告",
            publisher=f"莆田市第{n}局",
            body_text=_report_body(f"莆田市第{n}局", 2023, 300 + n, n % 17),
            fetched_at=T0 + timedelta(minutes=n),
        )
        for n in range(first, first + count)
    ]


# --- one batch is the same as one report after another ------------------------------------------


@pytest.mark.parametrize(
    ("script", "first_night"),
    [("crawl", CRAWL_FIRST_NIGHT), ("crawl", 0), ("corrected_then_republished", 0),
     ("renumbered_then_listed_twice", 0)],
    ids=["two-nights", "all-in-one-batch", "corrected-then-republished", "renumbered-then-listed-twice"],
)
def test_a_batch_leaves_the_archive_recording_one_by_one_leaves(
    database_url: str, tmp_path: Path, make_item: MakeItem, script: str, first_night: int
) -> None:
    """The archive writer commits tonight's reports a batch at a time; what it archives (documents,
    their URLs, versions and evidence, the search index, the run's counters) must be exactly what
    the per-report pipeline archived, for the moves, corrections and reverts sites really make.
    ``all-in-one-batch``: last night's reports too, so every match is to a document the batch
    itself created."""
    steps = SCRIPTS[script]
    items = _items(make_item, steps)

    by_batch = _empty_archive(database_url, tmp_path, "batch")
    try:
        batch_outcomes = _build(by_batch, items, first_night, batch=True)
        batch_dump = _dump(by_batch)
    finally:
        _engine(by_batch).dispose()

    one_by_one = _empty_archive(database_url, tmp_path, "one_by_one")
    try:
        single_outcomes = _build(one_by_one, items, first_night, batch=False)
        single_dump = _dump(one_by_one)
    finally:
        _engine(one_by_one).dispose()

    # The script does what its comments say (one report at a time), and the batch does the same.
    assert single_outcomes == [outcome for _, outcome in steps[first_night:]]
    assert batch_outcomes == single_outcomes
    for table in single_dump:
        assert batch_dump[table] == single_dump[table], table


def test_the_crawl_script_ends_as_the_site_shows_it(database_url: str, tmp_path: Path, make_item: MakeItem) -> None:
    """What the equivalence above compares is the right archive, not merely the same one: every
    move joined its document, the reverts made the old versions the latest again, and the late
    fetch did not take the canonical URL back."""
    archive = _empty_archive(database_url, tmp_path, "crawl")
    try:
        _build(archive, _items(make_item, CRAWL), CRAWL_FIRST_NIGHT, batch=True)
        dump = _dump(archive)
    finally:
        _engine(archive).dispose()
    documents = {name: (url, title, latest) for name, url, _, title, _, _, _, _, latest, *_ in dump["documents"]}
    assert documents == {
        (SITE_A.key, tuple(sorted([A_2023, A_2023_MOVED]))): (A_2023, "莆田市统计局2023年政府信息公开工作年度报告", 1),
        (SITE_A.key, tuple(sorted([A_2022, A_2022_MOVED]))): (
            A_2022_MOVED, "莆田市统计局 2022年 政府信息公开工作年度报告", 1),
        (SITE_A.key, tuple(sorted([A_2021, A_2021_REPUBLISHED]))): (
            A_2021_REPUBLISHED, "莆田市统计局关于2021年度政府信息公开工作情况的报告", 1),
        (SITE_A.key, (A_2020,)): (A_2020, "2020年年报", 1),
        (SITE_A.key, (A_2024,)): (A_2024, "莆田市统计局2024年政府信息公开工作年度报告", 1),
        (SITE_B.key, (B_2023,)): (B_2023, "平潭综合实验区管委会2023年政府信息公开工作年度报告", 2),
        (SITE_B.key, (B_2024,)): (B_2024, "平潭综合实验区管委会2024年政府信息公开工作年度报告", 1),
    }
    # Each version keeps the capture of the fetch that first archived its text.
    evidence = {(name[1][0], number): record for name, number, _, record, *_ in dump["versions"]}
    assert evidence[(A_2024, 1)] == "<urn:uuid:report-6>" and evidence[(A_2024, 2)] == "<urn:uuid:report-11>"
    latest = {(name[1][0], number) for name, number, is_latest, *_ in dump["search_entries"] if is_latest}
    assert (A_2024, 1) in latest and (A_2024, 2) not in latest
    # Tonight's counters: 10 reports on A (1 new, 1 changed, 8 unchanged), 3 on B (one of each).
    assert [row for row in dump["site_crawls"] if row[0] == 1] == [
        (1, SITE_B.key, 3, 1, 1, 1),
        (1, SITE_A.key, 10, 1, 1, 8),
    ]


def test_a_batch_sees_the_documents_it_created(archive: Sessions, new_run, make_item: MakeItem) -> None:
    """A report listed in two columns at once, both pages new tonight: the second page joins the
    document the first created in the same batch (by its 索引号), it is not a second report."""
    run_id = new_run()
    first = make_item(url=A_2023, fetched_at=T0)
    second = make_item(
        url=A_2023_MOVED, title="莆田市统计局 2023年政府信息公开工作年度报告", fetched_at=T0 + timedelta(minutes=1)
    )
    assert _record_batch(archive, run_id, [first, second]) == [NEW, SAME]

    with archive() as session:
        [document] = session.scalars(select(Document)).all()
        assert document.url == A_2023_MOVED  # fetched last
        assert [u.url for u in urls_of(session, document.id)] == [A_2023_MOVED, A_2023]
    assert _counts(archive) == {"documents": 1, "document_urls": 2, "versions": 1, "search_entries": 1}


# --- statements -----------------------------------------------------------------------------------


def _record_twenty_then_all(archive: Sessions, run_id: int, twenty: Sequence[ReportItem],
                            two_hundred: Sequence[ReportItem]) -> list[RecordOutcome]:
    """Record a batch of 20, then one of 200: the second may take hardly more statements."""
    with _statements(archive) as few:
        _record_batch(archive, run_id, twenty)
    with _statements(archive) as many:
        outcomes = _record_batch(archive, run_id, two_hundred)
    assert len(many) <= 25, _by_kind(many)
    assert len(many) - len(few) <= 2, (_by_kind(few), _by_kind(many))
    return outcomes


def test_new_reports_take_a_constant_number_of_statements(archive: Sessions, new_run, make_item: MakeItem) -> None:
    """The writer records a batch in one round of statements: a night with 200 new reports (a
    county portal's whole column on its first crawl) must not mean thousands of round trips."""
    run_id = new_run()
    outcomes = _record_twenty_then_all(archive, run_id, _new_reports(make_item, 0, 20), _new_reports(make_item, 20, 200))
    assert outcomes == [NEW] * 200
    assert _counts(archive) == {"documents": 220, "document_urls": 220, "versions": 220, "search_entries": 220}


def test_unchanged_reports_take_a_constant_number_of_statements(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    """Most of a nightly crawl is re-fetches of reports that did not change: their cost must not
    grow with the column either."""
    known = _new_reports(make_item, 0, 200)
    _record_batch(archive, new_run(), known)
    tonight = new_run()
    refetched = [dataclasses.replace(item, fetched_at=T0 + timedelta(days=1)) for item in known]
    outcomes = _record_twenty_then_all(archive, tonight, refetched[:20], refetched)
    assert outcomes == [SAME] * 200
    assert _counts(archive) == {"documents": 200, "document_urls": 200, "versions": 200, "search_entries": 200}


def test_a_batch_across_many_sites_takes_no_more_statements_than_one_site(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    """A crawl process writes the reports of all its sites in one batch (twenty bureaus at once
    in a county's nightly crawl): locking the sites and counting their reports are one statement
    each for the whole batch, not one (or two) per site."""
    bureaus = [dataclasses.replace(SITE_A, key=f"putian-dept{n}", name=f"莆田市第{n}局") for n in range(20)]
    with archive() as session, session.begin():
        for bureau in bureaus:
            sync_site(session, bureau)
        run_id = start_run(session, (SITE_A.key,)).id  # the bureaus' site crawls are made on first write
    one_site = _new_reports(make_item, 0, 20)
    many_sites = [dataclasses.replace(item, site_key=bureaus[n].key)
                  for n, item in enumerate(_new_reports(make_item, 20, 20))]
    with _statements(archive) as few:
        _record_batch(archive, run_id, one_site)
    with _statements(archive) as many:
        outcomes = _record_batch(archive, run_id, many_sites)
    assert outcomes == [NEW] * 20
    assert len(many) <= len(few) + 1, (_by_kind(few), _by_kind(many))  # + the INSERT of new site crawls
    with archive() as session:
        counted = session.execute(
            select(Site.key, SiteCrawl.reports_found, SiteCrawl.new_documents, SiteCrawl.status)
            .join(Site, Site.id == SiteCrawl.site_id).where(SiteCrawl.run_id == run_id)
        ).all()
    assert sorted(counted) == sorted(
        [(SITE_A.key, 20, 20, "running")] + [(bureau.key, 1, 1, "running") for bureau in bureaus]
    )


def test_many_row_writes_are_multi_row_statements_not_a_round_trip_per_row(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    """A statement run for a list of rows is, with psycopg2, one round trip per row -- unless
    SQLAlchemy can send it as multi-row INSERTs. The writer's many-row upserts (a batch's new
    URLs, its sites' crawls, its pages' URL states) must be multi-row on both databases: on
    PostgreSQL the URL upserts alone were two round trips per page."""
    run_id = new_run()
    sent: list[tuple[str, ExecuteStyle]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.append((" ".join(statement.split())[:60], context.execute_style))

    engine = _engine(archive)
    event.listen(engine, "before_cursor_execute", note)
    try:
        with archive() as session, session.begin():
            record_reports(session, run_id, _new_reports(make_item, 0, 20))
            site_id = session.scalar(select(Site.id).where(Site.key == SITE_A.key))
            assert site_id is not None
            save_url_states(session, [
                (site_id, KnownUrl(url=f"https://www.putian.gov.cn/zfxxgk/list_{n}.htm", page_kind="list",
                                   first_seen_at=T0, last_checked_at=T0, etag=None, last_modified=None, payload=None))
                for n in range(20)
            ])
    finally:
        event.remove(engine, "before_cursor_execute", note)
    upserts = [(statement, style) for statement, style in sent
               if statement.startswith(("INSERT INTO document_urls", "INSERT INTO site_crawls", "INSERT INTO url_states"))]
    assert {statement.split()[2] for statement, _ in upserts} == {"document_urls", "site_crawls", "url_states"}
    assert [statement for statement, style in upserts if style is ExecuteStyle.EXECUTEMANY] == []
    with archive() as session:
        assert session.scalar(select(func.count()).select_from(UrlState)) == 20
        assert session.scalar(select(func.count()).select_from(DocumentUrl)) == 20


# --- a bad report -------------------------------------------------------------------------------


def test_a_bad_report_fails_the_whole_batch_and_writes_nothing(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    """An extractor that misreads a date (month 13) must not leave half a batch archived: the
    writer's transaction is rolled back and the batch can be retried without the bad report."""
    run_id = new_run()
    good = _new_reports(make_item, 0, 5)
    bad = make_item(url="https://www.putian.gov.cn/zwgk/zfxxgknb/bad.htm", index_no="BAD-1", pub_date="2024-13-45")
    with pytest.raises(StorageError, match=r"bad\.htm: pub_date must be YYYY-MM-DD"), archive() as session, session.begin():
        record_reports(session, run_id, [*good, bad])
    assert _counts(archive) == {"documents": 0, "document_urls": 0, "versions": 0, "search_entries": 0}
    with archive() as session:
        crawls = session.scalars(select(SiteCrawl).where(SiteCrawl.run_id == run_id)).all()
        assert [(c.reports_found, c.new_documents) for c in crawls] == [(0, 0), (0, 0)]

    assert _record_batch(archive, run_id, good) == [NEW] * 5  # the retry without it
    assert _counts(archive)["documents"] == 5


# --- concurrency --------------------------------------------------------------------------------


def test_two_batches_with_the_same_new_report_make_one_document(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    """Two crawl processes (a distributed crawl) reach the same new report in the same seconds,
    each in a batch with reports of its own: one document and one version, never two."""
    run_id = new_run()
    workers, rounds = 2, 3
    outcomes: list[list[RecordOutcome]] = []
    errors: list[BaseException] = []
    for round_no in range(rounds):
        shared = make_item(url=f"https://www.putian.gov.cn/zwgk/zfxxgknb/shared_{round_no}.htm",
                           index_no=f"SHARED-{round_no}", title=f"共享报告{round_no}",
                           body_text=_report_body("莆田市统计局", 2023, 500 + round_no, 1))
        barrier = threading.Barrier(workers)

        def work(worker: int, shared: ReportItem = shared, barrier: threading.Barrier = barrier,
                 round_no: int = round_no) -> None:
            own = _new_reports(make_item, 100 * (round_no + 1) + worker, 1)
            try:
                barrier.wait()
                outcomes.append(_record_batch(archive, run_id, [*own, shared]))
            except BaseException as exc:  # collected and re-raised by the test thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not errors, errors
    assert [own for own, _ in outcomes] == [NEW] * workers * rounds
    assert sorted(shared for _, shared in outcomes) == sorted([NEW, SAME] * rounds)
    assert _counts(archive) == {
        "documents": rounds * (workers + 1),
        "document_urls": rounds * (workers + 1),
        "versions": rounds * (workers + 1),
        "search_entries": rounds * (workers + 1),
    }
