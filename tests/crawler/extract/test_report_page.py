"""read_report_page: one call from a fetched report page to what the spider records."""

from __future__ import annotations

import pickle
import random

from crawler.extract.report_page import read_report_page
from storage.sectioning import sections_json

PAGE = """<html><head><meta name="ArticleTitle" content="示范市统计局2023年政府信息公开工作年度报告"></head>
<body><table><tr><td>发布机构：</td><td>示范市统计局</td></tr></table>
<div class="TRS_Editor"><p>一、总体情况</p><p>2023年，示范市统计局认真贯彻落实《条例》，主动公开政府信息。</p>
<p>二、主动公开政府信息情况</p><p>本年度新制作规范性文件0件。</p></div></body></html>"""


def test_a_report_page_gives_its_fields_encoding_and_sections():
    read = read_report_page(PAGE.encode("gbk"), "http://tjj.example.gov.cn/a.htm",
                            content_type="text/html; charset=gbk")
    assert read.failure is None
    assert read.fields.title == "示范市统计局2023年政府信息公开工作年度报告"
    assert read.fields.publisher == "示范市统计局"
    assert read.encoding == "gb18030"  # GB-family labels fold to their superset
    assert read.sections == sections_json(read.fields.body_text)
    assert [section["heading"] for section in read.sections] == ["一、总体情况", "二、主动公开政府信息情况"]
    # Plain values: what a page read can be handed across processes as.
    assert pickle.loads(pickle.dumps(read)) == read


def test_a_page_with_nothing_on_it_is_a_failure_with_its_reason():
    read = read_report_page(b"<html><body></body></html>", "http://tjj.example.gov.cn/b.htm")
    assert read.failure == "no report content found on the page"
    assert read.sections is None


def test_bytes_that_decode_to_noise_are_a_failure_not_a_report():
    # A server that answers a report URL with binary data labelled as HTML.
    noise = random.Random(14).randbytes(6000)
    read = read_report_page(noise, "http://tjj.example.gov.cn/c.htm", content_type="text/html")
    assert read.failure is not None and read.failure.startswith("undecodable page")
    assert read.sections is None


def test_the_site_selectors_choose_the_body():
    page = PAGE.replace('<div class="TRS_Editor">', '<div id="zoom">')
    read = read_report_page(page.encode(), "http://tjj.example.gov.cn/d.htm", selectors={"body": "#zoom"})
    assert read.failure is None and "主动公开政府信息" in read.fields.body_text
