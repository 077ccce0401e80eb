"""The web app: pages and API on a hostile archive, security headers, read-only, limits."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from tests.web.conftest import JS_URL, HostileArchive
from web.app import CSP, create_app
from web.db import is_timeout, open_read_only
from web.settings import WebSettings


def pages(hostile: HostileArchive) -> list[str]:
    rid = hostile.report_id
    return [
        "/", "/search?q=复议", "/search?q=script", f"/reports/{rid}", f"/reports/{rid}?version=1",
        f"/reports/{rid}/diff", f"/reports/{rid}/diff?old=1&new=2", "/coverage", "/stats", "/health",
    ]


def assert_inert(html: str) -> None:
    """No markup from the archive survived: every planted tag and handler is escaped text."""
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "<svg onload" not in html.lower()
    assert not re.search(r"<[^>]+\son\w+\s*=", html), "an event handler attribute in a tag"
    assert 'href="javascript:' not in html.lower()


def test_every_page_renders_hostile_content_as_text(client: TestClient, hostile: HostileArchive):
    for path in pages(hostile):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert_inert(response.text)
    report = client.get(f"/reports/{hostile.report_id}").text
    assert "&lt;script&gt;window.__pwned = 1;" in report  # shown, escaped
    assert "onerror=" in report and "&lt;img src=x onerror=" in report
    assert JS_URL in report and f'href="{JS_URL}' not in report  # the address is text, not a link
    health = client.get("/health").text
    assert "HTTP 404 &lt;script&gt;" in health


def test_csp_allows_no_script_anywhere():
    directives = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives  # falls back to default-src 'none'


def test_search_page_finds_a_two_character_word_with_snippet(client: TestClient, hostile: HostileArchive):
    html = client.get("/search?q=复议").text
    assert f'href="/reports/{hostile.report_id}"' in html
    assert "<mark>复议</mark>" in html
    assert client.get("/search?q=不存在的词语").text.count('class="hit"') == 0
    filtered = client.get("/search", params={"q": "公开", "site": "calm-gov"}).text
    assert f'href="/reports/{hostile.calm_id}"' in filtered and f'href="/reports/{hostile.report_id}"' not in filtered


def test_api_covers_what_the_pages_show(client: TestClient, hostile: HostileArchive):
    spec = client.get("/openapi.json").json()
    for path in ("/api/search", "/api/reports/{document_id}", "/api/reports/{document_id}/diff", "/api/coverage",
                 "/api/stats", "/api/health", "/search.csv", "/stats.csv", "/attachments/{attachment_id}",
                 "/reports/{document_id}/raw"):
        assert path in spec["paths"], path
    found = client.get("/api/search", params={"q": "复议", "per_page": 5}).json()
    assert [hit["id"] for hit in found["hits"]] == [hostile.report_id]
    assert any(part["hit"] and part["text"] == "复议" for part in found["hits"][0]["snippet"])
    report = client.get(f"/api/reports/{hostile.report_id}").json()
    assert [v["number"] for v in report["versions"]] == [1, 2] and report["version"] == 2
    assert "<script>" in report["body_text"]  # JSON carries the text as data
    diff = client.get(f"/api/reports/{hostile.report_id}/diff").json()
    assert diff["changed"] and (diff["old"], diff["new"]) == (1, 2)
    assert any(row["kind"] == "replace" and "12件" in row["new_text"] for row in diff["rows"])
    assert client.get("/api/reports/999999").status_code == 404
    assert client.get(f"/api/reports/{hostile.report_id}/diff", params={"old": 1}).status_code == 422
    health = client.get("/api/health").json()
    assert {s["site"] for s in health["sites"]} == {"evil-gov", "calm-gov"}


def test_statistics_chart_and_downloads(client: TestClient, hostile: HostileArchive):
    stats = client.get("/api/stats").json()
    if not stats["rows"]:
        pytest.skip("this archive has no versions.tables column (extraction migration not present)")
    assert stats["series"] == {"evil-gov": {"2023": 12}}
    html = client.get("/stats").text
    assert '<svg class="chart"' in html and "<rect" in html
    csv_text = client.get("/stats.csv").text
    assert csv_text.splitlines()[0].startswith("site,site_name,region,level,report_year")
    assert "evil-gov" in csv_text and ",new_requests,10,2,0,0,0,0,12" in csv_text
    download = client.get("/search.csv", params={"q": "公开"})
    assert download.headers["content-disposition"].startswith("attachment")
    assert len(download.text.strip().splitlines()) == 3  # header + two reports
    lines = client.get("/search.jsonl", params={"q": "公开"}).text.strip().splitlines()
    assert len(lines) == 2


def test_coverage_grid_shows_statuses(client: TestClient, hostile: HostileArchive):
    coverage = client.get("/api/coverage", params={"as_of": "2024-06-01"}).json()
    if not coverage["available"]:
        pytest.skip("alerts.coverage is not installed")
    assert {c["site_key"] for c in coverage["cells"]} == {"evil-gov", "calm-gov"}
    html = client.get("/coverage", params={"as_of": "2024-06-01"}).text
    assert 'class="cell-' in html and "2023" in html


def test_downloads_are_attachments_never_inline(client: TestClient, hostile: HostileArchive, tmp_path, monkeypatch):
    try:
        from crawler.attachments.store import store_attachment
        from storage.models import Attachment
    except ImportError:
        pytest.skip("attachments are not stored by this version")
    content = b"<html><script>window.__pwned=5</script></html>"
    digest, _ = store_attachment(content)
    from storage import open_archive

    sessions = open_archive(hostile.url)
    try:
        with sessions() as session, session.begin():
            attachment = Attachment(sha256=digest, size=len(content), media_type="text/html", text="正文", image_only=False)
            session.add(attachment)
            session.flush()
            attachment_id = attachment.id
    finally:
        sessions.kw["bind"].dispose()
    response = client.get(f"/attachments/{attachment_id}")
    assert response.status_code == 200 and response.content == content
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/attachments/999999").status_code == 404
    assert client.get("/attachments/..%2f..%2fetc%2fpasswd").status_code in (404, 422)
    raw = client.get(f"/reports/{hostile.report_id}/raw")
    assert raw.status_code == 404 or raw.headers["content-disposition"].startswith("attachment")


def test_the_database_is_read_only(hostile: HostileArchive):
    sessions = open_read_only(hostile.url, time_limit=5)
    try:
        with sessions() as session:
            assert session.execute(text("SELECT count(*) FROM documents")).scalar() == 2
            with pytest.raises(SQLAlchemyError):
                session.execute(text("DELETE FROM documents"))
                session.commit()
    finally:
        sessions.kw["bind"].dispose()


def test_queries_stop_at_the_time_limit(hostile: HostileArchive):
    sessions = open_read_only(hostile.url, time_limit=0.2)
    slow = (
        "SELECT pg_sleep(2)" if hostile.url.startswith("postgresql") else
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    )
    try:
        with sessions() as session, pytest.raises(SQLAlchemyError) as caught:
            session.execute(text(slow))
        assert is_timeout(caught.value)
    finally:
        sessions.kw["bind"].dispose()


def test_row_cap_bounds_pages_and_downloads(hostile: HostileArchive):
    app = create_app(WebSettings(database_url=hostile.url, row_cap=1))
    with TestClient(app) as client:
        assert len(client.get("/search.csv", params={"q": "公开"}).text.strip().splitlines()) == 2  # header + 1
        assert client.get("/api/search", params={"q": "公开", "page": 3}).json()["hits"] == []
        assert client.get("/api/search", params={"q": "公开", "per_page": 100}).json()["per_page"] == 1


def test_an_archive_that_is_not_migrated_is_refused(database_url: str):
    from crawler.errors import StorageError

    engine = create_engine(database_url)
    with engine.connect():  # an empty database (on SQLite, an empty file)
        pass
    engine.dispose()
    with pytest.raises(StorageError, match="schema"):
        open_read_only(database_url, 1)


QUERIES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ['"', "NEAR(公开", "*", "title:复议", "'; DROP TABLE documents; --", "\x00", "%", "<script>", "公开 OR 复议"]
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERIES, sort=st.sampled_from(["relevance", "date", "date_asc", "bogus"]))
def test_any_query_is_an_answer_never_a_server_error(client: TestClient, query: str, sort: str):
    for path in ("/api/search", "/search"):
        response = client.get(path, params={"q": query, "sort": sort})
        assert response.status_code in (200, 422), (query, response.status_code)
        if path == "/search":
            assert_inert(response.text)


def test_csv_downloads_take_a_bom_for_excel(client: TestClient, hostile: HostileArchive):
    """User mistake: opening /search.csv or /stats.csv in Excel, which reads BOM-less UTF-8 as
    GBK (mojibake); ?bom=1 starts the download with a UTF-8 BOM, the default stays without."""
    for path, params in (("/search.csv", {"q": "公开"}), ("/stats.csv", {})):
        plain = client.get(path, params=params)
        with_bom = client.get(path, params={**params, "bom": "1"})
        assert plain.status_code == 200 and with_bom.status_code == 200, path
        assert not plain.content.startswith(b"\xef\xbb\xbf"), path
        assert with_bom.content == b"\xef\xbb\xbf" + plain.content, path
