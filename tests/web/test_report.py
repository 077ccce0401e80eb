"""The report page (issue 15): table of contents, tables with the form's labels and checks,
attachments, the character-level diff, each version's provenance, raw download and sandboxed
replay, and the citation line -- Chinese by default, English with ``?lang=en``.

Two archives stand for two real situations:

- the conftest's hostile archive (two versions, 申请10件 → 申请12件, scripts planted in every
  field), written through the storage API: a report archived before captures were kept;
- a real crawl (``nianbao crawl`` in a child process) of a bureau site on a loopback server,
  run on two nights: the bureau silently corrects one figure (申请218件 → 申请219件) between
  them, so the report has two versions, each with its own WARC record. The report page is GBK
  (as many county sites still are) and carries a script and a beacon image pointing back at the
  bureau, as a hostile or merely tracking page would.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from storage import open_archive
from storage.models import Capture, Document, Version
from tests.crawler.harness import run_nianbao
from tests.reliability.conftest import HostileSite, list_page, send
from tests.web.conftest import HostileArchive
from web.app import create_app
from web.routes.report import REPLAY_CSP
from web.settings import WebSettings

REPORT_TITLE = "示范局2024年政府信息公开工作年度报告"
NIGHTS = ("2026-03-02T01:00:00+00:00", "2026-03-03T01:00:00+00:00")
# What the replay must be served with: a sandbox without scripts, no network but inline images
# and styles, framed only by the app's own view page.
EXPECTED_REPLAY_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"


def _utc_text(moment: datetime) -> str:
    """A stored capture time as the pages show it: UTC, to the second, followed by "UTC"."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def report_page(figure: int, beacon: str) -> bytes:
    """The bureau's report page in GBK, with a planted script and a beacon image."""
    html = (
        f"<html><head><meta charset=\"gbk\"><title>{REPORT_TITLE}</title></head><body><h1>{REPORT_TITLE}</h1>"
        "<div class='content'><p>一、总体情况</p>"
        "<p>2024年，本机关认真贯彻落实《中华人民共和国政府信息公开条例》，主动公开政府信息。</p>"
        "<p>三、收到和处理政府信息公开申请情况</p>"
        f"<p>本年新收政府信息公开申请{figure}件。</p>"
        f"<script>window.__pwned = 1</script><img src=\"{beacon}\"></div></body></html>"
    )
    return html.encode("gbk")


def crawl_each_night(tmp_path: Path, database_url: str, key: str, list_url: str, night: dict[str, int]) -> None:
    """One ``nianbao crawl`` of a bureau per night of :data:`NIGHTS` (the policy clock set to
    that night, every page re-checked); ``night["night"]`` tells the server which night it is."""
    sites = tmp_path / "sites.toml"
    sites.write_text(
        f'[[sites]]\nkey = "{key}"\nname = "示范局"\nregion = "示范省示范市"\nlevel = "department"\n'
        f'family = "generic"\nrevalidate_days = 1\nlist_urls = ["{list_url}"]\n', encoding="utf-8")
    for number, moment in enumerate(NIGHTS, start=1):
        night["night"] = number
        result = run_nianbao(
            "--db", database_url, "--sites", str(sites), "crawl", "-q", "-s", f"NIANBAO_NOW={moment}",
            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "DOWNLOAD_TIMEOUT=5",
            "-s", "RETRY_TIMES=0", cwd=tmp_path, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr


@dataclass
class CrawledReport:
    url: str
    data_dir: Path
    document_id: int
    pages: dict[int, bytes]  # version number -> the page the bureau served
    sent: dict[int, bytes]  # version number -> the bytes it sent (night 2: gzip-compressed)


@pytest.fixture
def crawled(database_url: str, tmp_path: Path) -> Iterator[CrawledReport]:
    """Two nights of ``nianbao crawl`` against a loopback bureau whose report changes once."""
    site = HostileSite()
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        pages = {1: report_page(218, site.url("/beacon.gif")), 2: report_page(219, site.url("/beacon.gif"))}
        served = {"night": 1}
        site.routes["/nb/"] = lambda h: send(h, 200, list_page({"/nb/t1.htm": 2024}))
        # The second night the server compresses the page (Content-Encoding: gzip): the evidence
        # keeps what was sent, the download and replay give the page itself.
        sent = {1: pages[1], 2: gzip.compress(pages[2])}
        site.routes["/nb/t1.htm"] = lambda h: send(
            h, 200, sent[served["night"]], headers={"Content-Encoding": "gzip"} if served["night"] == 2 else None,
            content_type="text/html; charset=gbk")
        crawl_each_night(tmp_path, database_url, "report-gov", site.url("/nb/"), served)
    finally:
        site.shutdown()
        site.server_close()
    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            document_id = session.scalars(select(Document.id)).one()
    finally:
        sessions.kw["bind"].dispose()
    yield CrawledReport(url=database_url, data_dir=tmp_path / "nianbao-data", document_id=document_id, pages=pages,
                        sent=sent)


@pytest.fixture
def crawled_client(crawled: CrawledReport, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    # The app finds the WARC files where the crawl wrote them (the data folder).
    monkeypatch.setenv("NIANBAO_DATA_DIR", str(crawled.data_dir))
    monkeypatch.delenv("NIANBAO_WARC_DIR", raising=False)
    monkeypatch.delenv("NIANBAO_PUBLIC_URL", raising=False)
    monkeypatch.delenv("NIANBAO_LANG", raising=False)  # the app's default language: Chinese
    with TestClient(create_app(WebSettings(database_url=crawled.url, row_cap=50))) as test_client:
        yield test_client


def _capture_rows(crawled: CrawledReport) -> dict[int, Capture]:
    """The captures table's row behind each version, read straight from the archive."""
    sessions = open_archive(crawled.url)
    try:
        with sessions() as session:
            rows = session.execute(
                select(Version.number, Capture).join(Capture, Capture.id == Version.__table__.c.capture_id)
                .where(Version.document_id == crawled.document_id)
            ).all()
            session.expunge_all()
            return {number: capture for number, capture in rows}
    finally:
        sessions.kw["bind"].dispose()


# --- the crawled archive: evidence of each version ------------------------------------------


def test_each_version_of_a_crawled_report_has_its_own_evidence(
    crawled: CrawledReport, crawled_client: TestClient
) -> None:
    """The bureau corrected 218 → 219 between two nights. (One test for the two crawls: a crawl
    takes seconds.) Each part is a function below."""
    captures = _capture_rows(crawled)
    assert sorted(captures) == [1, 2] and captures[1].id != captures[2].id
    _check_provenance_raw_diff_and_citation(crawled, crawled_client, captures)
    _check_the_replay_is_isolated(crawled, crawled_client, captures)


def _check_provenance_raw_diff_and_citation(
    crawled: CrawledReport, crawled_client: TestClient, captures: dict[int, Capture]
) -> None:
    """Each version's provenance is its own capture row, its raw download is the page served
    that night, the diff marks one digit and the citation names the version's evidence."""
    rid = crawled.document_id

    report = crawled_client.get(f"/api/reports/{rid}").json()
    assert report["version"] == 2
    for version in report["versions"]:
        row = captures[version["number"]]
        assert version["provenance"] == {
            "capture_id": row.id, "url": row.url, "fetched_at": _utc_text(row.fetched_at),
            "http_status": 200, "content_type": row.content_type, "record_type": row.record_type,
            "warc_file": row.warc_file, "warc_record_id": row.warc_record_id, "warc_offset": row.warc_offset,
            "warc_length": row.warc_length, "payload_sha256": row.payload_sha256, "payload_bytes": row.payload_bytes,
            "revisit_of_id": row.revisit_of_id, "raw_url": f"/reports/{rid}/versions/{version['number']}/raw",
            "replay_url": f"/reports/{rid}/versions/{version['number']}/view",
        }
        assert row.http_status == 200 and row.warc_record_id.startswith("<urn:uuid:")

    # The raw download of each version is that night's page, byte for byte (GBK, script and all;
    # the gzip of night 2 undone); the sha256 the provenance names is that of the payload as the
    # server sent it (the WARC record's), which for night 1 is the download itself.
    for number, page in crawled.pages.items():
        raw = crawled_client.get(f"/reports/{rid}/versions/{number}/raw")
        assert raw.status_code == 200 and raw.content == page
        assert raw.headers["content-type"] == "application/octet-stream"
        assert raw.headers["content-disposition"] == f'attachment; filename="report-{rid}-v{number}.bin"'
        assert hashlib.sha256(crawled.sent[number]).hexdigest() == captures[number].payload_sha256
    assert hashlib.sha256(crawled.pages[1]).hexdigest() == captures[1].payload_sha256
    assert crawled_client.get(f"/reports/{rid}/versions/3/raw").status_code == 404

    # The page shows each version's provenance panel with the same values.
    html = crawled_client.get(f"/reports/{rid}").text
    for number, row in captures.items():
        assert f'id="provenance-{number}"' in html
        assert row.warc_record_id.replace("<", "&lt;").replace(">", "&gt;") in html
        assert row.warc_file in html and row.payload_sha256 in html
        assert f'href="/reports/{rid}/versions/{number}/raw"' in html
        assert f'href="/reports/{rid}/versions/{number}/view"' in html

    # The diff marks only the changed digit, inside the line, on both sides.
    diff = crawled_client.get(f"/api/reports/{rid}/diff").json()
    changed = [row for row in diff["rows"] if row["kind"] != "equal"]
    assert len(changed) == 1 and changed[0]["kind"] == "replace"
    assert [s for s in changed[0]["old_segments"] if s["changed"]] == [{"text": "8", "changed": True}]
    assert [s for s in changed[0]["new_segments"] if s["changed"]] == [{"text": "9", "changed": True}]
    page = crawled_client.get(f"/reports/{rid}/diff").text
    assert "申请21<del>8</del>件" in page and "申请21<ins>9</ins>件" in page

    # The citation names the version shown: its capture time, permanent address and sha256.
    citation = report["citation"]
    latest = captures[2]
    assert citation == {
        "title": REPORT_TITLE, "bureau": "示范局", "pub_date": report["pub_date"],
        "archived_at": _utc_text(latest.fetched_at),
        "permanent_url": f"http://testserver/reports/{rid}/versions/2", "sha256": latest.payload_sha256,
        "text": citation["text"],
    }
    for part in (REPORT_TITLE, "示范局", citation["archived_at"], citation["permanent_url"], latest.payload_sha256):
        assert part in citation["text"]
    first = crawled_client.get(f"/api/reports/{rid}/versions/1").json()["citation"]
    assert first["sha256"] == captures[1].payload_sha256 and first["permanent_url"].endswith(f"/reports/{rid}/versions/1")


def _check_the_replay_is_isolated(
    crawled: CrawledReport, crawled_client: TestClient, captures: dict[int, Capture]
) -> None:
    """The archived page (with its script and beacon) is served as captured, but under a
    sandbox CSP that stops its scripts and every fetch, with its own charset; the app's view page
    frames it in an iframe sandbox and says when and from which record it was captured."""
    rid = crawled.document_id
    for number, page in crawled.pages.items():
        replay = crawled_client.get(f"/reports/{rid}/versions/{number}/replay")
        assert replay.status_code == 200 and replay.content == page
        assert replay.headers["content-security-policy"] == EXPECTED_REPLAY_CSP == REPLAY_CSP
        assert replay.headers["x-content-type-options"] == "nosniff"
        assert replay.headers["x-frame-options"] == "SAMEORIGIN"
        assert replay.headers["content-type"] == "text/html; charset=gbk"  # the bureau's charset, kept
        assert "set-cookie" not in replay.headers and "content-disposition" not in replay.headers

        view = crawled_client.get(f"/reports/{rid}/versions/{number}/view")
        assert view.status_code == 200
        csp = view.headers["content-security-policy"]
        assert "frame-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
        iframes = re.findall(r"<iframe[^>]*>", view.text)
        assert len(iframes) == 1
        assert re.search(r"\ssandbox(\s|>)", iframes[0]) and "allow-" not in iframes[0]
        assert f'src="/reports/{rid}/versions/{number}/replay"' in iframes[0]
        banner = re.search(r'<p class="replay-banner"[^>]*>(.*?)</p>', view.text, re.S)
        assert banner is not None
        row = captures[number]
        assert f"抓取于 {_utc_text(row.fetched_at)}（UTC）" in banner.group(1)
        assert row.warc_record_id.replace("<", "&lt;").replace(">", "&gt;") in banner.group(1)
        assert "<script" not in view.text  # the archived page never enters the app's page
    english = crawled_client.get(f"/reports/{rid}/versions/1/view", params={"lang": "en"}).text
    assert "Captured at " in english and "from WARC record" in english
    # Nothing of the archive is replayed for a version that does not exist.
    assert crawled_client.get(f"/reports/{rid}/versions/9/replay").status_code == 404
    assert crawled_client.get(f"/reports/{rid}/versions/{2**40}/replay").status_code == 404


# --- the conftest archive: no captures, hostile text ----------------------------------------


def test_character_diff_marks_only_the_changed_characters(client: TestClient, hostile: HostileArchive) -> None:
    """申请10件 → 申请12件: only 0 → 2 is marked; the lines added at the end are insertions; the
    planted script stays text inside the marks."""
    diff = client.get(f"/api/reports/{hostile.report_id}/diff").json()
    replaced = [row for row in diff["rows"] if row["kind"] == "replace"]
    assert len(replaced) == 1
    assert replaced[0]["old_segments"] == [
        {"text": "本年新收政府信息公开申请1", "changed": False}, {"text": "0", "changed": True},
        {"text": "件。", "changed": False}]
    assert replaced[0]["new_segments"] == [
        {"text": "本年新收政府信息公开申请1", "changed": False}, {"text": "2", "changed": True},
        {"text": "件。", "changed": False}]
    inserted = [row["new_text"] for row in diff["rows"] if row["kind"] == "insert"]
    assert inserted == ["六、其他需要报告的事项", "本年度未收取信息处理费。"]
    html = client.get(f"/reports/{hostile.report_id}/diff").text
    assert "申请1<del>0</del>件。" in html and "申请1<ins>2</ins>件。" in html
    assert "<ins>六、其他需要报告的事项</ins>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_report_page_contents_tables_checks_attachments_in_chinese(
    client: TestClient, hostile: HostileArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default language is Chinese: contents, table 3 with the form's labels, its checks,
    the attachments, the versions (no captures: said so) and the citation line."""
    monkeypatch.delenv("NIANBAO_LANG", raising=False)  # (tests/conftest.py makes tests speak English)
    html = client.get(f"/reports/{hostile.report_id}").text
    assert '<html lang="zh-CN">' in html
    for text in ("目录", 'href="#table3"', 'href="#attachments"', 'href="#versions"',
                 "表三：收到和处理政府信息公开申请情况", "一、本年新收政府信息公开申请数量", "自然人", "总计",
                 'id="checks"', "未核对", "所需的行未找到", "附件", "http://127.0.0.1:9/nb/P0201.pdf",
                 "第 1 版存档时尚未保存抓取记录", "引用格式", "与第 1 版比较"):
        assert text in html, text
    citation = re.search(r'<p class="citation">.*?</p>', html, re.S)
    assert citation is not None
    assert f"http://testserver/reports/{hostile.report_id}/versions/2" in citation.group(0)
    assert "发布于 2024-01-20" in citation.group(0) and "存档于 " in citation.group(0)
    assert "<script>" not in html  # the hostile title and site name stay text in the citation too


def test_english_with_lang_en_keeps_the_forms_labels(client: TestClient, hostile: HostileArchive) -> None:
    html = client.get(f"/reports/{hostile.report_id}", params={"lang": "en"}).text
    assert '<html lang="en">' in html
    for text in ("Contents", "Checks", "not evaluated", "Attachments", "Versions", "Cite as", "published 2024-01-20",
                 "was archived before captures were kept"):
        assert text in html, text
    # The form's own words stay Chinese in every language.
    assert "表三：收到和处理政府信息公开申请情况" in html and "一、本年新收政府信息公开申请数量" in html
    diff = client.get(f"/reports/{hostile.report_id}/diff", params={"lang": "en"}).text
    assert "Changed characters are marked" in diff and "改动" not in diff


def test_citation_uses_the_public_url_and_versions_have_permanent_pages(
    client: TestClient, hostile: HostileArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a proxy the request's host is not the public address: NIANBAO_PUBLIC_URL wins."""
    monkeypatch.setenv("NIANBAO_PUBLIC_URL", "https://nianbao.example.org/")
    rid = hostile.report_id
    report = client.get(f"/api/reports/{rid}/versions/1").json()
    assert report["version"] == 1
    assert report["citation"]["permanent_url"] == f"https://nianbao.example.org/reports/{rid}/versions/1"
    assert report["citation"]["archived_at"] == "2024-02-01T00:00:00"  # first seen: no capture kept
    assert report["citation"]["sha256"] is None
    assert [v["permanent_url"] for v in report["versions"]] == [
        f"https://nianbao.example.org/reports/{rid}/versions/{n}" for n in (1, 2)]
    assert all(v["provenance"] is None for v in report["versions"])
    page = client.get(f"/reports/{rid}/versions/1").text
    assert "本年新收政府信息公开申请10件。" in page and "申请12件" not in page.split('id="text"')[1]
    # A version without a capture has no evidence to download, replay or view.
    for suffix in ("raw", "replay", "view"):
        assert client.get(f"/reports/{rid}/versions/1/{suffix}").status_code == 404
    assert client.get(f"/api/reports/{rid}/versions/1/provenance").status_code == 404
    assert client.get(f"/reports/{rid}/versions/7").status_code == 404
    assert client.get(f"/api/reports/{rid}/versions/{2**40}").status_code == 404
