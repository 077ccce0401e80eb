"""attachment_links: absolute, de-duplicated attachment URLs in document order."""

from __future__ import annotations

from crawler.extract.attachments import attachment_links, is_attachment_url
from crawler.extract.body import body_element
from crawler.extract.page import parse_html

BASE = "http://www.example.gov.cn/xxgk/nb/202401/t20240110_1.htm"


def test_extensions_case_and_query_strings():
    for href in ["a.pdf", "a.PDF", "a.doc", "a.docx", "a.wps", "a.xls", "a.xlsx", "a.et", "a.ofd",
                 "a.zip", "a.rar", "a.pdf?v=2", "a.pdf#page=1",
                 "/module/download/downfile.jsp?classid=0&filename=2401.pdf"]:
        assert is_attachment_url(href), href
    for href in ["a.html", "a.jpg", "pdf", "a.pdf.html", "/list?page=2", "a.doc/x"]:
        assert not is_attachment_url(href), href


def test_links_resolved_deduplicated_in_order():
    html = """<div id="zoom"><p>正文</p>
      <a href="./P020240110512345.pdf">附件1</a>
      <a href="../../files/表格.xlsx">附件2</a>
      <a href="http://other.gov.cn/x.DOCX?token=1">附件3</a>
      <a href="./P020240110512345.pdf">附件1（重复）</a>
      <a href="javascript:download('a.pdf')">js</a>
      <a href="mailto:a@b.cn">mail.doc</a>
      <a href="page.html">网页</a>
      <a>无链接</a></div>"""
    tree = parse_html(html)
    assert attachment_links(body_element(tree), BASE) == [
        "http://www.example.gov.cn/xxgk/nb/202401/P020240110512345.pdf",
        "http://www.example.gov.cn/xxgk/files/%E8%A1%A8%E6%A0%BC.xlsx".replace(
            "%E8%A1%A8%E6%A0%BC", "表格"
        ),
        "http://other.gov.cn/x.DOCX?token=1",
    ]


def test_base_href_is_honoured_by_the_caller():
    from crawler.extract.page import base_url_of

    tree = parse_html('<html><head><base href="http://cdn.example.gov.cn/f/"></head>'
                      '<body><div id="zoom"><a href="a.pdf">a</a></div></body></html>')
    base = base_url_of(tree, BASE)
    assert attachment_links(body_element(tree), base) == ["http://cdn.example.gov.cn/f/a.pdf"]


def test_attachments_listed_under_the_body():
    html = """<div class="main"><div class="article">
        <div class="TRS_Editor"><p>本年度报告全文见附件。</p></div>
        <div class="fj"><span>附件：</span><a href="./P02024.pdf">年报.pdf</a></div>
      </div></div>
      <div class="side"><a href="/sqb.doc">申请表下载</a></div>"""
    tree = parse_html(html)
    assert attachment_links(body_element(tree), BASE) == [
        "http://www.example.gov.cn/xxgk/nb/202401/P02024.pdf"
    ]


def test_body_links_win_over_surroundings():
    html = """<div><div id="zoom"><a href="in.pdf">in</a></div><a href="out.pdf">out</a></div>"""
    tree = parse_html(html)
    assert attachment_links(body_element(tree), BASE) == [
        "http://www.example.gov.cn/xxgk/nb/202401/in.pdf"
    ]


def test_no_attachments():
    tree = parse_html("<div id='zoom'><p>正文</p></div>")
    assert attachment_links(body_element(tree), BASE) == []
    assert attachment_links(None, BASE) == []


def test_href_split_over_lines():
    tree = parse_html('<div id="zoom"><a href="/files/\n  a.pdf">a</a></div>')
    assert attachment_links(body_element(tree), BASE) == ["http://www.example.gov.cn/files/a.pdf"]
