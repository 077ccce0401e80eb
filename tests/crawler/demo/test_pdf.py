"""The hand-written PDF is valid and its Chinese text can be extracted."""

from __future__ import annotations

import io
import re
import subprocess

import pytest

from crawler.demo.pdf import make_pdf
from crawler.demo.site import build_demo_site

TITLE = "示范市统计局2022年政府信息公开工作年度报告"
PARAGRAPHS = ["一、总体情况", "2022年，我局共主动公开政府信息156条，收到依申请公开事项10件。"] * 40


def test_header_trailer_and_xref_offsets():
    data = make_pdf(TITLE, PARAGRAPHS)
    assert data.startswith(b"%PDF-1.4\n")
    assert data.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\n(\d+)\n", data).group(1))
    assert data[startxref:].startswith(b"xref\n0 ")
    table = data[startxref:].split(b"trailer")[0].split(b"\n")
    count = int(table[1].split()[1])
    for number, entry in enumerate(table[3:3 + count - 1], start=1):
        offset = int(entry[:10])
        assert data[offset:].startswith(f"{number} 0 obj".encode())
    assert make_pdf(TITLE, PARAGRAPHS) == data


def test_pypdf_extracts_the_chinese_text():
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(make_pdf(TITLE, PARAGRAPHS)), strict=True)
    assert len(reader.pages) > 1
    first = reader.pages[0].extract_text()
    assert TITLE in first
    assert "主动公开政府信息156条" in first.replace("\n", "")
    assert reader.metadata.title == TITLE
    fonts = reader.pages[0]["/Resources"]["/Font"]
    font = fonts["/F1"].get_object()
    assert font["/Subtype"] == "/Type0" and "/ToUnicode" in font


def test_demo_attachment_pdf_holds_the_report():
    pypdf = pytest.importorskip("pypdf")
    site = build_demo_site()
    data = site.pages["/tjj/zfxxgk/zfxxgknb/202301/P020230120123456789012.pdf"].body
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages).replace("\n", "")
    assert TITLE in text
    assert "三、收到和处理政府信息公开申请情况" in text
    assert "一、本年新收政府信息公开申请数量" in text


def test_pdftotext_extracts_the_chinese_text(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf(TITLE, PARAGRAPHS))
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"],
                            capture_output=True, timeout=20, check=True)
    assert TITLE in result.stdout.decode("utf-8")


def test_rejects_characters_outside_the_bmp():
    with pytest.raises(ValueError):
        make_pdf("😀", [])
