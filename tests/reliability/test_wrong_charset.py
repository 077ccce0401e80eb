"""Wrong charsets. Chinese government sites label their bytes carelessly: GBK pages served with
``charset=utf-8`` in the HTTP header, UTF-8 pages declaring ``gb2312`` in ``<meta>``, GB18030-only
characters (a name such as 王𫖯, CJK extension characters such as 䶮) under a GB2312 label, pages
with no label at all, a UTF-8 byte-order mark contradicting a ``charset=gbk`` header, list pages
mislabelled the same ways, and attachments whose ``Content-Disposition`` filename is raw GBK.
One real crawl of such a column from a loopback server, on SQLite and PostgreSQL: every report's
title, body and metadata (索引号, 发布机构, 发布日期) are archived as the right Chinese text (no
mojibake, no U+FFFD), the WARC capture keeps the bytes exactly as served, search finds a phrase
of every page (and of the attachment), and a page of random bytes is recorded as a readable
failure while the rest of the column is archived.
"""

from __future__ import annotations

import codecs
import random
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.evidence import payload_capture, read_response
from storage.models import AttachmentLink, Document, Version
from storage.search import search
from tests.crawler.attachments.fixtures import make_xls
from tests.reliability.conftest import REPORT_TITLE, HostileSite, crawl, send
from tests.reliability.crawl_checks import crawl_outcome, is_readable, read_archive

PUBLISHER = "示范市统计局"
XLS_FILENAME = "2022年政府信息公开申请情况统计表.xls"
XLS_PHRASE = "依申请公开统计鑫淼"


def _report_html(year: int, charset_meta: str | None, phrase: str, extra: str = "") -> str:
    """A report page with the metadata block bureaus use; ``phrase`` is its searchable words."""
    title = REPORT_TITLE.format(year=year)
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={charset_meta}">' if charset_meta else ""
    return (
        f"<html><head>{meta}<title>{title}</title></head><body><h1>{title}</h1>"
        f'<div class="info"><span>发布机构：{PUBLISHER}</span><span>发布日期：{year + 1}-01-2{year % 10}</span>'
        f"<span>索引号：统计-{year}-甲乙丙</span></div>"
        f"<div class='content'><p>一、总体情况</p><p>{year}年，本机关认真贯彻落实《中华人民共和国政府信息公开条例》，"
        f"{phrase}。本年新收政府信息公开申请10件。</p>{extra}</div></body></html>"
    )


def _list_html(links: dict[str, int], charset_meta: str | None) -> str:
    meta = f'<meta charset="{charset_meta}">' if charset_meta else ""
    items = "".join(f'<li><a href="{path}">{REPORT_TITLE.format(year=year)}</a></li>' for path, year in links.items())
    return f"<html><head>{meta}<title>信息公开年报</title></head><body><ul>{items}</ul></body></html>"


# path -> (year, the page's searchable phrase, <meta> label, encode the page, Content-Type header).
# Each stands for a labelling mistake seen on real bureau sites.
REPORTS = {
    # GBK bytes, header says UTF-8 (an IIS default in front of a GBK CMS).
    "/col/gbk-as-utf8.html": (2016, "依申请公开答复琼瑶", None, lambda s: s.encode("gbk"), "text/html; charset=utf-8"),
    # UTF-8 bytes under <meta charset=gb2312> (a template copied from an old GB2312 site).
    "/col/utf8-as-gb2312.html": (2017, "主动公开规范性文件璎珞", "gb2312", lambda s: s.encode("utf-8"), "text/html"),
    # GB18030-only characters (four-byte sequences) under a GB2312 label.
    "/col/gb18030.html": (2018, "王𫖯同志审签䶮字", "gb2312", lambda s: s.encode("gb18030"), "text/html; charset=gb2312"),
    # No label anywhere: GBK bytes, a bare text/html.
    "/col/unlabelled.html": (2019, "行政复议纠错赟琦", None, lambda s: s.encode("gbk"), "text/html"),
    # A UTF-8 BOM contradicting the header's GBK.
    "/col/bom.html": (2020, "政府信息管理翀昇", None, lambda s: codecs.BOM_UTF8 + s.encode("utf-8"),
                      "text/html; charset=gbk"),
}
GARBAGE = "/col/garbage.html"  # random bytes (a truncated binary, a broken transcoding proxy)
ATTACHMENT_REPORT = "/col/with-attachment.html"
XLS_PATH = "/files/tongji2022.xls"


def _report_bytes(path: str) -> bytes:
    year, phrase, meta, encode, _ = REPORTS[path]
    return encode(_report_html(year, meta, phrase))


def _serve(site: HostileSite) -> None:
    first = {path: year for path, (year, *_rest) in REPORTS.items()}
    second = {GARBAGE: 2021, ATTACHMENT_REPORT: 2022}
    # List pages mislabelled too: GBK under a UTF-8 header, UTF-8 under a GB2312 <meta>.
    gbk_list = _list_html(first, None).encode("gbk")
    utf8_list = _list_html(second, "gb2312").encode("utf-8")
    site.routes["/col/index.html"] = lambda h: send(h, 200, gbk_list, content_type="text/html; charset=utf-8")
    site.routes["/col2/index.html"] = lambda h: send(h, 200, utf8_list, content_type="text/html")
    for path, (*_head, content_type) in REPORTS.items():
        body = _report_bytes(path)
        site.routes[path] = lambda h, body=body, content_type=content_type: send(h, 200, body, content_type=content_type)
    garbage = random.Random(14).randbytes(6000)
    site.routes[GARBAGE] = lambda h: send(h, 200, garbage, content_type="text/html")
    link = f'<p>附件：<a href="{XLS_PATH}">{XLS_FILENAME}</a></p>'
    page = _report_html(2022, "gbk", "公开工作年度报告附件", link).encode("gbk")
    site.routes[ATTACHMENT_REPORT] = lambda h: send(h, 200, page, content_type="text/html; charset=gbk")
    workbook = make_xls("表3", [["项目", "数量"], [XLS_PHRASE, "10"]])
    # Servers write the GBK filename's raw bytes into the header (http.server sends latin-1).
    disposition = f'attachment; filename="{XLS_FILENAME}"'.encode("gbk").decode("latin-1")
    site.routes[XLS_PATH] = lambda h: send(h, 200, workbook, {"Content-Disposition": disposition},
                                           content_type="application/vnd.ms-excel")


def _archived(session: Session) -> dict[str, Version]:
    documents = session.scalars(select(Document))
    return {d.url: session.get(Version, d.latest_version_id) for d in documents}


def _raw_capture(session: Session, version: Version, warc_dir: Path) -> bytes:
    capture = payload_capture(session, version.capture_id)  # type: ignore[attr-defined]
    return read_response(warc_dir, capture.warc_file, capture.warc_offset, decoded=True).body


def _clean(text: str | None) -> bool:
    """No replacement character and none of the tell-tale mojibake of GBK read as Latin-1/UTF-8."""
    return bool(text) and "\ufffd" not in text and not any(ch in text for ch in "ÃÂÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïð")


def test_mislabelled_pages_are_archived_as_the_right_chinese(site: HostileSite, tmp_path, database_url):
    _serve(site)
    result = crawl(tmp_path, database_url, [site.url("/col/index.html"), site.url("/col2/index.html")],
                   "RETRY_TIMES=0", "NIANBAO_OCR=0")
    assert result.returncode in (0, 1), result.stderr
    warc_dir = tmp_path / "nianbao-data" / "warc"

    def read(session: Session) -> tuple[dict, dict, dict]:
        versions = _archived(session)
        fields = {url: (v.title, v.publisher, v.index_no, v.pub_date, v.body_text, v.encoding) for url, v in versions.items()}
        raw = {url: _raw_capture(session, v, warc_dir) for url, v in versions.items()}
        phrases = {phrase: {hit.url for hit in search(session, phrase).hits}
                   for phrase in [*(p for _, p, *_ in REPORTS.values()), XLS_PHRASE]}
        return fields, raw, phrases

    fields, raw, found = read_archive(database_url, read)
    outcome = crawl_outcome(database_url)

    # Every mislabelled report (and the GBK page with the attachment) is archived, the garbage is not.
    assert set(fields) == {site.url(p) for p in [*REPORTS, ATTACHMENT_REPORT]}, outcome.errors
    for path, (year, phrase, *_rest) in REPORTS.items():
        title, publisher, index_no, pub_date, body, encoding = fields[site.url(path)]
        assert title == REPORT_TITLE.format(year=year), (path, encoding, title)
        assert publisher == PUBLISHER, (path, publisher)
        assert index_no == f"统计-{year}-甲乙丙", (path, index_no)
        assert pub_date == f"{year + 1}-01-2{year % 10}", (path, pub_date)
        assert phrase in body and "中华人民共和国政府信息公开条例" in body, (path, encoding, body[:120])
        assert all(_clean(value) for value in (title, publisher, index_no, body)), (path, encoding)
        # The evidence is the bytes as served, not a re-encoding of the decoded text.
        assert raw[site.url(path)] == _report_bytes(path), path
        # Search finds the page by its own words.
        assert found[phrase] == {site.url(path)}, (phrase, found[phrase])

    # The attachment with a GBK Content-Disposition: linked under its (GBK page's) link text, read.
    assert outcome.attachment_texts[site.url(XLS_PATH)] is not None
    assert XLS_PHRASE in outcome.attachment_texts[site.url(XLS_PATH)]
    assert found[XLS_PHRASE] == {site.url(ATTACHMENT_REPORT)}

    def link_texts(session: Session) -> list[str | None]:
        return list(session.scalars(select(AttachmentLink.link_text)))

    assert read_archive(database_url, link_texts) == [XLS_FILENAME]

    # Random bytes: a readable failure on the run, and the crawl went on past it.
    reason = outcome.errors.get(site.url(GARBAGE))
    assert is_readable(reason), outcome.errors
    assert set(outcome.errors) == {site.url(GARBAGE)}, outcome.errors
    assert reason in result.stdout


def test_a_few_bad_bytes_keep_a_page_and_noise_does_not():
    """The line between a real page with a stray invalid byte (a GBK page with a truncated
    character at its end: archived) and bytes that are no text in any charset (refused)."""
    from crawler.extract.decode import decode_html, undecodable_reason

    stray = decode_html(_report_html(2016, None, "依申请公开").encode("gbk") + b"\xff\xff", "text/html; charset=utf-8")
    assert stray.had_replacements and undecodable_reason(stray) is None
    noise = decode_html(random.Random(14).randbytes(6000), "text/html")
    reason = undecodable_reason(noise)
    assert reason is not None and reason.startswith("undecodable page: ") and is_readable(reason)
