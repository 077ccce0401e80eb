"""labelled_fields / head_meta on every metadata layout seen on bureau pages."""

from __future__ import annotations

from crawler.extract.metadata import head_meta, labelled_fields, normalize_label
from crawler.extract.page import parse_html


def fields(html: str, **kwargs) -> dict[str, str]:
    return labelled_fields(parse_html(html), **kwargs)


def test_normalize_label():
    assert normalize_label("索&ensp;引&ensp;号：".replace("&ensp;", "\u2002")) == "索引号"
    assert normalize_label("【发布机构】") == "发布机构"
    assert normalize_label("发\u3000布\u00a0日 期:") == "发布日期"


def test_table_layout_with_nbsp_in_labels():
    html = """<table class="xxgk">
      <tr><td>索&nbsp;&nbsp;引&nbsp;号</td><td>11350000MB1234567X/2024-00012</td>
          <td>主题分类</td><td>综合政务</td></tr>
      <tr><td>发文机关</td><td>福建省XX厅</td><td>成文日期</td><td>2024年1月20日</td></tr>
      <tr><td>标&emsp;&emsp;题</td><td colspan="3">福建省XX厅2023年政府信息公开工作年度报告</td></tr>
      <tr><td>发文字号</td><td>闽X〔2024〕3号</td><td>发布日期</td><td>2024-01-25</td></tr>
    </table>"""
    assert fields(html) == {
        "title": "福建省XX厅2023年政府信息公开工作年度报告",
        "index_no": "11350000MB1234567X/2024-00012",
        "publisher": "福建省XX厅",
        "pub_date": "2024-01-25",
        "written_date": "2024-01-20",
        "doc_no": "闽X〔2024〕3号",
        "topic": "综合政务",
    }


def test_th_label_cells_with_colons():
    html = """<table><tr><th>索引号：</th><td>000014349/2024-00001</td></tr>
      <tr><th>发布机构：</th><td>XX市统计局</td></tr></table>"""
    assert fields(html) == {"index_no": "000014349/2024-00001", "publisher": "XX市统计局"}


def test_label_wrapped_in_paragraph_inside_cell():
    html = """<table><tr><td><p><strong>索引号</strong></p></td><td><p>A-1/2023-1</p></td>
      <td><p>发布日期</p></td><td><p>2023-02-01</p></td></tr></table>"""
    assert fields(html) == {"index_no": "A-1/2023-1", "pub_date": "2023-02-01"}


def test_empty_value_cell_is_absent_not_the_next_label():
    html = """<table><tr><td>文号</td><td></td><td>索引号</td><td>X/2024-1</td></tr>
      <tr><td>文件编号: </td><td>发布机构: XX局</td></tr></table>"""
    assert fields(html) == {"index_no": "X/2024-1", "publisher": "XX局"}


def test_header_row_above_value_row():
    html = """<table><tr><th>索引号</th><th>发布机构</th><th>发布日期</th></tr>
      <tr><td>X/2024-7</td><td>XX区教育局</td><td>2024-02-02</td></tr></table>"""
    assert fields(html) == {"index_no": "X/2024-7", "publisher": "XX区教育局", "pub_date": "2024-02-02"}


def test_li_b_layout():
    html = """<ul class="index_box">
      <li><b>索&ensp;引&ensp;号：</b>PZ00101-1700-2023-00059</li>
      <li><b>主题分类：</b><font>无</font></li>
      <li><b>发文机关：</b><font>XX管委会办公室</font></li>
      <li><b>发文字号：</b>XX〔2016〕266号</li>
      <li><b>发布日期：</b>2016-10-26</li>
    </ul>"""
    assert fields(html) == {
        "index_no": "PZ00101-1700-2023-00059",
        "publisher": "XX管委会办公室",
        "pub_date": "2016-10-26",
        "doc_no": "XX〔2016〕266号",
        "topic": "无",
    }


def test_li_with_label_text_then_font_on_later_source_lines():
    html = """<ul><li>
          索&ensp;引&ensp;号：

            <font>PZ-1</font>
        </li></ul>"""
    assert fields(html) == {"index_no": "PZ-1"}


def test_span_runs_on_one_line():
    html = """<div class="lips"><span>发布时间：2014-01-10 00:00</span><em>|</em>
      <span>来源：莆田市统计局</span><span>字号：大 中 小</span></div>"""
    assert fields(html) == {"publisher": "莆田市统计局", "pub_date": "2014-01-10"}


def test_several_pairs_in_one_text_node():
    html = "<div>发布时间：2018-03-20\u3000来源：XX办公室\u3000浏览次数：120</div>"
    assert fields(html) == {"publisher": "XX办公室", "pub_date": "2018-03-20"}


def test_pairs_separated_by_nbsp_runs_and_unknown_labels():
    html = "<p>信息来源：XX县人民政府&nbsp;&nbsp;发布日期：2019年4月2日&nbsp;&nbsp;点击数：</p>"
    assert fields(html) == {"publisher": "XX县人民政府", "pub_date": "2019-04-02"}


def test_adjacent_spans_without_separator():
    html = '<div><span>来源：XX办公室</span><span>时间：2025-03-10 15:35</span></div>'
    assert fields(html) == {"publisher": "XX办公室", "pub_date": "2025-03-10"}


def test_half_width_colon_and_label_value_in_one_cell():
    html = """<table><tr><td>索引号: 002482082/2024-00332</td><td>发布机构: 省教育厅</td></tr>
      <tr><td>生成日期: 2024-10-21</td><td>主题分类: 教育</td></tr></table>"""
    assert fields(html) == {
        "index_no": "002482082/2024-00332",
        "publisher": "省教育厅",
        "written_date": "2024-10-21",
        "topic": "教育",
    }


def test_dt_dd():
    html = """<dl><dt>索引号</dt><dd>XY-2023-1</dd><dt>发文单位</dt><dd>XX市人民政府办公室</dd>
      <dt>公开日期</dt><dd>2023/05/06</dd></dl>"""
    assert fields(html) == {"index_no": "XY-2023-1", "publisher": "XX市人民政府办公室", "pub_date": "2023-05-06"}


def test_bracketed_labels():
    html = "<div>【发布单位】XX局 【发布日期】2022-01-30</div>"
    assert fields(html) == {"publisher": "XX局", "pub_date": "2022-01-30"}


def test_inline_labels_without_colon_in_a_group():
    html = """<ul><li><span class="k">索引号</span><span class="v">Q-1/2021-9</span></li>
      <li><span class="k">发布机构</span><span class="v">XX镇人民政府</span></li></ul>"""
    assert fields(html) == {"index_no": "Q-1/2021-9", "publisher": "XX镇人民政府"}


def test_explicit_publisher_outranks_source():
    html = """<div>来源：新闻办</div><table><tr><td>发布机构：</td><td>省教育厅</td></tr></table>"""
    assert fields(html)["publisher"] == "省教育厅"


def test_source_that_is_a_url_is_not_a_publisher():
    html = '<div><strong>来源：</strong><a href="http://x.gov.cn/a.shtml">http://x.gov.cn/a.shtml</a></div>'
    assert "publisher" not in fields(html)


def test_generic_classification_with_several_values_is_not_a_topic():
    html = """<table><tr><td>分类</td><td>信息公开年报&nbsp;&nbsp;其他&nbsp;&nbsp;报告</td>
      <td>索引号</td><td>1/2</td></tr></table>"""
    assert "topic" not in fields(html)
    html = "<table><tr><td>分类</td><td>统计</td><td>索引号</td><td>1/2</td></tr></table>"
    assert fields(html)["topic"] == "统计"


def test_labels_inside_words_are_not_labels():
    html = """<div>数据来源：国家统计局</div><div>采集时间：2025-12-30</div>
      <table><tr><td>指标名称</td><td>计量单位</td></tr></table>"""
    assert fields(html) == {}


def test_long_body_paragraphs_are_not_read():
    prose = "本机关认真落实条例要求，" * 30
    html = f"<p>{prose}来源：这不是元数据。{prose}</p>"
    assert fields(html) == {}


def test_a_lone_bare_label_cell_in_a_data_table_is_ignored():
    html = "<table><tr><td>名称</td><td>数量</td></tr><tr><td>规章</td><td>0</td></tr></table>"
    assert fields(html) == {}


def test_invalid_values_are_dropped():
    html = "<div>发布日期：见附件</div><div>索引号：无</div>"
    assert fields(html) == {}


def test_no_metadata_page():
    assert fields("<html><body><h1>XX报告</h1><p>正文内容。</p></body></html>") == {}
    assert fields("") == {}


def test_scope_selector():
    html = """<div class="meta">来源：甲局</div><div id="info">来源：乙局</div>"""
    assert fields(html, scope_selector="#info") == {"publisher": "乙局"}
    assert fields(html, scope_selector="#nothing") == {}


def test_exclude_requires_a_metadata_group_inside_the_body():
    tree = parse_html(
        """<div id="zoom"><table><tr><td>发布机构：</td><td>XX局</td></tr></table>
        <p>正文</p><table><tr><td>索引号</td><td>A/1</td><td>发布日期</td><td>2020-01-01</td></tr></table></div>"""
    )
    zoom = tree.get_element_by_id("zoom")
    assert labelled_fields(tree, exclude=zoom) == {"index_no": "A/1", "pub_date": "2020-01-01"}
    assert labelled_fields(tree)["publisher"] == "XX局"


def test_head_meta():
    tree = parse_html(
        """<html><head><meta name="ArticleTitle" content="XX局2023年政府信息公开工作年度报告">
        <meta name="PubDate" content="2024-01-10 09:00"><meta name="ContentSource" content=" XX局  ">
        <meta name="url" content="http://x/a.html"><meta name="Author" content="">
        <meta name="ColumnName" content="年报"></head><body></body></html>"""
    )
    assert head_meta(tree) == {
        "ArticleTitle": "XX局2023年政府信息公开工作年度报告",
        "PubDate": "2024-01-10 09:00",
        "ContentSource": "XX局",
        "Url": "http://x/a.html",
        "ColumnName": "年报",
    }


def test_generic_classification_with_padded_empty_slots_is_not_a_topic():
    html = """<table><tr><td>分类</td><td>信息公开年报
      &nbsp;&nbsp;
      &nbsp;&nbsp;</td><td>索引号</td><td>1/2</td></tr></table>"""
    assert "topic" not in fields(html)


def test_unlabelled_doc_no_above_the_body():
    from crawler.extract.body import body_element
    from crawler.extract.metadata import unlabelled_doc_no

    html = """<div class="side"><ul><li>闽政〔2020〕1号</li></ul><a href="/x">闽政〔2020〕2号</a></div>
      <h1>关于X的通知</h1><div class="fbt">莆统〔2020〕12号</div>
      <div class="TRS_Editor"><p>根据国办公开办函〔2021〕30号要求。</p><p>闽政〔2020〕9号</p></div>"""
    tree = parse_html(html)
    assert unlabelled_doc_no(tree, body_element(tree)) == "莆统〔2020〕12号"
    tree = parse_html(html.replace("莆统〔2020〕12号", ""))
    assert unlabelled_doc_no(tree, body_element(tree)) is None
    assert unlabelled_doc_no(tree, None) is None
