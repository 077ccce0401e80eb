"""Moving an archive between SQLite and PostgreSQL: nothing lost, references intact, verified."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crawler.errors import StorageError
from crawler.items import PageFailureItem
from storage import archive as archive_api
from storage import open_archive
from storage.models import Document, Version
from storage.search import search
from storage.transfer import copy_archive, table_digest
from tests.conftest import reset_postgres
from tests.crawler.harness import run_nianbao
from tests.storage.conftest import SITE_A, SITE_B


def fill(Session, make_item):
    """An archive with two sites, a document with two versions, a failure and finished runs."""
    with Session() as session, session.begin():
        archive_api.sync_site(session, SITE_A)
        archive_api.sync_site(session, SITE_B)
        run_id = archive_api.start_run(session, [SITE_A.key, SITE_B.key]).id
    with Session() as session, session.begin():
        archive_api.record_report(session, run_id, make_item())
        archive_api.record_report(session, run_id, make_item(
            url="https://www.putian.gov.cn/zwgk/zfxxgknb/t2.htm", title="莆田市统计局2022年政府信息公开工作年度报告",
            index_no="003519001/2023-00007", report_year=2022,
        ))
        archive_api.record_failure(session, run_id, PageFailureItem(
            site_key=SITE_A.key, url="https://www.putian.gov.cn/gone.htm", reason="HTTP 404", http_status=404,
        ))
        archive_api.finish_site_crawl(session, run_id, SITE_A.key, pages=3, finish_reason="finished", failed=False)
        archive_api.finish_run(session, run_id)
        second = archive_api.start_run(session, [SITE_A.key]).id
    with Session() as session, session.begin():
        archive_api.record_report(session, second, make_item(body_text="一、总体情况\n内容已更正。"))
        archive_api.finish_run(session, second)


def test_sqlite_to_postgresql_and_back_loses_nothing(tmp_path, postgres_url, make_item):
    source_url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    Source = open_archive(source_url)
    fill(Source, make_item)
    Source.kw["bind"].dispose()
    reset_postgres(postgres_url)

    report = copy_archive(source_url, postgres_url)
    rows = {t.name: t.rows for t in report}
    assert rows["documents"] == 2 and rows["versions"] == 3 and rows["crawl_errors"] == 1
    assert rows["search_entries"] == 3  # rebuilt in PostgreSQL's own form, one per version

    Target = open_archive(postgres_url)
    try:
        with Target() as session:
            doc = session.scalars(select(Document).where(Document.url == make_item().url)).one()
            latest = session.get(Version, doc.latest_version_id)
            assert latest.number == 2 and "内容已更正" in latest.body_text
            # The copy is searchable, latest versions only unless the history is asked for.
            assert [hit.version_id for hit in search(session, "内容已更正").hits] == [latest.id]
            assert len(search(session, "年度报告", all_versions=True).hits) == 3
        # Sequences moved past the copied ids: new rows get fresh ids.
        with Target() as session, session.begin():
            run_id = archive_api.start_run(session, [SITE_B.key]).id
            archive_api.record_report(session, run_id, make_item(
                url="https://www.putian.gov.cn/zwgk/zfxxgknb/t3.htm", index_no="003519001/2025-00001", report_year=2024,
            ))
        with Target() as session:
            assert session.scalar(select(func.count()).select_from(Document)) == 3
    finally:
        Target.kw["bind"].dispose()

    back_url = f"sqlite:///{tmp_path / 'back.sqlite3'}"
    back = copy_archive(postgres_url, back_url)
    assert {t.name: t.rows for t in back}["documents"] == 3
    Back = open_archive(back_url)
    try:
        with Back() as session:
            assert len(search(session, "内容已更正").hits) == 1
            assert len(search(session, "年度报告").hits) == 3
    finally:
        Back.kw["bind"].dispose()


def test_target_with_rows_is_refused_and_left_alone(tmp_path, make_item, database_url):
    source_url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    for url in (source_url, database_url):
        Session = open_archive(url)
        fill(Session, make_item)
        Session.kw["bind"].dispose()
    Target = open_archive(database_url)
    engine = Target.kw["bind"]
    try:
        before = table_digest(engine, Document.__table__)
        with pytest.raises(StorageError, match="target archive is not empty"):
            copy_archive(source_url, database_url)
        assert table_digest(engine, Document.__table__) == before
    finally:
        engine.dispose()


def test_db_commands_through_the_cli(tmp_path, make_item, database_url):
    migrated = run_nianbao("--db", database_url, "db", "migrate", cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "schema upgraded from revision (empty)" in migrated.stdout
    again = run_nianbao("--db", database_url, "db", "migrate", cwd=tmp_path)
    assert again.returncode == 0 and "schema already at revision" in again.stdout
    source_url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    Session = open_archive(source_url)
    fill(Session, make_item)
    Session.kw["bind"].dispose()
    copied = run_nianbao("db", "copy", "--from", source_url, "--to", database_url, cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert "counts and digests verified" in copied.stdout
    refused = run_nianbao("db", "copy", "--from", source_url, "--to", database_url, cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().startswith("Error: target archive is not empty")
