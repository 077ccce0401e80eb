from spiders.families import ListPage
from spiders.families.trs import TrsAdapter, trs_page_urls

COLUMN = "https://example.gov.cn/zwgk/zfxxgknb/index.html"

TRS_LIST = """<html><body>
<ul class="list">
 <li><a href="./202401/t20240115_1001.htm" title="示范市统计局2023年政府信息公开工作年度报告">\
示范市统计局2023年政府信息公开工作…</a></li>
 <li><a href="../other/t20240110_9.htm">关于开展统计执法检查的通知</a></li>
 <li><a href="javascript:void(0)">打印</a></li>
</ul>
<script>createPageHTML(4, 0, "index", "html");</script>
<a href="index_1.html">下一页</a>
</body></html>"""


def test_links_prefer_the_title_attribute_and_resolve_relative_urls():
    links = TrsAdapter().links(ListPage(url=COLUMN, text=TRS_LIST))
    assert [(l.url, l.title) for l in links] == [
        ("https://example.gov.cn/zwgk/zfxxgknb/202401/t20240115_1001.htm", "示范市统计局2023年政府信息公开工作年度报告"),
        ("https://example.gov.cn/zwgk/other/t20240110_9.htm", "关于开展统计执法检查的通知"),
        ("https://example.gov.cn/zwgk/zfxxgknb/index_1.html", "下一页"),
    ]


def test_create_page_html_generates_every_later_page():
    assert trs_page_urls(TRS_LIST, COLUMN) == [
        "https://example.gov.cn/zwgk/zfxxgknb/index_1.html",
        "https://example.gov.cn/zwgk/zfxxgknb/index_2.html",
        "https://example.gov.cn/zwgk/zfxxgknb/index_3.html",
    ]


def test_next_pages_merge_pager_script_and_next_link_without_duplicates():
    urls = TrsAdapter().pagination(ListPage(url=COLUMN, text=TRS_LIST)).urls
    assert urls == [
        "https://example.gov.cn/zwgk/zfxxgknb/index_1.html",
        "https://example.gov.cn/zwgk/zfxxgknb/index_2.html",
        "https://example.gov.cn/zwgk/zfxxgknb/index_3.html",
    ]


def test_count_page_variable_and_column_url_without_file_name():
    text = "<script>var countPage = 3//共多少页</script>"
    assert trs_page_urls(text, "https://example.gov.cn/zfxxgknb/") == [
        "https://example.gov.cn/zfxxgknb/index_1.html",
        "https://example.gov.cn/zfxxgknb/index_2.html",
    ]


def test_single_page_column_has_no_further_pages():
    assert trs_page_urls('<script>createPageHTML(1, 0, "index", "html");</script>', COLUMN) == []
    assert trs_page_urls("<p>no pager</p>", COLUMN) == []


def test_real_pingtan_column(corpus_dev):
    text = (corpus_dev / "pingtan-list" / "page.html").read_text(encoding="utf-8")
    url = "https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/"
    links = TrsAdapter().links(ListPage(url=url, text=text))
    by_url = {l.url: l.title for l in links}
    assert by_url["https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/202503/t20250310_97791.htm"] == (
        "平潭综合实验区2024年度政府信息公开工作年度报告"
    )


def test_real_pingtan_list2_pagebar_plans_its_static_second_page(corpus_dev):
    """Pingtan's column runs TRS's newer list2.trsapi template: no createPageHTML/countPage, a
    pagebar with recordCount '20' and prepage 10, maxStaticIndex 1 -- two static pages."""
    text = (corpus_dev / "pingtan-list" / "page.html").read_text(encoding="utf-8")
    url = "https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/"
    pagination = TrsAdapter().pagination(ListPage(url=url, text=text))
    assert pagination.urls == ["https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/index_1.html"]
    assert [page.number for page in pagination.pages] == [2]
    assert pagination.expected == 2
    assert pagination.unreachable == ()


LIST2 = """<script>
require(["list2.trsapi", "tools"], function(listModel, tools) {{
    listModel({{
        quickMode: "动静结合",
        maxStaticIndex: {static},
        pagebar: {{ prepage: 10, recordCount: '{records}', pgCountMode: "recordCount" }}
    }});
}});
</script>"""


def test_list2_pages_past_the_static_ones_are_reported_unreachable():
    """A long list2.trsapi column: pages past maxStaticIndex come from TRS's search API, which
    a static crawl cannot read; they must show up as unread, not vanish."""
    pagination = TrsAdapter().pagination(ListPage(url=COLUMN, text=LIST2.format(static=2, records=47)))
    assert pagination.expected == 5
    assert pagination.urls == [
        "https://example.gov.cn/zwgk/zfxxgknb/index_1.html",
        "https://example.gov.cn/zwgk/zfxxgknb/index_2.html",
    ]
    assert [number for number, _ in pagination.unreachable] == [4, 5]
    assert "search API" in pagination.unreachable[0][1]


def test_list2_single_page_column():
    pagination = TrsAdapter().pagination(ListPage(url=COLUMN, text=LIST2.format(static=1, records=7)))
    assert pagination.expected == 1 and pagination.pages == () and pagination.unreachable == ()
    assert not pagination.declares_nothing


def test_a_page_without_any_pager_declares_nothing():
    assert TrsAdapter().pagination(ListPage(url=COLUMN, text="<p>no pager</p>")).declares_nothing


def test_real_ordos_mixed_column(corpus_dev):
    """A real TRS column of 鄂尔多斯恩格贝生态示范区 (browser-serialized): ``var countPage = 2``
    declares a second page, and four of its ten items are annual reports."""
    import re

    from spiders.annual_reports import is_report_title

    text = (corpus_dev / "ordos-egb-list" / "page.html").read_text(encoding="utf-8")
    url = "http://example.gov.cn/xxgk/xxgknb/index.html"  # original URL unknown; links are relative
    page = ListPage(url=url, text=text)
    pagination = TrsAdapter().pagination(page)
    assert pagination.expected == 2
    assert pagination.urls == ["http://example.gov.cn/xxgk/xxgknb/index_1.html"]
    pattern = re.compile("年报|年度报告|年度工作报告")
    reports = sorted(l.title for l in TrsAdapter().links(page) if is_report_title(l.title, pattern))
    assert reports == sorted([
        "鄂尔多斯市2019年政府信息公开工作年度报告",
        "鄂尔多斯市人民政府办公室2019年政府信息公开工作年度报告",
        "鄂尔多斯市2018年政府信息公开年度报告",
        "内蒙古自治区2018年政府信息公开工作年度报告",
    ])
