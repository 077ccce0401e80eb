"""Shared fixtures: the real-page corpus, and the database backends the suite runs against.

PostgreSQL tests run when ``NIANBAO_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it when the
server answers). Under ``CI=true`` a test that asks for PostgreSQL fails instead of skipping
when the variable is missing, so CI can never pass by silently testing less.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("NIANBAO_SHARED_DIR", REPO_ROOT.parent / "shared"))
CORPUS_DEV = SHARED_DIR / "corpus" / "dev"
CORPUS_ATTACHMENTS = SHARED_DIR / "corpus" / "attachments"

POSTGRES_URL_ENV = "NIANBAO_TEST_POSTGRES_URL"
REDIS_URL_ENV = "NIANBAO_TEST_REDIS_URL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def service_url(env_name: str, what: str) -> str:
    """The URL of an external test service, or skip (fail under CI) when it is not configured."""
    url = os.environ.get(env_name)
    if not url:
        message = f"{what} tests need {env_name}"
        if _in_ci():
            pytest.fail(f"{message} (required under CI=true)")
        pytest.skip(message)
    return url


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read English messages: nianbao speaks Chinese by default (``NIANBAO_LANG`` unset),
    and the suite's assertions on CLI output and alert texts are written against the English
    message ids. ``monkeypatch.setenv`` writes ``os.environ``, so ``nianbao`` child processes a
    test starts speak English too. A test of the Chinese default calls
    ``monkeypatch.delenv("NIANBAO_LANG")`` itself."""
    monkeypatch.setenv("NIANBAO_LANG", "en")


@pytest.fixture(scope="session")
def corpus_dev() -> Path:
    """``../shared/corpus/dev`` (the real saved bureau pages); skip when absent."""
    if not (CORPUS_DEV / "MANIFEST.tsv").is_file():
        pytest.skip(f"real-page corpus not found at {CORPUS_DEV}")
    return CORPUS_DEV


@pytest.fixture(scope="session")
def corpus_attachments() -> Path:
    """``../shared/corpus/attachments`` (real report attachments, e.g. szfgs2024.pdf); skip when
    absent. Read them in place: never copy them into the project."""
    if not (CORPUS_ATTACHMENTS / "szfgs2024.pdf").is_file():
        pytest.skip(f"real attachments not found at {CORPUS_ATTACHMENTS}")
    return CORPUS_ATTACHMENTS


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return service_url(POSTGRES_URL_ENV, "PostgreSQL")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty archive database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    url = service_url(POSTGRES_URL_ENV, "PostgreSQL")
    reset_postgres(url)
    return url


def reset_postgres(url: str) -> None:
    """Drop every table so each test starts from an empty schema."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
