"""extract_detail: merging labelled metadata, head <meta> and the visible title."""

from __future__ import annotations

from crawler.extract import (
    DetailFields,
    extract_detail,
    extract_detail_from_bytes,
    parse_html,
    strip_site_suffix,
)

URL = "http://www.example.gov.cn/zwgk/zfxxgknb/202401/t20240115_123.htm"
PROSE = "根据《中华人民共和国政府信息公开条例》要求，现公布本机关2023年度政府信息公开工作年度报告。"
JSON_KEYS = {"title", "index_no", "publisher", "pub_date", "doc_no", "topic", "report_year",
             "body_text", "attachments", "tables"}


def detail(html: str, **kwargs) -> DetailFields:
    return extract_detail(parse_html(html, base_url=URL), URL, **kwargs)


TRS_PAGE = f"""<html><head>
<meta name="ArticleTitle" content="XX市统计局2023年政府信息公开工作年度报告">
<meta name="PubDate" content="2024-01-15 10:20">
<meta name="ContentSource" content="XX市统计局">
<title>XX市统计局2023年政府信息公开工作年度报告_政府信息公开年报_XX市人民政府</title></head>
<body><div class="nav"><a href="/">首页</a></div>
<table class="xxgk"><tr><td>索引号：</td><td>XX-001/2024-00003</td><td>主题分类：</td><td>统计</td></tr>
<tr><td>发布机构：</td><td>XX市统计局办公室</td><td>发文日期：</td><td>2024-01-12</td></tr>
<tr><td>文&nbsp;&nbsp;号：</td><td></td><td>发布日期：</td><td>2024-01-15</td></tr></table>
<div class="TRS_Editor"><p>{PROSE}</p><p>一、总体情况</p>
<p>附件：<a href="./P020240115.pdf">年报全文.pdf</a></p></div>
<div class="footer">版权所有 来源：XX市人民政府</div></body></html>"""


def test_trs_page_with_metadata_table():
    fields = detail(TRS_PAGE)
    assert fields.title == "XX市统计局2023年政府信息公开工作年度报告"
    assert fields.index_no == "XX-001/2024-00003"
    assert fields.publisher == "XX市统计局办公室"  # the label beats ContentSource
    assert fields.pub_date == "2024-01-15"
    assert fields.written_date == "2024-01-12"
    assert fields.doc_no is None  # shown empty
    assert fields.topic == "统计"
    assert fields.report_year == 2023
    assert fields.body_text.startswith(PROSE)
    assert "一、总体情况" in fields.body_text
    assert fields.attachments == ["http://www.example.gov.cn/zwgk/zfxxgknb/202401/P020240115.pdf"]
    assert fields.missing_fields == []


def test_to_json_dict_has_exactly_the_agreed_keys():
    data = detail(TRS_PAGE).to_json_dict()
    assert set(data) == JSON_KEYS
    data = DetailFields().to_json_dict()
    assert set(data) == JSON_KEYS
    assert data["title"] is None and data["attachments"] == [] and data["body_text"] == ""


def test_head_meta_fills_what_the_page_does_not_label():
    html = f"""<html><head><meta name="ArticleTitle" content="XX区2022年度政府信息公开工作年度报告">
    <meta name="PubDate" content="2023-01-20 00:00"><meta name="ContentSource" content="XX区人民政府办公室">
    </head><body><div id="zoom"><p>{PROSE}</p></div></body></html>"""
    fields = detail(html)
    assert fields.title == "XX区2022年度政府信息公开工作年度报告"
    assert fields.pub_date == "2023-01-20"
    assert fields.publisher == "XX区人民政府办公室"
    assert fields.report_year == 2022
    assert fields.index_no is None
    assert fields.missing_fields == ["index_no"]


def test_no_metadata_page_invents_nothing():
    html = f"""<html><head><title>XX镇2021年政府信息公开工作年度报告 - XX镇人民政府网</title></head>
    <body><h1>XX镇2021年政府信息公开工作年度报告</h1><div><p>{PROSE}</p><p>{PROSE}</p></div></body></html>"""
    fields = detail(html)
    assert fields.title == "XX镇2021年政府信息公开工作年度报告"
    assert fields.report_year == 2021
    assert (fields.index_no, fields.publisher, fields.pub_date, fields.doc_no, fields.topic) == (
        None, None, None, None, None,
    )
    assert fields.missing_fields == ["index_no", "publisher", "pub_date"]
    assert PROSE in fields.body_text


def test_title_from_title_tag_only():
    html = "<html><head><title>XX局2020年度政府信息公开年报_XX局_XX市人民政府</title></head><body></body></html>"
    fields = detail(html)
    assert fields.title == "XX局2020年度政府信息公开年报"
    assert fields.report_year == 2020


def test_title_tag_with_only_the_site_name():
    html = """<html><head><title>XX县人民政府</title></head><body><h1>XX县人民政府</h1>
    <div class="article"><h2 class="art-title">XX县民政局2023年政府信息公开工作年度报告</h2>
    <p>正文。</p></div></body></html>"""
    assert detail(html).title == "XX县民政局2023年政府信息公开工作年度报告"


def test_another_crawlers_wrapper_header():
    html = f"""<html><head><title>XX局2023年政府信息公开年度报告-XX局</title></head><body>
    <div class="meta"><div><strong>标题：</strong>XX局2023年政府信息公开年度报告-XX局</div>
    <div><strong>来源：</strong><a href="http://x.gov.cn/a.shtml">http://x.gov.cn/a.shtml</a></div>
    <div><strong>采集时间：</strong>2025-12-30T21:37:37+08:00</div></div>
    <article><table class="table_content"><tr><td>名称</td><td>XX局2023年政府信息公开年度报告</td></tr>
    <tr><td>索引号</td><td>0143/2024-00002</td><td>发布机构</td><td>XX县XX局</td></tr>
    <tr><td>公开日期</td><td>2024-01-17</td><td>文号</td><td></td></tr></table>
    <h1>XX局2023年政府信息公开年度报告</h1><div id="zoomcon"><p>{PROSE}</p></div></article></body></html>"""
    fields = detail(html)
    assert fields.title == "XX局2023年政府信息公开年度报告"
    assert fields.publisher == "XX县XX局"
    assert fields.pub_date == "2024-01-17"
    assert fields.index_no == "0143/2024-00002"
    assert fields.doc_no is None
    assert fields.report_year == 2023


def test_hanweb_page_with_injected_scripts():
    html = f"""<html><head><script src="static/js/injected.js"></script>
    <meta name="ArticleTitle" content="XX厅2023年度政府信息公开工作年度报告">
    <meta name="PubDate" content="2024-01-30 09:00"><meta name="ContentSource" content="办公室">
    <title>XX厅2023年度政府信息公开工作年度报告</title></head><body>
    <script>document.write('<div>来源：脚本</div>')</script>
    <table class="xxgk"><tr><td>索引号: 002482082/2024-00011</td><td>文件编号: </td><td>发布机构: XX厅</td></tr>
    <tr><td>生成日期: 2024-01-30</td><td>主题分类: 综合政务</td><td>公开方式: 主动公开</td></tr></table>
    <div id="zoom"><meta name="ContentStart"><p>{PROSE}</p><meta name="ContentEnd"></div>
    <script>var injected = "发布日期：1999-01-01";</script></body></html>"""
    fields = detail(html)
    assert fields.title == "XX厅2023年度政府信息公开工作年度报告"
    assert fields.index_no == "002482082/2024-00011"
    assert fields.publisher == "XX厅"
    assert fields.pub_date == "2024-01-30"
    assert fields.doc_no is None
    assert fields.topic == "综合政务"
    assert fields.body_text == PROSE


def test_selectors():
    html = f"""<div class="info"><span>发布机构：甲</span></div><div class="other"><span>发布机构：乙</span></div>
    <div class="content-x"><p>{PROSE}</p></div><div id="zoom"><p>不是正文。</p></div>"""
    fields = detail(html, selectors={"body": ".content-x", "metadata": ".other"})
    assert fields.publisher == "乙"
    assert fields.body_text == PROSE


def test_document_page_has_no_report_year():
    html = """<html><head><meta name="ArticleTitle" content="XX管委会关于废止部分规范性文件的通知"></head>
    <body><div class="TRS_Editor"><p>各单位：经研究，决定废止以下文件。</p></div></body></html>"""
    fields = detail(html)
    assert fields.report_year is None
    assert "report_year" in fields.missing_fields


def test_empty_and_broken_pages():
    fields = detail("")
    assert fields.title is None and fields.body_text == "" and fields.attachments == []
    assert fields.missing_fields == ["title", "index_no", "publisher", "pub_date", "report_year"]
    fields = detail("<div id='zoom'><p>只有正文<table><tr><td>1")
    assert fields.body_text.startswith("只有正文")


def test_extract_from_gbk_bytes_labelled_utf8():
    raw = TRS_PAGE.replace("<head>", '<head><meta charset="utf-8">').encode("gbk")
    fields, decoded = extract_detail_from_bytes(raw, URL, "text/html; charset=utf-8")
    assert decoded.encoding == "gb18030" and not decoded.had_replacements
    assert fields.title == "XX市统计局2023年政府信息公开工作年度报告"
    assert fields.publisher == "XX市统计局办公室"


def test_extract_from_bytes_with_base_href():
    raw = f"""<html><head><base href="http://files.example.gov.cn/nb/"></head>
    <body><div id="zoom"><p>{PROSE}</p><a href="a.pdf">a</a></div></body></html>""".encode()
    fields, _ = extract_detail_from_bytes(raw, URL)
    assert fields.attachments == ["http://files.example.gov.cn/nb/a.pdf"]


def test_strip_site_suffix():
    assert strip_site_suffix("标题很长的报告_栏目_网站") == "标题很长的报告"
    assert strip_site_suffix("标题很长的报告 - 网站") == "标题很长的报告"
    assert strip_site_suffix("标题很长的报告|网站") == "标题很长的报告"
    assert strip_site_suffix("2019-2020学年报告") == "2019-2020学年报告"
    assert strip_site_suffix("") == ""
