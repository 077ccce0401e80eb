"""Whole crawls of the demo site over loopback, asserting on the archive database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from crawler.demo.site import DEMO_SITE_KEYS
from storage.db import open_archive
from storage.models import CrawlError, CrawlRun, Document, SiteCrawl, Version
from tests.crawler.harness import FAST_CRAWL, run_nianbao


def crawl(demo, database_url: str, cwd: Path, *site_keys: str):
    return run_nianbao("--db", database_url, "--sites", str(demo.sites_file), "crawl", "-q", *FAST_CRAWL, *site_keys, cwd=cwd)


def test_demo_crawl_archives_every_report_once_with_its_metadata(demo, tmp_path, database_url):
    result = crawl(demo, database_url, tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout

    sessions = open_archive(database_url)
    with sessions() as session:
        documents = {d.url: d for d in session.scalars(select(Document))}
        expected = {demo.url(r.path): r for r in demo.site.expected_reports}
        assert set(documents) == set(expected)
        for url, report in expected.items():
            doc = documents[url]
            assert (doc.title, doc.report_year, doc.pub_date, doc.publisher, doc.index_no) == (
                report.title,
                report.report_year,
                report.pub_date,
                report.publisher,
                report.index_no,
            ), url
            latest = session.get(Version, doc.latest_version_id)
            assert latest.body_text.strip()
            assert latest.doc_no == report.doc_no
            assert latest.attachments == [demo.url(p) for p in report.attachments]
        assert session.scalar(select(func.count()).select_from(Version)) == len(expected)

        run = session.scalars(select(CrawlRun)).one()
        assert run.status == "finished" and run.finished_at is not None
        assert run.new_documents == len(expected)
        errors = {e.url: e for e in session.scalars(select(CrawlError))}
        for failure in demo.site.expected_failures:
            error = errors[demo.url(failure.path)]
            if failure.kind == "http-404":
                assert error.reason == "HTTP 404" and error.http_status == 404
            else:
                assert error.reason.startswith("timeout")
        site_crawls = session.scalars(select(SiteCrawl)).all()
        assert {sc.status for sc in site_crawls} == {"ok"}
        assert sum(sc.reports_found for sc in site_crawls) == len(expected)
    assert "Crawl run 1: finished" in result.stdout
    # Scrapy's remote-control server (it runs Python code sent to it over HTTP) never starts in
    # a process that holds the archive; the log says when it does.
    log = (tmp_path / "nianbao-data" / "logs" / "crawl.log").read_text(encoding="utf-8")
    assert "Spider opened" in log and "Remote control" not in log


def test_recrawl_adds_nothing_and_one_changed_page_adds_exactly_one_version(demo, tmp_path, database_url):
    first = crawl(demo, database_url, tmp_path)
    assert first.returncode == 0, first.stderr + first.stdout
    sessions = open_archive(database_url)
    with sessions() as session:
        documents_before = session.scalar(select(func.count()).select_from(Document))
        versions_before = session.scalar(select(func.count()).select_from(Version))

    second = crawl(demo, database_url, tmp_path)
    assert second.returncode == 0, second.stderr
    with sessions() as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert (run.new_documents, run.new_versions) == (0, 0)
        assert run.unchanged == documents_before
        assert session.scalar(select(func.count()).select_from(Document)) == documents_before
        assert session.scalar(select(func.count()).select_from(Version)) == versions_before

    report = next(r for r in demo.site.expected_reports if r.site_key == "demo-tjj")
    page = demo.site.pages[report.path]
    marker = b'<div class="Custom_UnionStyle">'
    edited = page.body.replace(marker, marker + "<p>更正说明：本报告数据已更正。</p>".encode(), 1)
    assert edited != page.body
    demo.server.replace_page(report.path, edited)

    # Known report pages are re-checked once per revalidation window (crawler/capture/policy.py):
    # crawl as on a night a whole window later, when the edited page is due again.
    later = (datetime.now(UTC) + timedelta(days=8)).isoformat()
    third = crawl(demo, database_url, tmp_path, "-s", f"NIANBAO_NOW={later}")
    assert third.returncode == 0, third.stderr
    with sessions() as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert (run.new_documents, run.new_versions) == (0, 1)
        assert session.scalar(select(func.count()).select_from(Version)) == versions_before + 1
        doc = session.scalars(select(Document).where(Document.url == demo.url(report.path))).one()
        numbers = sorted(v.number for v in session.scalars(select(Version).where(Version.document_id == doc.id)))
        assert numbers == [1, 2]
        assert "更正说明：本报告数据已更正。" in session.get(Version, doc.latest_version_id).body_text


def test_unreachable_site_fails_with_status_1_and_others_still_archive(demo, tmp_path, database_url):
    sites_text = demo.sites_file.read_text(encoding="utf-8") + """
[[sites]]
key = "down"
name = "宕机局"
region = "示范市"
level = "department"
family = "generic"
list_urls = ["http://127.0.0.1:9/xxgk/ndbg/index.html"]
"""
    demo.sites_file.write_text(sites_text, encoding="utf-8")
    result = crawl(demo, database_url, tmp_path, "down", "demo-xian")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["Error: crawl run 1: site(s) failed: down"]
    sessions = open_archive(database_url)
    with sessions() as session:
        statuses = {sc.site.key: sc.status for sc in session.scalars(select(SiteCrawl))}
        assert statuses == {"down": "failed", "demo-xian": "ok"}
        error = session.scalars(select(CrawlError).where(CrawlError.page_kind == "list")).one()
        assert error.reason == "connection refused"
        assert session.scalar(select(func.count()).select_from(Document)) == sum(
            1 for r in demo.site.expected_reports if r.site_key == "demo-xian"
        )
        assert session.scalars(select(CrawlRun)).one().status == "failed"


def test_every_demo_site_key_is_configured(demo):
    text = demo.sites_file.read_text(encoding="utf-8")
    for key in DEMO_SITE_KEYS:
        assert f'key = "{key}"' in text


def test_page_budget_stops_a_site_early_and_robots_txt_is_read(demo, tmp_path, database_url):
    text = demo.sites_file.read_text(encoding="utf-8")
    text = text.replace('key = "demo-xian"', 'key = "demo-xian"\nmax_pages = 3', 1)
    demo.sites_file.write_text(text, encoding="utf-8")
    result = crawl(demo, database_url, tmp_path, "demo-xian")
    assert result.returncode == 0, result.stderr
    sessions = open_archive(database_url)
    with sessions() as session:
        site_crawl = session.scalars(select(SiteCrawl)).one()
        assert site_crawl.finish_reason == "closespider_pagecount"
        archived = session.scalar(select(func.count()).select_from(Document))
        assert 0 < archived < sum(1 for r in demo.site.expected_reports if r.site_key == "demo-xian")
    assert demo.server.request_counts["/robots.txt"] >= 1


def test_two_crawls_of_different_sites_at_once_neither_deadlock_nor_duplicate(demo, tmp_path, database_url):
    open_archive(database_url).kw["bind"].dispose()  # migrate once, before the race
    env = {**os.environ, "NIANBAO_DATA_DIR": str(tmp_path / "nianbao-data")}
    commands = [
        [sys.executable, "-m", "crawler", "--db", database_url, "--sites", str(demo.sites_file), "crawl", "-q", *FAST_CRAWL, key]
        for key in ("demo-tjj", "demo-xian")
    ]
    processes = [
        subprocess.Popen(c, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in outputs]
    sessions = open_archive(database_url)
    with sessions() as session:
        expected = sorted(demo.url(r.path) for r in demo.site.expected_reports if r.site_key in ("demo-tjj", "demo-xian"))
        assert sorted(session.scalars(select(Document.url))) == expected
        assert session.scalar(select(func.count()).select_from(Version)) == len(expected)
        assert {run.status for run in session.scalars(select(CrawlRun))} == {"finished"}


def test_components_switched_off_are_never_even_imported():
    """Scrapy imports an extension or middleware before asking whether it is enabled; the ones
    nianbao switches off are left out of its lists, so their modules (remote control brings
    aiohttp, the cookies middleware tldextract: 0.2 s of every crawl process's start-up, see
    BENCHMARKS.md) are not loaded. Nor are what only some crawls need: the Redis client and
    scrapy-redis (distributed crawls), Alembic (an archive that needs migrating). A crawler is
    built and its engine made, in a fresh interpreter."""
    program = """
import sys
from scrapy.crawler import Crawler
from scrapy.settings import Settings
import crawler.settings as nianbao
from spiders.annual_reports import AnnualReportSpider
settings = Settings()
settings.setmodule(nianbao, priority="project")
crawler = Crawler(AnnualReportSpider, settings, init_reactor=True)
crawler._apply_settings()
crawler.engine = crawler._create_engine()
loaded = [name for name in ("scrapy.extensions.remote_control", "scrapy.extensions.telnet",
                            "scrapy.downloadermiddlewares.cookies", "aiohttp", "tldextract",
                            "redis", "scrapy_redis", "alembic")
          if name in sys.modules]
middlewares = [type(m).__name__ for m in crawler.engine.downloader.middleware.middlewares]
print(loaded, "RetryMiddleware" in middlewares, "OutgoingRequestGuard" in middlewares)
"""
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == "[] True True"
