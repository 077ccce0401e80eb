"""One document per report, wherever it moves: the matching rules, every URL kept, the merge of
duplicates archived before migration 0008, and moves that are not removals."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from alerts.coverage import site_coverage
from alerts.monitor import run_monitor
from crawler.items import ReportItem
from crawler.stats import table3_rows
from storage import RecordOutcome, create_archive_engine, migrate, record_report, start_run, sync_site
from storage.attachments import link_attachment, record_attachment
from storage.identity import (
    MIN_BODY_CHARS,
    ReportIdentity,
    find_document,
    meaningful_index_no,
    normalize_title,
    substantial_body,
    urls_of,
)
from storage.models import FTS_TABLE, Alert, AttachmentLink, Document, DocumentUrl, SearchEntry, Site, Version
from storage.search import reindex_missing, search
from tests.alerts.conftest import DEPT, Archive, Report
from tests.storage.conftest import SITE_A

MakeItem = Callable[..., ReportItem]
Sessions = sessionmaker[Session]

OLD_URL = "https://www.putian.gov.cn/zwgk/zfxxgknb/202401/t20240115_1.htm"
NEW_URL = "https://www.putian.gov.cn/zfxxgk/fdzdgknr/ndbg/202401/t20240115_9.htm"
NEW_DOMAIN_URL = "https://tjj.putian.gov.cn/xxgk/ndbg/202401/t20240115_3.htm"

#: A full report's text: well over MIN_BODY_CHARS once normalized.
LONG_BODY = "\n".join(
    [
        "一、总体情况",
        "2023年，莆田市统计局坚持以习近平新时代中国特色社会主义思想为指导，全面贯彻落实《中华人民共和国政府信息公开条例》，"
        "围绕统计中心工作，持续深化政务公开，推进统计数据发布解读，回应社会关切。",
        "二、主动公开政府信息情况",
        "本年主动公开政府信息388条，其中统计数据发布126条，统计分析解读52条，政策文件12条，通知公告198条。"
        "门户网站统计信息专栏访问量稳步增长，统计年鉴全文公开。",
        "三、收到和处理政府信息公开申请情况",
        "本年新收政府信息公开申请10件，上年结转1件，办结11件，其中予以公开6件，部分公开2件，不予公开1件，无法提供2件。",
        "四、政府信息公开行政复议、行政诉讼情况",
        "本年未发生政府信息公开行政复议、行政诉讼案件。",
        "五、存在的主要问题及改进情况",
        "统计数据解读的深度和形式仍需丰富，下一步将加强图解、视频解读，提升公开实效。",
    ]
)

TABLES = {"format": "2021", "table3": {"columns": [], "rows": {"new_requests": [6, 1, 0, 1, 0, 2, 10]}}}


def _at(day: str, hour: int = 3) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def _record(archive: Sessions, run_id: int, item: ReportItem) -> RecordOutcome:
    with archive() as session, session.begin():
        return record_report(session, run_id, item)


def _documents(archive: Sessions) -> list[Document]:
    with archive() as session:
        return list(session.scalars(select(Document).order_by(Document.id)).all())


def _urls(archive: Sessions, document_id: int) -> list[str]:
    with archive() as session:
        return [u.url for u in urls_of(session, document_id)]


def _version_count(archive: Sessions) -> int:
    with archive() as session:
        return session.scalar(select(func.count()).select_from(Version)) or 0


# --- the rules, pure ----------------------------------------------------------------------------


def test_normalize_title_ignores_width_case_spaces_and_punctuation():
    """Sites re-render titles with full-width spaces, NBSP, full-width digits and quotes."""
    plain = normalize_title("莆田市统计局2023年政府信息公开工作年度报告")
    assert normalize_title("莆田市统计局 2023年\u3000政府信息公开工作年度报告。") == plain
    assert normalize_title("“莆田市统计局２０２３年政府信息公开工作年度报告”\xa0") == plain
    assert normalize_title("莆田市统计局2022年政府信息公开工作年度报告") != plain
    assert normalize_title(None) == normalize_title("  ——  ") == ""


def test_index_numbers_without_letters_or_digits_are_no_index_numbers():
    """Templates print a dash or a slash where a column has no 索引号."""
    assert meaningful_index_no(" 003519001/2024-00012 ") == "003519001/2024-00012"
    assert meaningful_index_no("-") is None and meaningful_index_no(" / ") is None
    assert meaningful_index_no(None) is None and meaningful_index_no("") is None


def test_only_a_substantial_body_counts_for_the_content_rule():
    """Attachment-only pages hold a line such as 详见附件; a report's own text runs to thousands."""
    assert substantial_body(LONG_BODY)
    assert not substantial_body("")
    assert not substantial_body("详见附件。\n" + " " * 500)
    assert not substantial_body("字" * (MIN_BODY_CHARS - 1)) and substantial_body("字" * MIN_BODY_CHARS)


# --- record_report: moves join the document --------------------------------------------------


def test_moved_report_with_the_same_index_number_stays_one_document(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    """TRS sites re-publish a report under a new column path when the column is reorganised; the
    page keeps its 索引号 and its text."""
    run_id = new_run()
    assert _record(archive, run_id, make_item(url=OLD_URL, fetched_at=_at("2024-01-20"))) == RecordOutcome.NEW_DOCUMENT
    moved = make_item(url=NEW_URL, title="莆田市统计局 2023年政府信息公开工作年度报告", fetched_at=_at("2024-06-01"))
    assert _record(archive, new_run(), moved) == RecordOutcome.UNCHANGED

    [document] = _documents(archive)
    assert document.url == NEW_URL  # the canonical URL is where it was fetched most recently
    assert document.first_seen_at == _at("2024-01-20") and document.last_seen_at == _at("2024-06-01")
    assert _urls(archive, document.id) == [NEW_URL, OLD_URL]
    assert _version_count(archive) == 1
    with archive() as session:
        old = session.scalars(select(DocumentUrl).where(DocumentUrl.url == OLD_URL)).one()
        assert old.first_seen_at == old.last_seen_at == _at("2024-01-20")

    # Found again at the old URL later (listed in two columns): the same document, canonical again.
    assert _record(archive, new_run(), make_item(url=OLD_URL, fetched_at=_at("2024-06-02"))) == RecordOutcome.UNCHANGED
    [document] = _documents(archive)
    assert document.url == OLD_URL and _urls(archive, document.id) == [OLD_URL, NEW_URL]
    # A fetch older than the latest one does not take the canonical URL back.
    _record(archive, new_run(), make_item(url=NEW_URL, fetched_at=_at("2024-05-01")))
    assert _documents(archive)[0].url == OLD_URL


def test_moved_report_with_a_changed_body_is_a_new_version_of_the_same_document(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    """A bureau moving to a new domain re-publishes the report with corrected figures."""
    run_id = new_run()
    _record(archive, run_id, make_item(url=OLD_URL))
    outcome = _record(archive, run_id, make_item(url=NEW_DOMAIN_URL, body_text=LONG_BODY))
    assert outcome == RecordOutcome.NEW_VERSION
    [document] = _documents(archive)
    with archive() as session:
        numbers = session.scalars(select(Version.number).where(Version.document_id == document.id)).all()
        assert sorted(numbers) == [1, 2]
        latest = session.get(Version, document.latest_version_id)
        assert latest.number == 2
        hits = search(session, "统计年鉴").hits
        assert [(h.document_id, h.version_number, h.url) for h in hits] == [(document.id, 2, NEW_DOMAIN_URL)]


def test_moved_report_without_index_number_matches_by_year_and_title(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    """Hanweb columns that show no metadata table: after a site redesign only the title and the
    year (and, here, a short body) say which report a page is."""
    run_id = new_run()
    _record(archive, run_id, make_item(url=OLD_URL, index_no=None, body_text="详见附件。"))
    moved = make_item(url=NEW_URL, index_no=None, body_text="详见附件。", title="莆田市统计局 2023年 政府信息公开工作年度报告")
    assert _record(archive, run_id, moved) == RecordOutcome.UNCHANGED
    [document] = _documents(archive)
    assert _urls(archive, document.id) == [NEW_URL, OLD_URL]


def test_republished_page_matches_by_content_only(archive: Sessions, new_run, make_item: MakeItem) -> None:
    """A new CMS re-publishes every page: a new 索引号 of its own and a reworded title, but the
    report's text is the same."""
    run_id = new_run()
    _record(archive, run_id, make_item(url=OLD_URL, body_text=LONG_BODY))
    republished = make_item(
        url=NEW_DOMAIN_URL,
        index_no="11350300MB1234567X/2024-00301",
        title="莆田市统计局关于2023年度政府信息公开工作情况的报告",
        body_text=LONG_BODY.replace("\n", "\n\u3000\u3000"),  # indented with full-width spaces
    )
    assert _record(archive, run_id, republished) == RecordOutcome.UNCHANGED
    [document] = _documents(archive)
    assert document.url == NEW_DOMAIN_URL and document.index_no == "11350300MB1234567X/2024-00301"
    with archive() as session:
        report = ReportIdentity.of(
            url="https://elsewhere.example/x.htm", index_no=None, report_year=2023, title="别的标题",
            body_text=LONG_BODY, content_hash=session.get(Version, document.latest_version_id).content_hash,
        )
        assert find_document(session, document.site_id, report) == (document.id, "content")


def test_the_same_title_in_two_years_stays_two_documents(archive: Sessions, new_run, make_item: MakeItem) -> None:
    """Bureaus reuse one generic title every year (政府信息公开工作年度报告) without a 索引号."""
    run_id = new_run()
    title = "政府信息公开工作年度报告"
    _record(archive, run_id, make_item(url=OLD_URL, index_no=None, title=title, report_year=2022, body_text="2022年正文"))
    outcome = _record(
        archive, run_id, make_item(url=NEW_URL, index_no=None, title=title, report_year=2023, body_text="2023年正文")
    )
    assert outcome == RecordOutcome.NEW_DOCUMENT
    assert [(d.report_year, d.url) for d in _documents(archive)] == [(2022, OLD_URL), (2023, NEW_URL)]


def test_the_same_index_number_in_another_year_stays_two_documents(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    """Some templates print the column's 索引号 on every page of the column."""
    run_id = new_run()
    _record(archive, run_id, make_item(url=OLD_URL, index_no="ZX-001", report_year=2022, body_text="2022年正文"))
    _record(archive, run_id, make_item(url=NEW_URL, index_no="ZX-001", report_year=2023, body_text="2023年正文"))
    assert len(_documents(archive)) == 2


def test_one_generic_title_with_two_index_numbers_stays_two_documents(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    """County portals list every department's report under the same title; each has its own 索引号."""
    run_id = new_run()
    title = "2023年政府信息公开工作年度报告"
    _record(archive, run_id, make_item(url=OLD_URL, index_no="001/2024-001", title=title, body_text="教育局正文"))
    _record(archive, run_id, make_item(url=NEW_URL, index_no="002/2024-001", title=title, body_text="卫健委正文"))
    assert len(_documents(archive)) == 2


def test_reports_with_empty_or_tiny_bodies_stay_two_documents(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    """Attachment-only pages: the page body is empty or just 详见附件, the report is the PDF."""
    run_id = new_run()
    for n, body in enumerate(["", "", "详见附件", "详见附件"]):
        outcome = _record(
            archive,
            run_id,
            make_item(url=f"{OLD_URL}?n={n}", index_no=None, title=f"第{n}个单位2023年政府信息公开工作年度报告", body_text=body),
        )
        assert outcome == RecordOutcome.NEW_DOCUMENT
    assert len(_documents(archive)) == 4


def test_attachments_link_through_any_url_of_the_document(archive: Sessions, new_run, make_item: MakeItem) -> None:
    """A report listed in two columns is fetched at both URLs in one crawl; its attachment links
    arrive after both pages, naming the URL they were found on."""
    run_id = new_run()
    _record(archive, run_id, make_item(url=OLD_URL))
    _record(archive, run_id, make_item(url=NEW_URL))  # canonical now
    with archive() as session, session.begin():
        content = record_attachment(session, sha256="ab" * 32, size=3, media_type="application/pdf", text="附件正文")
        link = link_attachment(
            session, site_key=SITE_A.key, report_url=OLD_URL, url="https://www.putian.gov.cn/a.pdf",
            link_text="附件", attachment_id=content.id,
        )
        assert link is not None and link.document_id == _documents(archive)[0].id


def test_concurrent_writers_finding_one_report_at_two_new_urls_make_one_document(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    """Distributed workers crawl a site's two columns at once, and both list the new report."""
    run_id = new_run()
    workers = 6
    barrier = threading.Barrier(workers)
    outcomes: list[RecordOutcome] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            outcomes.append(_record(archive, run_id, make_item(url=f"{NEW_URL}?column={n}")))
        except BaseException as exc:  # collected and re-raised by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(outcomes) == sorted([RecordOutcome.NEW_DOCUMENT] + [RecordOutcome.UNCHANGED] * (workers - 1))
    [document] = _documents(archive)
    assert len(_urls(archive, document.id)) == workers


# --- counts: stats and coverage -----------------------------------------------------------------


def test_stats_and_coverage_count_a_moved_report_once(archive: Sessions, new_run, make_item: MakeItem) -> None:
    """A report moved to a new column path used to add its table-3 figures a second time."""
    _record(archive, new_run(), make_item(url=OLD_URL, tables=TABLES, fetched_at=_at("2024-01-20")))
    _record(archive, new_run(), make_item(url=NEW_URL, tables=TABLES, fetched_at=_at("2024-06-01")))
    with archive() as session:
        rows = table3_rows(session, rows=["new_requests"])
        assert [(r.report_year, r.values[-1]) for r in rows] == [(2023, 10)]
        site = session.scalars(select(Site).where(Site.key == SITE_A.key)).one()
        [cell] = [c for c in site_coverage(session, site, date(2024, 7, 1)) if c.report_year == 2023]
        assert cell.document_id == _documents(archive)[0].id and cell.status == "on_time"


# --- moving is not removing ---------------------------------------------------------------------


@pytest.fixture
def recorder(archive: Sessions) -> Archive:
    return Archive(archive)


def _monitor(archive: Sessions, day: str) -> list[tuple[str, str]]:
    now = _at(day)
    with archive() as session, session.begin():
        result = run_monitor(session, [DEPT.key], as_of=now.date(), now=now)
        return [(row.event, row.alert.key.split(":")[0]) for row in result.queued]


def _removed_alerts(archive: Sessions) -> list[tuple[str, int | None]]:
    with archive() as session:
        return [(a.state, a.document_id) for a in session.scalars(select(Alert).where(Alert.kind == "report_removed"))]


MOVED_FROM = "http://127.0.0.1:9/tjj/2022.htm"
MOVED_TO = "http://127.0.0.1:9/tjj/xxgk/ndbg/2022.htm"


def test_a_moved_report_raises_no_removal(archive: Sessions, recorder: Archive) -> None:
    """A column reorganised between two nights: the report is listed at its new path only."""
    older = Report(2021, "2022-01-20")
    recorder.crawl(DEPT, [older, Report(2022, "2023-01-18", url=MOVED_FROM)])
    _monitor(archive, "2023-12-01")
    for _ in range(3):
        recorder.crawl(DEPT, [older, Report(2022, "2023-01-18", url=MOVED_TO)])
    assert "report_removed" not in [kind for _, kind in _monitor(archive, "2023-12-05")]
    assert _removed_alerts(archive) == []
    [document] = [d for d in _documents(archive) if d.report_year == 2022]
    assert document.url == MOVED_TO and set(_urls(archive, document.id)) == {MOVED_FROM, MOVED_TO}


def test_an_open_removal_resolves_when_the_report_is_found_at_its_new_url(archive: Sessions, recorder: Archive) -> None:
    """The report vanished from the listing for a while (the column was being rebuilt) and came
    back at a new path."""
    older = Report(2021, "2022-01-20")
    recorder.crawl(DEPT, [older, Report(2022, "2023-01-18", url=MOVED_FROM)])
    recorder.crawl(DEPT, [older])
    recorder.crawl(DEPT, [older])
    assert ("opened", "report_removed") in _monitor(archive, "2023-12-02")
    recorder.crawl(DEPT, [older, Report(2022, "2023-01-18", url=MOVED_TO)])
    assert ("resolved", "report_removed") in _monitor(archive, "2023-12-03")
    [(state, _document_id)] = _removed_alerts(archive)
    assert state == "resolved" and len(_documents(archive)) == 2


# --- migration 0008: duplicates archived before it are merged -----------------------------------


def _old_document(session: Session, site_id: int, run_id: int, url: str, *, title: str, year: int | None,
                  index_no: str | None, versions: list[tuple[str, datetime, datetime]]) -> tuple[int, list[int]]:
    """A document and its versions as an archive before 0008 holds them (no URL rows)."""
    from storage.normalize import content_hash

    first, last = min(v[1] for v in versions), max(v[2] for v in versions)
    document_id = session.execute(
        insert(Document).values(
            site_id=site_id, url=url, title=title, report_year=year, index_no=index_no, pub_date="2024-01-15",
            missing_fields=[], first_seen_at=first, last_seen_at=last, last_run_id=run_id,
        ).returning(Document.id)
    ).scalar_one()
    ids = []
    for number, (body, seen_first, seen_last) in enumerate(versions, start=1):
        ids.append(session.execute(
            insert(Version).values(
                document_id=document_id, number=number, content_hash=content_hash(body), title=title,
                index_no=index_no, report_year=year, pub_date="2024-01-15", body_text=body, attachments=[],
                missing_fields=[], first_seen_at=seen_first, last_seen_at=seen_last, first_run_id=run_id,
                last_run_id=run_id, has_tables=False, image_only=False,
            ).returning(Version.id)
        ).scalar_one())
    latest = max(zip(ids, versions, strict=True), key=lambda pair: pair[1][2])[0]
    session.execute(text("UPDATE documents SET latest_version_id = :v WHERE id = :d"), {"v": latest, "d": document_id})
    return document_id, ids


def test_migration_merges_duplicates_archived_before_it(database_url: str) -> None:
    """Archives crawled before 0008 hold a moved report as several documents: the old path, the
    reorganised column (same 索引号), a copy without metadata (same title) and a re-published page
    (same text); a report of another year with the same title stays apart."""
    engine = create_archive_engine(database_url)
    try:
        migrate(engine, "0007")
        sessions = sessionmaker(bind=engine, expire_on_commit=False)
        title = "莆田市统计局2023年政府信息公开工作年度报告"
        body_a, body_b, body_c = LONG_BODY, LONG_BODY + "\n六、其他需要报告的事项\n无。", "2023年报告，详见附件。"
        day = lambda n: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n)  # noqa: E731
        with sessions() as session, session.begin():
            site_id = sync_site(session, SITE_A).id
            run_id = start_run(session, [SITE_A.key]).id
            kept, kept_versions = _old_document(
                session, site_id, run_id, "https://a.gov.cn/old.htm", title=title, year=2023, index_no="IDX-1",
                versions=[(body_a, day(0), day(10))],
            )
            moved, moved_versions = _old_document(
                session, site_id, run_id, "https://a.gov.cn/new.htm", title=title, year=2023, index_no="IDX-1",
                versions=[(body_a, day(20), day(30)), (body_b, day(31), day(60))],
            )
            copied, _ = _old_document(
                session, site_id, run_id, "https://a.gov.cn/copy.htm", title=f" {title}。", year=2023, index_no=None,
                versions=[(body_c, day(5), day(8))],
            )
            republished, _ = _old_document(
                session, site_id, run_id, "https://b.gov.cn/re.htm", title="关于2023年度政府信息公开工作的报告",
                year=2023, index_no="NEW-9", versions=[(body_b, day(40), day(50))],
            )
            other_year, _ = _old_document(
                session, site_id, run_id, "https://a.gov.cn/2022.htm", title=title.replace("2023", "2022"), year=2022,
                index_no=None, versions=[(LONG_BODY.replace("2023", "2022"), day(0), day(60))],
            )
            tiny = [
                _old_document(session, site_id, run_id, f"https://a.gov.cn/att{n}.htm", title=f"单位{n}年报", year=2023,
                              index_no=None, versions=[("", day(1), day(2))])[0]
                for n in range(2)
            ]
            # Attachment links: the same PDF on both copies of body_a, another only on the moved one.
            content = record_attachment(session, sha256="cd" * 32, size=3, media_type="application/pdf", text="附件里的独有词语")
            for version_id, url in [(kept_versions[0], "https://a.gov.cn/a.pdf"), (moved_versions[0], "https://a.gov.cn/a.pdf"),
                                    (moved_versions[0], "https://a.gov.cn/b.pdf")]:
                session.execute(insert(AttachmentLink).values(
                    # Only the columns a 0007 archive has (the model has grown since).
                    document_id=session.scalar(select(Version.document_id).where(Version.id == version_id)),
                    version_id=version_id, url=url,
                    attachment_id=content.id, created_at=day(1),
                ))
            reindex_missing(session)
            # Alerts: the old document was reported removed; so was the copy (its key is taken).
            for key, document_id, state in [
                (f"report_removed:{SITE_A.key}:doc{kept}", kept, "open"),
                (f"report_removed:{SITE_A.key}:doc{copied}", copied, "open"),
                (f"report_changed:{SITE_A.key}:doc{moved}:v2", moved, "notice"),
            ]:
                session.execute(insert(Alert).values(
                    key=key, kind=key.split(":")[0], site_id=site_id, document_id=document_id, state=state,
                    title="t", message="m", opened_at=day(61),
                ))

        migrate(engine)

        with sessions() as session:
            documents = session.scalars(select(Document).order_by(Document.id)).all()
            assert [d.id for d in documents] == [kept, other_year, *tiny]
            document = documents[0]
            assert document.url == "https://a.gov.cn/new.htm"  # the most recently seen copy's URL
            assert (document.first_seen_at, document.last_seen_at) == (day(0), day(60))
            assert sorted(u.url for u in urls_of(session, kept)) == [
                "https://a.gov.cn/copy.htm", "https://a.gov.cn/new.htm", "https://a.gov.cn/old.htm", "https://b.gov.cn/re.htm",
            ]
            assert session.scalar(select(func.count()).select_from(DocumentUrl)) == 4 + 1 + 2
            versions = session.scalars(select(Version).where(Version.document_id == kept).order_by(Version.number)).all()
            # body_a (kept, seen until day 30), body_c (first seen day 5), body_b (first seen day 31)
            assert [(v.number, v.body_text) for v in versions] == [(1, body_a), (2, body_c), (3, body_b)]
            assert (versions[0].first_seen_at, versions[0].last_seen_at) == (day(0), day(30))
            assert (versions[2].first_seen_at, versions[2].last_seen_at) == (day(31), day(60))
            assert document.latest_version_id == versions[2].id
            links = session.scalars(select(AttachmentLink).order_by(AttachmentLink.url)).all()
            assert [(link.version_id, link.document_id, link.url) for link in links] == [
                (versions[0].id, kept, "https://a.gov.cn/a.pdf"), (versions[0].id, kept, "https://a.gov.cn/b.pdf"),
            ]
            alerts = {a.key: a for a in session.scalars(select(Alert))}
            assert {a.document_id for a in alerts.values()} == {kept}
            assert alerts[f"report_removed:{SITE_A.key}:doc{kept}"].state == "open"  # resolved by the monitor
            assert alerts[f"report_removed:{SITE_A.key}:doc{copied}"].state == "resolved"
            assert f"report_changed:{SITE_A.key}:doc{kept}:v3" in alerts  # was the moved document's v2

            # The search index: one entry per version, the latest flagged, found once.
            entries = session.scalars(select(SearchEntry).order_by(SearchEntry.version_id)).all()
            assert sorted(e.version_id for e in entries) == sorted(
                session.scalars(select(Version.id)).all()
            )
            assert [e.version_id for e in entries if e.document_id == kept and e.latest] == [versions[2].id]
            if engine.dialect.name == "sqlite":
                assert session.execute(text(f"SELECT count(*) FROM {FTS_TABLE}_docsize")).scalar() == len(entries)
            assert [h.document_id for h in search(session, "其他需要报告的事项").hits] == [kept]
            assert sorted(h.document_id for h in search(session, "统计年鉴").hits) == [kept, other_year]
            assert [h.document_id for h in search(session, "独有词语", all_versions=True).hits] == [kept]
            found = search(session, "统计年鉴", all_versions=True).hits  # body_a and body_b, and 2022's
            assert sorted((h.document_id, h.version_number) for h in found) == [(kept, 1), (kept, 3), (other_year, 1)]
            assert _moved_ids_gone(session, [moved, copied, republished])

        # The archive goes on: a fetch at any of the URLs is the merged document.
        with sessions() as session, session.begin():
            run_id = start_run(session, [SITE_A.key]).id
            item = ReportItem(site_key=SITE_A.key, url="https://b.gov.cn/re.htm", title=title, index_no="IDX-1",
                              report_year=2023, body_text=body_b, pub_date="2024-01-15", fetched_at=day(70))
            assert record_report(session, run_id, item) == RecordOutcome.UNCHANGED
            item = ReportItem(site_key=SITE_A.key, url="https://a.gov.cn/2024.htm", title=title.replace("2023", "2024"),
                              report_year=2024, body_text="2024年报告正文", pub_date="2025-01-15", fetched_at=day(400))
            assert record_report(session, run_id, item) == RecordOutcome.NEW_DOCUMENT
        with sessions() as session:
            assert session.get(Document, kept).url == "https://b.gov.cn/re.htm"
            assert [h.report_year for h in search(session, "报告正文").hits] == [2024]
    finally:
        engine.dispose()


def _moved_ids_gone(session: Session, ids: list[int]) -> bool:
    for model, column in [(Document, Document.id), (Version, Version.document_id), (SearchEntry, SearchEntry.document_id),
                          (AttachmentLink, AttachmentLink.document_id), (DocumentUrl, DocumentUrl.document_id),
                          (Alert, Alert.document_id)]:
        if session.scalar(select(func.count()).select_from(model).where(column.in_(ids))):
            return False
    return True


# --- nianbao show ---------------------------------------------------------------------------------


def test_show_lists_every_url_with_first_and_last_seen(
    archive: Sessions, database_url: str, new_run, make_item: MakeItem, tmp_path, monkeypatch
) -> None:
    """An archivist asked where a report used to be published sees each address it was read at."""
    import json

    from click.testing import CliRunner

    from crawler.cli import cli

    monkeypatch.setenv("NIANBAO_DATA_DIR", str(tmp_path / "data"))
    _record(archive, new_run(), make_item(url=OLD_URL, fetched_at=_at("2024-01-20")))
    _record(archive, new_run(), make_item(url=NEW_URL, fetched_at=_at("2024-06-01")))
    [document] = _documents(archive)

    shown = CliRunner().invoke(cli, ["--db", database_url, "show", str(document.id), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["urls"] == [
        {"url": NEW_URL, "first_seen": "2024-06-01T03:00:00+00:00", "last_seen": "2024-06-01T03:00:00+00:00"},
        {"url": OLD_URL, "first_seen": "2024-01-20T03:00:00+00:00", "last_seen": "2024-01-20T03:00:00+00:00"},
    ]
    text_output = CliRunner().invoke(cli, ["--db", database_url, "show", str(document.id)]).output
    assert "urls: 2" in text_output
    assert f"{OLD_URL}  (first seen 2024-01-20T03:00:00+00:00, last seen 2024-01-20T03:00:00+00:00)" in text_output
