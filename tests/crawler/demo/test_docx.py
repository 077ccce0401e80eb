"""The hand-written .docx opens in python-docx and as a zip archive."""

from __future__ import annotations

import io
import zipfile

import pytest

from crawler.demo.docx import make_docx
from crawler.demo.site import build_demo_site

TITLE = "示范市统计局2021年政府信息公开工作年度报告"
TABLE = [["项目", "自然人", "总计"], ["一、本年新收政府信息公开申请数量", "12", "12"]]


def test_zip_parts_and_escaping():
    data = make_docx("A & <B>", ["x < y", "第二段"], TABLE)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        assert {"[Content_Types].xml", "_rels/.rels", "word/document.xml"} <= names
        document = archive.read("word/document.xml").decode("utf-8")
    assert "A &amp; &lt;B&gt;" in document and "x &lt; y" in document
    assert make_docx("A & <B>", ["x < y", "第二段"], TABLE) == data


def test_python_docx_reads_paragraphs_and_table():
    docx = pytest.importorskip("docx")
    document = docx.Document(io.BytesIO(make_docx(TITLE, ["一、总体情况", "正文 & 数据"], TABLE)))
    assert [p.text for p in document.paragraphs] == [TITLE, "一、总体情况", "正文 & 数据"]
    assert document.paragraphs[0].style.name == "Title"
    assert [[c.text for c in row.cells] for row in document.tables[0].rows] == TABLE
    assert document.core_properties.title == TITLE


def test_demo_attachment_docx_holds_table3():
    docx = pytest.importorskip("docx")
    site = build_demo_site()
    report = next(r for r in site.expected_reports if r.site_key == "demo-tjj" and r.report_year == 2021)
    (path,) = report.attachments
    document = docx.Document(io.BytesIO(site.pages[path].body))
    assert document.paragraphs[0].text == TITLE
    rows = [[c.text for c in row.cells] for row in document.tables[0].rows]
    assert len(rows) == 3 + 25
    data = [[int(v) for v in row[3:]] for row in rows[3:]]
    assert data == report.table3
