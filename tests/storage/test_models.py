"""The models on a migrated database: relationships, constraints and value round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crawler.config import SiteConfig
from storage.models import CrawlRun, Document, Site, SiteCrawl, Version

SHANGHAI = timezone(timedelta(hours=8))


def _site(config: SiteConfig) -> Site:
    return Site(
        key=config.key,
        name=config.name,
        region=config.region,
        level=config.level,
        family=config.family,
        list_urls=list(config.list_urls),
        config=config.as_dict(),
    )


def _version(document: Document, number: int, body: str) -> Version:
    return Version(document=document, number=number, content_hash=f"{number:064x}", body_text=body)


def test_document_versions_and_latest_version_round_trip(
    archive: sessionmaker[Session], site_configs: tuple[SiteConfig, SiteConfig]
) -> None:
    with archive() as session, session.begin():
        site = _site(site_configs[0])
        document = Document(
            site=site, url="https://example.gov.cn/a.htm", title="年度报告", pub_date="2024-01-15"
        )
        second = _version(document, 2, "第二版")
        first = _version(document, 1, "第一版")
        session.add_all([site, document, second, first])
        session.flush()
        document.latest_version = second  # documents <-> versions reference each other
        document_id = document.id

    with archive() as session:
        document = session.get(Document, document_id)
        assert document is not None
        assert [v.number for v in document.versions] == [1, 2]
        assert document.latest_version is not None and document.latest_version.body_text == "第二版"
        assert document.site.key == site_configs[0].key
        assert document.site.config == site_configs[0].as_dict()
        assert document.site.list_urls == list(site_configs[0].list_urls)
        assert document.pub_date == "2024-01-15"
        assert document.missing_fields == []


def test_timestamps_come_back_as_aware_utc(
    archive: sessionmaker[Session],
) -> None:
    started = datetime(2025, 3, 10, 2, 30, 15, 123456, tzinfo=SHANGHAI)
    naive = datetime(2025, 3, 10, 4, 0, 0)
    with archive() as session, session.begin():
        run = CrawlRun(started_at=started, finished_at=naive, site_keys=["a", "乙"])
        session.add(run)
        session.flush()
        run_id = run.id
    with archive() as session:
        run = session.scalars(select(CrawlRun).where(CrawlRun.id == run_id)).one()
        assert run.started_at == started
        assert run.started_at.tzinfo is not None and run.started_at.utcoffset() == timedelta(0)
        assert run.started_at == datetime(2025, 3, 9, 18, 30, 15, 123456, tzinfo=UTC)
        assert run.finished_at == naive.replace(tzinfo=UTC)  # naive is taken as UTC
        assert run.site_keys == ["a", "乙"]
        assert run.status == "running"
        assert run.pages == run.failures == 0


def test_default_timestamps_are_utc_now(
    archive: sessionmaker[Session], site_configs: tuple[SiteConfig, SiteConfig]
) -> None:
    before = datetime.now(UTC)
    with archive() as session, session.begin():
        session.add(_site(site_configs[0]))
    with archive() as session:
        site = session.scalars(select(Site)).one()
        assert site.created_at.tzinfo is not None
        assert before - timedelta(seconds=1) <= site.created_at <= datetime.now(UTC)


def test_site_key_is_unique(
    archive: sessionmaker[Session], site_configs: tuple[SiteConfig, SiteConfig]
) -> None:
    with archive() as session, session.begin():
        session.add(_site(site_configs[0]))
    with pytest.raises(IntegrityError), archive() as session, session.begin():
        session.add(_site(site_configs[0]))


def test_document_url_is_unique_per_site(
    archive: sessionmaker[Session], site_configs: tuple[SiteConfig, SiteConfig]
) -> None:
    url = "https://example.gov.cn/a.htm"
    with archive() as session, session.begin():
        a, b = _site(site_configs[0]), _site(site_configs[1])
        session.add_all([Document(site=a, url=url), Document(site=b, url=url)])  # other site: fine
    with pytest.raises(IntegrityError), archive() as session, session.begin():
        site = session.scalars(select(Site).where(Site.key == site_configs[0].key)).one()
        session.add(Document(site=site, url=url))


@pytest.mark.parametrize("clash", ["content_hash", "number"])
def test_version_hash_and_number_are_unique_per_document(
    archive: sessionmaker[Session], site_configs: tuple[SiteConfig, SiteConfig], clash: str
) -> None:
    with archive() as session, session.begin():
        document = Document(site=_site(site_configs[0]), url="https://example.gov.cn/a.htm")
        session.add(_version(document, 1, "正文"))
        session.flush()
        document_id = document.id
    with pytest.raises(IntegrityError), archive() as session, session.begin():
        document = session.get(Document, document_id)
        assert document is not None
        existing = getattr(document.versions[0], clash)
        version = Version(
            document_id=document_id, number=2, content_hash=f"{2:064x}", body_text="另一版"
        )
        setattr(version, clash, existing)
        session.add(version)


def test_foreign_keys_are_enforced(archive: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), archive() as session, session.begin():
        session.add(Document(site_id=4242, url="https://example.gov.cn/orphan.htm"))


def test_status_values_are_checked(
    archive: sessionmaker[Session], site_configs: tuple[SiteConfig, SiteConfig]
) -> None:
    with pytest.raises(IntegrityError), archive() as session, session.begin():
        session.add(CrawlRun(status="exploded"))
    with pytest.raises(IntegrityError), archive() as session, session.begin():
        session.add(SiteCrawl(run=CrawlRun(), site=_site(site_configs[0]), status="maybe"))


def test_deleting_a_document_deletes_its_versions(
    archive: sessionmaker[Session], site_configs: tuple[SiteConfig, SiteConfig]
) -> None:
    with archive() as session, session.begin():
        document = Document(site=_site(site_configs[0]), url="https://example.gov.cn/a.htm")
        version = _version(document, 1, "正文")
        session.add(version)
        session.flush()
        document.latest_version = version
    with archive() as session, session.begin():
        session.delete(session.scalars(select(Document)).one())
    with archive() as session:
        assert session.scalars(select(Version)).all() == []
        assert len(session.scalars(select(Site)).all()) == 1
