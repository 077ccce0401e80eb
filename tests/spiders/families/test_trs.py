from spiders.families import ListPage
from spiders.families.trs import TrsAdapter, trs_page_urls

COLUMN = "https://example.gov.cn/zwgk/zfxxgknb/index.html"

TRS_LIST = """<html><body>
<ul class="list">
 <li><a href="./202401/t20240115_1001.htm" title="示范市统计局2023年政府信息公开工作年度报告">示范市统计局2023年政府信息公开工作…</a></li>
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
    urls = TrsAdapter().next_pages(ListPage(url=COLUMN, text=TRS_LIST))
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
