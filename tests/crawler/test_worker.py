"""Distributed crawls: workers sharing Redis queues and one PostgreSQL archive."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from storage.db import open_archive
from storage.models import CrawlRun, Document, Version
from tests.conftest import POSTGRES_URL_ENV, REDIS_URL_ENV, reset_postgres, service_url
from tests.crawler.harness import FAST_CRAWL, run_nianbao


@pytest.fixture
def shared(tmp_path):
    """An empty PostgreSQL archive and an empty Redis database."""
    import redis

    database_url = service_url(POSTGRES_URL_ENV, "PostgreSQL")
    redis_url = service_url(REDIS_URL_ENV, "Redis")
    reset_postgres(database_url)
    redis.Redis.from_url(redis_url).flushdb()
    return database_url, redis_url


def start_worker(demo, database_url, redis_url, cwd, *extra):
    env = {**os.environ, "NIANBAO_DATA_DIR": str(cwd / "nianbao-data")}
    return subprocess.Popen(
        [
            sys.executable, "-m", "crawler", "--db", database_url, "--sites", str(demo.sites_file),
            "worker", "--redis", redis_url, *FAST_CRAWL, *extra,
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def enqueue(demo, database_url, redis_url, cwd, night):
    result = run_nianbao(
        "--db", database_url, "--sites", str(demo.sites_file),
        "crawl", "--distributed", "--redis", redis_url, "--night", night, cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    assert f"enqueued for night {night}" in result.stdout


def archived(database_url):
    sessions = open_archive(database_url)
    with sessions() as session:
        documents = session.scalars(select(Document.url)).all()
        versions = session.scalar(select(func.count()).select_from(Version))
        runs = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
    sessions.kw["bind"].dispose()
    return documents, versions, runs


def test_two_workers_fetch_every_page_once_and_store_every_report_once(demo, tmp_path, shared):
    database_url, redis_url = shared
    enqueue(demo, database_url, redis_url, tmp_path, "2026-01-01")
    workers = [start_worker(demo, database_url, redis_url, tmp_path) for _ in range(2)]
    outputs = [w.communicate(timeout=180) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]

    documents, versions, runs = archived(database_url)
    expected = sorted(demo.url(r.path) for r in demo.site.expected_reports)
    assert sorted(documents) == expected
    assert versions == len(expected)
    (run,) = runs
    assert run.status == "finished" and run.new_documents == len(expected)

    pages = Counter({path: n for path, n in demo.server.request_counts.items() if path != "/robots.txt"})
    assert pages and max(pages.values()) == 1, [p for p, n in pages.items() if n > 1]
    for report in demo.site.expected_reports:
        assert pages[report.path] == 1


def test_a_killed_worker_is_made_good_by_the_next_night_without_duplicates(demo, tmp_path, shared):
    database_url, redis_url = shared
    enqueue(demo, database_url, redis_url, tmp_path, "2026-01-01")
    victim = start_worker(
        demo, database_url, redis_url, tmp_path, "-s", "DOWNLOAD_DELAY=0.3", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(archived(database_url)[0]) < 3:
        time.sleep(0.2)
    victim.kill()
    victim.communicate(timeout=30)
    partial, _, _ = archived(database_url)
    assert 0 < len(partial) < len(demo.site.expected_reports)

    enqueue(demo, database_url, redis_url, tmp_path, "2026-01-02")
    rerun = start_worker(demo, database_url, redis_url, tmp_path)
    _, err = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, err

    documents, versions, runs = archived(database_url)
    assert sorted(documents) == sorted(demo.url(r.path) for r in demo.site.expected_reports)
    assert versions == len(documents)
    assert runs[-1].status == "finished"


def test_worker_without_redis_is_one_clear_error(demo, tmp_path):
    result = run_nianbao("--sites", str(demo.sites_file), "worker", "--redis", "redis://127.0.0.1:9/0", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("Error: Redis at redis://127.0.0.1:9/0 is not reachable")
