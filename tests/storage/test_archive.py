"""The archive API: sites, runs, versions decided by normalized content, concurrency, reads."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.config import SiteConfig
from crawler.errors import StorageError
from crawler.items import PageFailureItem, ReportItem
from storage import (
    RecordOutcome,
    finish_run,
    finish_site_crawl,
    get_document,
    get_run,
    list_documents,
    list_sites,
    record_failure,
    record_report,
    run_errors,
    run_summary,
    start_run,
    sync_site,
)
from storage.models import Document, SiteCrawl, Version

REPO_ROOT = Path(__file__).resolve().parents[2]

MakeItem = Callable[..., ReportItem]
Sessions = sessionmaker[Session]


def _record(archive: Sessions, run_id: int, item: ReportItem) -> RecordOutcome:
    with archive() as session, session.begin():
        return record_report(session, run_id, item)


def _counts(archive: Sessions) -> tuple[int, int]:
    with archive() as session:
        return (
            session.scalar(select(func.count()).select_from(Document)) or 0,
            session.scalar(select(func.count()).select_from(Version)) or 0,
        )


def _only_document(archive: Sessions) -> Document:
    with archive() as session:
        document_id = session.scalars(select(Document.id)).one()
        document = get_document(session, document_id)
        assert document is not None
        return document


def _site_crawl(archive: Sessions, run_id: int, key: str) -> SiteCrawl:
    with archive() as session:
        return next(c for c in run_summary(session, run_id) if c.site.key == key)


# --- sites and runs ---------------------------------------------------------------------------


def test_sync_site_inserts_then_updates_by_key(archive: Sessions, site_configs) -> None:
    site_a, _ = site_configs
    with archive() as session, session.begin():
        first = sync_site(session, site_a)
        first_id, created = first.id, first.updated_at
    renamed = SiteConfig(**{**site_a.__dict__, "name": "莆田市统计局（新）", "max_pages": 7})
    with archive() as session, session.begin():
        second = sync_site(session, renamed)
    assert second.id == first_id
    assert second.name == "莆田市统计局（新）"
    assert second.config == renamed.as_dict()
    assert second.config["max_pages"] == 7
    assert second.list_urls == list(site_a.list_urls)
    assert second.updated_at >= created
    with archive() as session, session.begin():
        sync_site(session, renamed)  # unchanged: still one row
    with archive() as session:
        assert [s.key for s in list_sites(session)] == [site_a.key]


def test_list_sites_is_ordered_by_key(archive: Sessions, sites) -> None:
    with archive() as session:
        assert [s.key for s in list_sites(session)] == sorted(s.key for s in sites)


def test_start_run_creates_site_crawls_for_known_sites(archive: Sessions, sites) -> None:
    site_a, site_b = sites
    with archive() as session, session.begin():
        run = start_run(session, [site_b.key, "not-synced", site_a.key])
        run_id = run.id
        assert run.status == "running"
        assert run.site_keys == [site_b.key, "not-synced", site_a.key]
        assert run.started_at.tzinfo is not None
    with archive() as session:
        crawls = run_summary(session, run_id)
    assert [c.site.key for c in crawls] == sorted([site_a.key, site_b.key])
    assert {c.status for c in crawls} == {"running"}


# --- record_report ----------------------------------------------------------------------------


def test_new_unchanged_changed(archive: Sessions, new_run, make_item: MakeItem) -> None:
    run_id = new_run()
    item = make_item()
    assert _record(archive, run_id, item) is RecordOutcome.NEW_DOCUMENT
    assert _record(archive, run_id, make_item()) is RecordOutcome.UNCHANGED
    changed = make_item(body_text=item.body_text.replace("388", "390"))
    assert _record(archive, run_id, changed) is RecordOutcome.NEW_VERSION
    assert _counts(archive) == (1, 2)

    document = _only_document(archive)
    assert [v.number for v in document.versions] == [1, 2]
    assert document.latest_version_id == document.versions[1].id
    assert "390" in document.versions[1].body_text
    assert document.versions[0].content_hash != document.versions[1].content_hash
    assert len(document.versions[0].content_hash) == 64

    crawl = _site_crawl(archive, run_id, item.site_key)
    assert (crawl.reports_found, crawl.new_documents, crawl.new_versions, crawl.unchanged) == (
        3,
        1,
        1,
        1,
    )


def test_document_and_version_carry_the_item_metadata(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    run_id = new_run()
    item = make_item(fetched_at=datetime(2024, 2, 1, 8, 0, 0))
    _record(archive, run_id, item)
    document = _only_document(archive)
    version = document.versions[0]
    assert (
        document.title,
        document.index_no,
        document.publisher,
        document.pub_date,
        document.report_year,
    ) == (
        item.title,
        item.index_no,
        item.publisher,
        item.pub_date,
        item.report_year,
    )
    assert document.missing_fields == ["doc_no"]
    assert document.site.key == item.site_key
    assert document.last_run_id == run_id
    assert document.first_seen_at == document.last_seen_at == datetime(2024, 2, 1, 8, tzinfo=UTC)
    assert (version.written_date, version.doc_no, version.topic, version.encoding) == (
        item.written_date,
        None,
        item.topic,
        "utf-8",
    )
    assert version.attachments == item.attachments
    assert version.body_text == item.body_text
    assert version.first_run_id == version.last_run_id == run_id


@pytest.mark.parametrize(
    "cosmetic",
    [
        lambda body: body.replace("，", "，\u00a0"),
        lambda body: body.replace("\n", "\n\u3000\u3000\n"),
        lambda body: "浏览次数：1234\n" + body + "\n【打印本页】【关闭窗口】",
        lambda body: "  " + body.replace("388", " 388 ") + "  ",
    ],
)
def test_cosmetic_changes_are_unchanged(
    archive: Sessions, new_run, make_item: MakeItem, cosmetic
) -> None:
    run_id = new_run()
    item = make_item()
    _record(archive, run_id, item)
    assert (
        _record(archive, run_id, make_item(body_text=cosmetic(item.body_text)))
        is RecordOutcome.UNCHANGED
    )
    assert _counts(archive) == (1, 1)


def test_same_item_twice_in_one_transaction_and_run(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    run_id = new_run()
    with archive() as session, session.begin():
        assert record_report(session, run_id, make_item()) is RecordOutcome.NEW_DOCUMENT
        assert record_report(session, run_id, make_item()) is RecordOutcome.UNCHANGED
    assert _counts(archive) == (1, 1)


def test_revert_to_older_content_points_latest_back(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    run_id = new_run()
    original = make_item()
    edited = make_item(body_text=original.body_text + "\n四、其他需要报告的事项\n无。")
    assert _record(archive, run_id, original) is RecordOutcome.NEW_DOCUMENT
    assert _record(archive, run_id, edited) is RecordOutcome.NEW_VERSION
    assert _only_document(archive).latest_version.number == 2

    later_run = new_run()
    assert _record(archive, later_run, original) is RecordOutcome.UNCHANGED
    assert _counts(archive) == (1, 2)
    document = _only_document(archive)
    assert document.latest_version is not None
    assert document.latest_version.number == 1
    assert document.versions[0].last_run_id == later_run
    assert document.versions[0].last_seen_at >= document.versions[1].first_seen_at


def test_unchanged_refreshes_seen_times_and_metadata(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    first_run, second_run = new_run(), new_run()
    t0 = datetime(2024, 2, 1, tzinfo=UTC)
    _record(archive, first_run, make_item(fetched_at=t0))
    retitled = make_item(
        fetched_at=t0 + timedelta(days=30), title="新标题", index_no="NEW-1", pub_date="2024-01-16"
    )
    assert _record(archive, second_run, retitled) is RecordOutcome.UNCHANGED
    document = _only_document(archive)
    assert (document.title, document.index_no, document.pub_date) == (
        "新标题",
        "NEW-1",
        "2024-01-16",
    )
    assert document.first_seen_at == t0
    assert document.last_seen_at == t0 + timedelta(days=30)
    assert document.last_run_id == second_run
    version = document.versions[0]
    assert version.title == make_item().title  # a version keeps what it was first seen with
    assert version.first_run_id == first_run and version.last_run_id == second_run
    assert version.last_seen_at == t0 + timedelta(days=30)


def test_title_falls_back_to_the_link_text(archive: Sessions, new_run, make_item: MakeItem) -> None:
    _record(archive, new_run(), make_item(title=None, list_title="2023年年报"))
    assert _only_document(archive).title == "2023年年报"


def test_same_url_on_two_sites_is_two_documents(
    archive: Sessions, new_run, make_item: MakeItem, sites
) -> None:
    run_id = new_run()
    _record(archive, run_id, make_item())
    assert _record(archive, run_id, make_item(site_key=sites[1].key)) is RecordOutcome.NEW_DOCUMENT
    assert _counts(archive) == (2, 2)


def test_site_joining_after_the_run_started_gets_a_site_crawl(
    archive: Sessions, new_run, make_item: MakeItem, sites
) -> None:
    run_id = new_run((sites[1].key,))
    _record(archive, run_id, make_item())
    assert _site_crawl(archive, run_id, sites[0].key).reports_found == 1


def test_unknown_site_run_or_bad_date_is_a_storage_error(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    run_id = new_run()
    cases = [
        (run_id, make_item(site_key="nowhere"), "unknown site 'nowhere'"),
        (run_id + 100, make_item(), f"no crawl run with id {run_id + 100}"),
        (run_id, make_item(pub_date="2024年1月15日"), "pub_date must be YYYY-MM-DD"),
        (run_id, make_item(written_date="2024-02-30"), "written_date must be YYYY-MM-DD"),
    ]
    for run, item, message in cases:
        with pytest.raises(StorageError, match=message):
            _record(archive, run, item)
    assert _counts(archive) == (0, 0)


# --- concurrency ------------------------------------------------------------------------------


def test_threads_recording_the_same_new_item(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    run_id = new_run()
    workers = 8
    barrier = threading.Barrier(workers)
    outcomes: list[RecordOutcome] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            outcomes.append(_record(archive, run_id, make_item()))
        except BaseException as exc:  # collected and re-raised by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(outcomes) == sorted(
        [RecordOutcome.NEW_DOCUMENT] + [RecordOutcome.UNCHANGED] * (workers - 1)
    )
    assert _counts(archive) == (1, 1)
    crawl = _site_crawl(archive, run_id, make_item().site_key)
    assert (crawl.reports_found, crawl.new_documents, crawl.unchanged) == (workers, 1, workers - 1)


def test_threads_recording_different_bodies_get_distinct_numbers(
    archive: Sessions, new_run, make_item: MakeItem
) -> None:
    run_id = new_run()
    _record(archive, run_id, make_item())
    workers = 6
    barrier = threading.Barrier(workers)
    outcomes: list[RecordOutcome] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            outcomes.append(_record(archive, run_id, make_item(body_text=f"第{n}版正文")))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert outcomes == [RecordOutcome.NEW_VERSION] * workers
    document = _only_document(archive)
    assert [v.number for v in document.versions] == list(range(1, workers + 2))


_WORKER = """
import sys, time
from crawler.items import ReportItem
from storage import open_archive, record_report

url, run_id, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
Session = open_archive(url)
item = ReportItem(site_key=sys.argv[4], url="https://example.gov.cn/nb/2023.htm",
                  title="2023年政府信息公开工作年度报告", body_text="一、总体情况\\n正文。")
time.sleep(max(0.0, start - time.time()))
with Session() as session, session.begin():
    print(record_report(session, run_id, item).value)
"""


def test_processes_recording_the_same_new_item(
    archive: Sessions, database_url: str, new_run, sites
) -> None:
    run_id = new_run()
    start = time.time() + 3  # every process has opened the archive by then
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, database_url, str(run_id), str(start), sites[0].key],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, [err for _, err in results]
    outcomes = sorted(out.strip() for out, _ in results)
    assert outcomes == sorted(["new_document"] + ["unchanged"] * 3)
    assert _counts(archive) == (1, 1)


# --- failures, finishing ----------------------------------------------------------------------


def test_record_failure(archive: Sessions, new_run, sites) -> None:
    run_id = new_run()
    failure = PageFailureItem(
        site_key=sites[0].key, url="https://x.gov.cn/404.htm", reason="HTTP 404", http_status=404
    )
    with archive() as session, session.begin():
        record_failure(session, run_id, failure)
        record_failure(
            session,
            run_id,
            PageFailureItem(
                site_key=sites[1].key,
                url="https://y.gov.cn/",
                reason="timeout after 5s",
                page_kind="list",
            ),
        )
    with archive() as session:
        errors = run_errors(session, run_id)
    assert [(e.site.key, e.url, e.page_kind, e.reason, e.http_status) for e in errors] == [
        (sites[0].key, "https://x.gov.cn/404.htm", "report", "HTTP 404", 404),
        (sites[1].key, "https://y.gov.cn/", "list", "timeout after 5s", None),
    ]
    assert errors[0].created_at.tzinfo is not None
    assert _site_crawl(archive, run_id, sites[0].key).failures == 1

    with pytest.raises(StorageError, match="page_kind"), archive() as session, session.begin():
        record_failure(
            session,
            run_id,
            PageFailureItem(site_key=sites[0].key, url="u", reason="r", page_kind="pdf"),
        )
    with pytest.raises(StorageError, match="unknown site"), archive() as session, session.begin():
        record_failure(session, run_id, PageFailureItem(site_key="nowhere", url="u", reason="r"))


def test_finish_run_sums_counters_and_fails_when_a_site_failed(
    archive: Sessions, new_run, make_item: MakeItem, sites
) -> None:
    site_a, site_b = sites
    run_id = new_run()
    _record(archive, run_id, make_item())
    _record(archive, run_id, make_item(url="https://www.putian.gov.cn/b.htm", index_no="003519001/2024-00099"))
    _record(archive, run_id, make_item())
    with archive() as session, session.begin():
        record_failure(
            session,
            run_id,
            PageFailureItem(
                site_key=site_b.key, url="https://y/", reason="DNS lookup failed", page_kind="list"
            ),
        )
        crawl = finish_site_crawl(
            session, run_id, site_a.key, pages=5, finish_reason="finished", failed=False
        )
        assert (crawl.status, crawl.pages, crawl.finish_reason) == ("ok", 5, "finished")
        assert crawl.finished_at is not None
        finish_site_crawl(
            session, run_id, site_b.key, pages=1, finish_reason="finished", failed=True
        )
        run = finish_run(session, run_id)
    assert run.status == "failed"
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert (
        run.pages,
        run.reports_found,
        run.new_documents,
        run.new_versions,
        run.unchanged,
        run.failures,
    ) == (6, 3, 2, 0, 1, 1)
    with archive() as session:
        again = get_run(session, run_id)
        assert again is not None and again.status == "failed" and again.reports_found == 3
        summary = run_summary(session, run_id)
    # loaded eagerly: usable after the session closed
    assert [(c.site.key, c.status) for c in summary] == sorted(
        [(site_a.key, "ok"), (site_b.key, "failed")]
    )


def test_finish_run_all_ok_is_finished(archive: Sessions, new_run, sites) -> None:
    run_id = new_run()
    with archive() as session, session.begin():
        for site in sites:
            finish_site_crawl(
                session, run_id, site.key, pages=2, finish_reason="finished", failed=False
            )
        run = finish_run(session, run_id)
    assert (run.status, run.pages) == ("finished", 4)


def test_finish_run_interrupted_closes_running_site_crawls(
    archive: Sessions, new_run, sites
) -> None:
    run_id = new_run()
    with archive() as session, session.begin():
        finish_site_crawl(
            session, run_id, sites[0].key, pages=2, finish_reason="finished", failed=False
        )
        run = finish_run(session, run_id, interrupted=True)
    assert run.status == "interrupted"
    crawl = _site_crawl(archive, run_id, sites[1].key)
    # Not "failed": a crawl a signal cut short is no evidence about its site.
    assert (crawl.status, crawl.finish_reason) == ("interrupted", "interrupted")
    assert crawl.finished_at is not None


def test_finish_unknown_run_or_site_is_a_storage_error(archive: Sessions, new_run, sites) -> None:
    run_id = new_run()
    with pytest.raises(StorageError, match="no crawl run"), archive() as session, session.begin():
        finish_run(session, run_id + 1)
    with pytest.raises(StorageError, match="unknown site"), archive() as session, session.begin():
        finish_site_crawl(session, run_id, "nowhere", pages=0, finish_reason="x", failed=True)


# --- reads ------------------------------------------------------------------------------------


def test_list_and_get_documents(archive: Sessions, new_run, make_item: MakeItem, sites) -> None:
    run_id = new_run()
    _record(
        archive,
        run_id,
        make_item(url="https://a/2022.htm", pub_date="2023-01-20", report_year=2022, index_no="A-2022"),
    )
    _record(
        archive,
        run_id,
        make_item(url="https://a/2023.htm", pub_date="2024-01-15", body_text="2023正文", index_no="A-2023"),
    )
    _record(
        archive, run_id, make_item(url="https://a/nodate.htm", pub_date=None, body_text="无日期", index_no="A-0")
    )
    _record(
        archive,
        run_id,
        make_item(site_key=sites[1].key, url="https://b/1.htm", pub_date="2022-03-01"),
    )
    with archive() as session:
        everything = list_documents(session)
        of_a = list_documents(session, site_key=sites[0].key)
        limited = list_documents(session, limit=2)
        none = list_documents(session, site_key="nowhere")
        missing = get_document(session, 987654)
    assert [d.url for d in of_a] == [
        "https://a/2023.htm",
        "https://a/2022.htm",
        "https://a/nodate.htm",
    ]
    assert len(everything) == 4 and everything[-1].pub_date is None
    assert [d.url for d in limited] == ["https://a/2023.htm", "https://a/2022.htm"]
    assert none == [] and missing is None
    assert {d.site.key for d in everything} == {s.key for s in sites}
    with pytest.raises(ValueError), archive() as session:
        list_documents(session, limit=0)


def test_version_counts_counts_per_document_in_one_query(archive, sites, new_run, make_item) -> None:
    from storage import archive as archive_api

    run_id = new_run()
    with archive() as session, session.begin():
        record_report(session, run_id, make_item())
        record_report(session, run_id, make_item(body_text="一、总体情况\n内容已更正。"))
        record_report(session, run_id, make_item(url="https://www.putian.gov.cn/zwgk/zfxxgknb/t2.htm", index_no="T-2"))
    with archive() as session:
        documents = {doc.url: doc.id for doc in list_documents(session)}
        counts = archive_api.version_counts(session, list(documents.values()))
        assert counts == {documents[make_item().url]: 2, documents["https://www.putian.gov.cn/zwgk/zfxxgknb/t2.htm"]: 1}
        assert archive_api.version_counts(session, []) == {}
