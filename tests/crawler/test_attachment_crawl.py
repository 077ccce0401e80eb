"""Whole crawls of a small bureau site with attachments of every kind, hostile files and a page
in GBK labelled UTF-8, over loopback, asserting on the archive and the attachment store."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.attachments import attachment_path
from crawler.demo.content import Block, block_lines, make_table3_numbers, table3
from crawler.demo.docx import make_docx
from crawler.demo.pdf import make_pdf
from crawler.demo.server import DemoServer
from crawler.demo.site import DemoPage, DemoSite
from storage.db import open_archive
from storage.models import Attachment, AttachmentLink, Document, Version
from storage.sectioning import sections_json
from tests.crawler.attachments.fixtures import (
    make_blank_pdf,
    make_ofd,
    make_word97,
    make_xls,
    make_xlsx,
    make_zip_bomb,
)
from tests.crawler.harness import FAST_CRAWL, run_nianbao

HTML = "text/html; charset=utf-8"
BUREAU = "示范市档案局"
T_ONLY = f"{BUREAU}2023年政府信息公开工作年度报告"
T_NORMAL = f"{BUREAU}2022年政府信息公开工作年度报告"
T_GBK = f"{BUREAU}2021年政府信息公开工作年度报告"
T_SCAN = f"{BUREAU}2020年政府信息公开工作年度报告（图片版）"
EXTRACT_CAP = 200_000  # NIANBAO_ATTACHMENT_MAX_BYTES in these crawls
DOWNLOAD_CAP = 1_500_000  # DOWNLOAD_MAXSIZE
PROSE = ("本报告根据《中华人民共和国政府信息公开条例》编制，所列数据的统计期限自1月1日起至12月31日止。"
         "本年度我局坚持以公开为常态、不公开为例外，主动公开政府信息，依法办理政府信息公开申请。") * 3


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_{BUREAU}</title></head>'
        f'<body><div class="nav">首页 &gt; 信息公开年报</div><h1 class="title">{title}</h1>'
        f'<div class="TRS_Editor">{body}</div></body></html>'
    )


def _padded_pdf(size: int) -> bytes:
    pdf = make_pdf(T_NORMAL, ["大文件"])
    return pdf + b"%" + b"x" * (size - len(pdf) - 2) + b"\n"


@pytest.fixture
def bureau(tmp_path: Path):
    numbers = make_table3_numbers(random.Random(11), "2021", 25)
    pdf_lines = [T_ONLY, "一、总体情况", PROSE,
                 *block_lines([Block("table", table=table3(numbers, "2021"))])]
    files = {
        "/nb/P0_2023.pdf": (make_pdf(T_ONLY, pdf_lines), "application/pdf"),
        "/nb/a.docx": (make_docx(T_NORMAL, ["DOCX正文：主动公开信息128条"], [["指标", "数量"]]),
                       "application/octet-stream"),
        "/nb/a.doc": (make_word97(["DOC正文：收到申请10件"]), "application/msword"),
        "/nb/a.wps": (make_word97(["WPS正文：办理完毕"]), "application/octet-stream"),
        "/nb/a.xls": (make_xls("表", [["XLS正文", "7"]]), "application/vnd.ms-excel"),
        "/nb/a.xlsx": (make_xlsx([["XLSX正文", 8]]), "application/octet-stream"),
        "/nb/a.ofd": (make_ofd(["OFD正文：公开指南"]), "application/ofd"),
        "/nb/bomb.docx": (make_zip_bomb("docx"), "application/octet-stream"),
        "/nb/broken.pdf": (b"%PDF-1.7\n" + b"\xff" * 3000, "application/pdf"),
        "/nb/big.pdf": (_padded_pdf(EXTRACT_CAP + 50_000), "application/pdf"),
        "/nb/huge.pdf": (_padded_pdf(DOWNLOAD_CAP + 100_000), "application/pdf"),
        "/nb/scan.pdf": (make_blank_pdf(), "application/pdf"),
    }
    normal_links = ["a.docx", "a.doc", "a.wps", "a.xls", "a.xlsx", "a.ofd", "bomb.docx",
                    "broken.pdf", "big.pdf", "huge.pdf", "missing.pdf"]
    pages = {path: DemoPage(body, ctype) for path, (body, ctype) in files.items()}
    pages["/nb/index.html"] = DemoPage(
        _page("信息公开年报", "".join(
            f'<li><a href="{href}">{title}</a></li>'
            for href, title in (("2023.html", T_ONLY), ("2022.html", T_NORMAL),
                                ("2021.html", T_GBK), ("2020.html", T_SCAN))
        )).encode("utf-8"), HTML)
    pages["/nb/2023.html"] = DemoPage(_page(T_ONLY, (
        f'<p>附件：<a href="P0_2023.pdf">{T_ONLY}.pdf</a></p>')).encode("utf-8"), HTML)
    pages["/nb/2020.html"] = DemoPage(_page(T_SCAN, (
        '<p><img src="scan1.jpg"></p><p><img src="scan2.jpg"></p>'
        '<p>附件：<a href="scan.pdf">扫描件.pdf</a></p>')).encode("utf-8"), HTML)
    with DemoServer(DemoSite(pages, [], [], {})) as server:
        other_host = server.base_url.replace("127.0.0.1", "localhost")
        links = "".join(f'<p><a href="{name}">附件{i}</a></p>' for i, name in enumerate(normal_links))
        links += f'<p><a href="{other_host}/nb/a.ofd?copy=1">另一主机上的附件</a></p>'
        links += f'<p><a href="{server.base_url}/nb/a.ofd?copy=2">同一附件的另一地址</a></p>'
        server.replace_page("/nb/2022.html", _page(T_NORMAL, f"<p>{PROSE}</p>{links}").encode("utf-8"))
        # GBK bytes labelled UTF-8 in both the header and the page's own <meta>.
        server.replace_page("/nb/2021.html", _page(T_GBK, f"<p>{PROSE}</p>").encode("gbk"))
        sites = tmp_path / "sites.toml"
        sites.write_text(
            '[[sites]]\nkey = "demo-dag"\nname = "示范市档案局"\nregion = "示范市"\n'
            f'level = "department"\nfamily = "generic"\nlist_urls = ["{server.base_url}/nb/index.html"]\n',
            encoding="utf-8",
        )
        yield server, sites, numbers


def test_attachments_are_stored_read_and_linked_and_hostile_files_cost_nothing(
    bureau, tmp_path, database_url
):
    server, sites, numbers = bureau
    result = run_nianbao(
        "--db", database_url, "--sites", str(sites), "crawl", "-q", *FAST_CRAWL,
        "-s", f"NIANBAO_ATTACHMENT_MAX_BYTES={EXTRACT_CAP}", "-s", f"DOWNLOAD_MAXSIZE={DOWNLOAD_CAP}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    data_dir = tmp_path / "nianbao-data"
    url = server.base_url + "/nb/"
    with open_archive(database_url)() as session:
        documents = {d.url: d for d in session.scalars(select(Document))}
        assert set(documents) == {url + n for n in ("2023.html", "2022.html", "2021.html", "2020.html")}

        # Attachment-only report: the PDF's text is the report's text, its table 3 is parsed.
        only = session.get(Version, documents[url + "2023.html"].latest_version_id)
        assert "本报告根据《中华人民共和国政府信息公开条例》编制" in only.body_text
        assert only.has_tables and only.tables["format"] == "2021"
        assert list(only.tables["table3"]["rows"].values()) == numbers
        assert only.tables["checks"] == {"balance": True, "row_totals": True, "outcome_sum": True}
        # its sections were split from the attachment's text (offsets into the final body)
        assert only.sections and only.sections == sections_json(only.body_text)
        assert only.body_text[only.sections[0]["start"]:].startswith("一、总体情况")

        # GBK labelled UTF-8: the title round-trips.
        assert documents[url + "2021.html"].title == T_GBK
        assert session.get(Version, documents[url + "2021.html"].latest_version_id).encoding == "gb18030"

        # A body of images only, with a scan without a text layer attached.
        scan = session.get(Version, documents[url + "2020.html"].latest_version_id)
        assert scan.image_only is True

        normal = session.get(Version, documents[url + "2022.html"].latest_version_id)
        links = {
            link.url: link
            for link in session.scalars(select(AttachmentLink).where(AttachmentLink.version_id == normal.id))
        }
        texts = {
            "a.docx": "DOCX正文", "a.doc": "DOC正文", "a.wps": "WPS正文", "a.xls": "XLS正文",
            "a.xlsx": "XLSX正文", "a.ofd": "OFD正文",
        }
        for name, words in texts.items():
            attachment = links[url + name].attachment
            assert attachment is not None and attachment.error is None, name
            assert words in attachment.text, name
            assert attachment_path(attachment.sha256, data_dir).is_file()
        # Hostile files: stored, recorded with the reason, crawl finished.
        assert links[url + "bomb.docx"].attachment.error.startswith("zip bomb suspected")
        assert links[url + "broken.pdf"].attachment.error.startswith("corrupt PDF")
        big = links[url + "big.pdf"].attachment
        assert big.error.startswith("file too large to read") and big.text is None
        assert attachment_path(big.sha256, data_dir).stat().st_size == big.size
        assert links[url + "huge.pdf"].attachment is None and links[url + "huge.pdf"].error
        assert links[url + "missing.pdf"].error == "HTTP 404"
        # Another address of the same file: the same bytes are one Attachment row.
        assert links[url + "a.ofd?copy=2"].attachment_id == links[url + "a.ofd"].attachment_id
        # Another host that is a loopback address (not the site's own origin): refused, not fetched.
        other = next(link for u, link in links.items() if "localhost" in u)
        assert other.attachment_id is None
        assert other.error.startswith("refused: localhost resolves to ")
        assert other.error.endswith("a loopback address (not a configured origin of this site)")
        assert len({a.sha256 for a in session.scalars(select(Attachment))}) == session.query(Attachment).count()
