"""XML entity attacks. A Hanweb column serves its list as a ``<datastore>`` XML document whose
DOCTYPE declares an external entity (XXE: ``<!ENTITY xxe SYSTEM "file:///…/secret.txt">`` and
``file:///etc/hostname``) and a "billion laughs" chain (``lol9`` → 10⁹ × ``lol``), using both in
its elements and its records; the report page carries the same DOCTYPE and references; and the
report's DOCX attachments carry them in ``word/document.xml`` -- an attacker reading the
crawling machine's files into the archive (and so onto the public web app), or blowing up its
memory. Nothing of the files reaches any table of the archive, the crawl finishes quickly, the
real reports are archived, and each attachment is either read without the entities or recorded
with a reason. Real loopback server, real crawl, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import socket
import zipfile
from pathlib import Path

from sqlalchemy import inspect, select, text

from crawler.demo.docx import make_docx
from storage.db import open_archive
from storage.models import AttachmentLink, CrawlError, Document
from tests.crawler.harness import run_nianbao
from tests.reliability.conftest import REPORT_TITLE, HostileSite, report_page, send

SECRET = "H9-SECRET-MARKER-7f3a"
LAUGHS = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10))


def _dtd(root: str, secret: Path) -> str:
    return (f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret}">'
            f'<!ENTITY host SYSTEM "file:///etc/hostname">{LAUGHS}]>')


def _datastore(secret: Path) -> str:
    records = "".join(
        f'<record><![CDATA[<li><a href="/art/r{year}.html" title="{REPORT_TITLE.format(year=year)}">'
        f"{REPORT_TITLE.format(year=year)}&xxe;&lol9;</a></li>]]></record>" for year in (2022, 2023))
    return (f'<?xml version="1.0" encoding="UTF-8"?>{_dtd("datastore", secret)}'
            f"<datastore><totalrecord>2</totalrecord><note>&xxe;&host;&lol9;</note>"
            f"<recordset>{records}<record>&xxe;</record></recordset></datastore>")


def _list_page(secret: Path) -> str:
    return ("<html><head><title>信息公开年报</title></head><body>"
            f'<script type="text/xml">{_datastore(secret)}</script></body></html>')


def _report(year: int, secret: Path, attachments: list[str]) -> str:
    links = "".join(f'<p><a href="{a}">{year}年报告附件{i}.docx</a></p>' for i, a in enumerate(attachments))
    page = report_page(year).replace("</div>", f"<p>[&xxe;][&host;][&lol9;]</p>{links}</div>")
    return f'<?xml version="1.0"?>{_dtd("html", secret)}' + page


def _hostile_docx(dtd: str, references: str) -> bytes:
    """A valid DOCX whose document.xml declares the entities and uses ``references``."""
    source = zipfile.ZipFile(io.BytesIO(make_docx("示范局2023年度报告附件", ["附件正文PARAGRAPH"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "word/document.xml":
                head, rest = body.decode().split("?>", 1)
                rest = rest.replace("PARAGRAPH", references)
                body = (head + "?>" + dtd + rest).encode()
            package.writestr(info, body)
    return out.getvalue()


def _every_value(database_url: str) -> str:
    """Every value of every table of the archive, as one string."""
    sessions = open_archive(database_url)
    engine = sessions.kw["bind"]
    try:
        parts = []
        with engine.connect() as connection:
            for table in inspect(engine).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                    parts.append(repr(tuple(row)))
        return "\n".join(parts)
    finally:
        engine.dispose()


def test_entities_never_reach_the_archive(site: HostileSite, tmp_path, database_url):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET + "\n", encoding="utf-8")
    xxe_docx = _hostile_docx(_dtd("w:document", secret), "[&xxe;][&host;]")
    laughs_docx = _hostile_docx(_dtd("w:document", secret), "[&lol9;]")
    site.routes["/col/index.html"] = lambda h: send(h, 200, _list_page(secret))
    site.routes["/art/r2022.html"] = lambda h: send(h, 200, _report(2022, secret, []))
    site.routes["/art/r2023.html"] = lambda h: send(
        h, 200, _report(2023, secret, ["/files/xxe.docx", "/files/laughs.docx"]))
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    site.routes["/files/xxe.docx"] = lambda h: send(h, 200, xxe_docx, content_type=docx_type)
    site.routes["/files/laughs.docx"] = lambda h: send(h, 200, laughs_docx, content_type=docx_type)
    sites = tmp_path / "sites.toml"
    sites.write_text(
        '[[sites]]\nkey = "xxe-gov"\nname = "示范局"\nregion = "示范省示范市"\nlevel = "department"\n'
        f'family = "hanweb"\nlist_urls = ["{site.url("/col/index.html")}"]\n', encoding="utf-8")

    result = run_nianbao("--db", database_url, "--sites", str(sites), "crawl", "-q",
                         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0",
                         "-s", "DOWNLOAD_TIMEOUT=5", "-s", "RETRY_TIMES=0", cwd=tmp_path, timeout=120)
    assert result.returncode in (0, 1), result.stderr

    everything = _every_value(database_url)
    assert SECRET not in everything
    hostname = Path("/etc/hostname").read_text(encoding="utf-8").strip() if Path("/etc/hostname").is_file() else ""
    if len(hostname) >= 8:  # a short host name could occur by chance
        assert hostname not in everything
    assert socket.gethostname() not in everything or len(socket.gethostname()) < 8
    assert "lollollol" not in everything  # no expansion stored either

    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            documents = sorted(session.scalars(select(Document.url)))
            errors = [(e.url, e.reason) for e in session.scalars(select(CrawlError))]
            links = {link.url: (link.error, link.attachment) for link in session.scalars(select(AttachmentLink))}
    finally:
        sessions.kw["bind"].dispose()
    assert documents == [site.url("/art/r2022.html"), site.url("/art/r2023.html")]
    assert errors == []
    assert set(links) == {site.url("/files/xxe.docx"), site.url("/files/laughs.docx")}
    # The XXE attachment is read, without the entities' content.
    xxe_link_error, xxe = links[site.url("/files/xxe.docx")]
    assert xxe_link_error is None and xxe is not None
    assert "附件正文" in (xxe.text or "")
    # The billion-laughs attachment is stored; its text is either read without expanding the
    # entities or refused with a reason.
    _, laughs = links[site.url("/files/laughs.docx")]
    assert laughs is not None
    assert (laughs.text and "附件正文" in laughs.text) or laughs.error
