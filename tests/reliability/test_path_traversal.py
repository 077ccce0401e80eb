"""Path traversal. A hostile report page links attachments whose URLs climb out of their folder
(``../../``, and encoded as ``..%2f`` and ``%2e%2e%2f``), one served with ``Content-Disposition:
attachment; filename="../../../escape.docx"``, and a DOCX package whose ZIP members are named
``../../escape.txt`` and ``/tmp/…`` (a "zip slip"). Nothing is written outside the data folder:
attachments are stored content-addressed, at ``attachments/ab/cd/<sha256 of their bytes>``,
whatever their names. Then the web app is asked for files outside the archive -- through
``/attachments/ID`` with traversal in the id, through ``/static/`` with ``..`` encoded, and
through an attachment row whose digest was tampered into a path -- and serves none. Real
loopback server, real crawl, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from crawler.demo.docx import make_docx
from storage.db import open_archive
from storage.models import Attachment, AttachmentLink
from tests.crawler.harness import run_nianbao
from tests.reliability.conftest import HostileSite, list_page, report_page, send, sites_toml
from web.app import create_app
from web.settings import WebSettings

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ATTACHMENT_LINKS = [
    "/files/..%2f..%2f..%2fescape-encoded.docx",
    "/files/%2e%2e%2f%2e%2e%2fescape-dots.docx",
    "/files/sub/../../escape-plain.docx",
    "/files/disposition.docx",
    "/files/zipslip.docx",
]


def _docx(name: str) -> bytes:
    return make_docx(f"示范局2023年度报告附件 {name}", [f"附件正文 {name}"])


def _zip_slip() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(_docx("zipslip")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for info in source.infolist():
            package.writestr(info, source.read(info))
        package.writestr("../../escape-zipslip.txt", b"written outside?")
        package.writestr("/tmp/escape-zipslip-absolute.txt", b"written outside?")
    return out.getvalue()


class _Routes(dict):
    """Exact paths; any other ``.docx`` path gets a DOCX naming the path it was asked as."""

    def get(self, path, default=None):  # type: ignore[override]
        found = super().get(path)
        if found is None and path.endswith(".docx"):
            return lambda h: send(h, 200, _docx(path), content_type=DOCX)
        return found if found is not None else default


def _escapes(root: Path) -> list[Path]:
    return [p for p in root.rglob("*escape*")]


def test_attachments_stay_in_the_data_folder_and_the_web_app_serves_nothing_else(
        site: HostileSite, tmp_path, database_url, monkeypatch: pytest.MonkeyPatch):
    work = tmp_path / "work" / "deeper"  # the crawl's cwd: ../../ from it stays inside tmp_path
    work.mkdir(parents=True)
    data = work / "nianbao-data"
    site.routes = _Routes()
    links = "".join(f'<p><a href="{path}">2023年报告附件{i}.docx</a></p>' for i, path in enumerate(ATTACHMENT_LINKS))
    site.routes["/col/index.html"] = lambda h: send(h, 200, list_page({"/col/r2023.html": 2023}))
    site.routes["/col/r2023.html"] = lambda h: send(h, 200, report_page(2023).replace("</div>", links + "</div>"))
    site.routes["/files/disposition.docx"] = lambda h: send(
        h, 200, _docx("disposition"), {"Content-Disposition": 'attachment; filename="../../../escape-disposition.docx"'},
        content_type=DOCX)
    site.routes["/files/zipslip.docx"] = lambda h: send(h, 200, _zip_slip(), content_type=DOCX)
    sites = work / "sites.toml"
    sites.write_text(sites_toml([site.url("/col/index.html")]), encoding="utf-8")

    result = run_nianbao("--db", database_url, "--sites", str(sites), "crawl", "-q",
                         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                         "-s", "DOWNLOAD_TIMEOUT=5", "-s", "RETRY_TIMES=0", cwd=work, timeout=120)
    assert result.returncode in (0, 1), result.stderr

    # Nothing named after a hostile name anywhere around the crawl, nor in /tmp's top level.
    assert _escapes(tmp_path) == []
    assert not Path("/tmp/escape-zipslip-absolute.txt").exists()
    # Every file the crawl wrote is inside the data folder (or is the SQLite archive).
    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    outside = {p for p in written if data not in p.parents and p.suffix != ".sqlite3" and p != sites}
    assert outside == set()

    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            stored = {link.url: link.attachment for link in session.scalars(select(AttachmentLink))}
            attachments = list(session.scalars(select(Attachment)))
    finally:
        sessions.kw["bind"].dispose()
    assert len(stored) == len(ATTACHMENT_LINKS) and all(a is not None for a in stored.values()), stored
    files = sorted((data / "attachments").rglob("*"))
    files = [p for p in files if p.is_file()]
    assert len(files) == len(attachments) == len(ATTACHMENT_LINKS)
    for path in files:  # content-addressed: attachments/ab/cd/<sha256 of the bytes>
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert path.relative_to(data / "attachments") == Path(digest[:2], digest[2:4], digest)

    # --- the web app ------------------------------------------------------------------------
    monkeypatch.setenv("NIANBAO_DATA_DIR", str(data))
    (tmp_path / "work" / "outside-secret.txt").write_text("OUTSIDE-SECRET", encoding="utf-8")
    app = create_app(WebSettings(database_url=database_url, row_cap=50))
    with TestClient(app) as client:
        first = attachments[0]
        answer = client.get(f"/attachments/{first.id}")
        assert answer.status_code == 200
        assert hashlib.sha256(answer.content).hexdigest() == first.sha256
        for url in [
            "/attachments/..%2f..%2f..%2f..%2fetc%2fpasswd",
            "/attachments/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            f"/attachments/{first.id}%2f..%2f..%2f..%2foutside-secret.txt",
            "/static/..%2f..%2f..%2fetc%2fpasswd",
            "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            "/static/..%2fapp.py",
            "/static/%2e%2e%2fapp.py",
            "/reports/..%2f..%2fetc%2fpasswd/raw",
        ]:
            answer = client.get(url)
            assert answer.status_code in (400, 404, 422), (url, answer.status_code)
            assert b"root:" not in answer.content and b"create_app" not in answer.content, url

        # An attachment row whose digest was tampered into a path is not found, not served.
        sessions = open_archive(database_url)
        try:
            with sessions() as session, session.begin():
                session.execute(update(Attachment).where(Attachment.id == first.id)
                                .values(sha256="../../outside-secret.txt"))
        finally:
            sessions.kw["bind"].dispose()
        answer = client.get(f"/attachments/{first.id}")
        assert answer.status_code == 404, answer.status_code
        assert b"OUTSIDE-SECRET" not in answer.content
