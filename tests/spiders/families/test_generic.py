from spiders.families import ListPage
from spiders.families.generic import GenericAdapter
from spiders.families.gkmlpt import GkmlptAdapter

PAGE = """<html><head><base href="http://x.gov.cn/xxgk/ndbg/"></head><body>
<div class="nav"><a href="/">首页</a></div>
<ul class="reports"><li><a href="content_1.html">示范县2023年政府信息公开工作年度报告</a></li>
<li><a href="content_1.html#top">示范县2023年政府信息公开工作年度报告</a></li>
<li><a href="mailto:a@b.cn">联系我们</a></li></ul>
<div class="pager"><a href="list.html">上一页</a> <a href="list_3.html">下一页</a></div>
</body></html>"""


def test_links_resolve_against_base_href_and_drop_fragments_and_mailto():
    links = GenericAdapter().links(ListPage(url="http://x.gov.cn/xxgk/ndbg/list_2.html", text=PAGE))
    urls = [l.url for l in links]
    assert "http://x.gov.cn/xxgk/ndbg/content_1.html" in urls
    assert urls.count("http://x.gov.cn/xxgk/ndbg/content_1.html") == 1
    assert not any(u.startswith("mailto") for u in urls)


def test_list_links_selector_limits_the_scope():
    page = ListPage(url="http://x.gov.cn/xxgk/ndbg/list_2.html", text=PAGE, selectors={"list_links": "ul.reports"})
    assert [l.title for l in GenericAdapter().links(page)] == ["示范县2023年政府信息公开工作年度报告"]


def test_next_page_anchor():
    page = ListPage(url="http://x.gov.cn/xxgk/ndbg/list_2.html", text=PAGE)
    assert GenericAdapter().pagination(page).urls == ["http://x.gov.cn/xxgk/ndbg/list_3.html"]


def test_gkmlpt_json_listing_and_pages():
    url = "http://www.example.gov.cn/gkmlpt/api/all/2?page=1&sid=757"
    text = (
        '{"articles": [{"title": "某局2023年政府信息公开工作年度报告", '
        '"url": "http://www.example.gov.cn/gkmlpt/content/1/1/post_1.html"}], "total": 25, "page_size": 10}'
    )
    page = ListPage(url=url, text=text)
    assert [l.title for l in GkmlptAdapter().links(page)] == ["某局2023年政府信息公开工作年度报告"]
    assert GkmlptAdapter().pagination(page).urls == [
        "http://www.example.gov.cn/gkmlpt/api/all/2?page=2&sid=757",
        "http://www.example.gov.cn/gkmlpt/api/all/2?page=3&sid=757",
    ]


def test_gkmlpt_total_and_page_without_a_page_size_field():
    """Guangdong's gkmlpt answers carry only total and page: the first page's article count is
    the page size."""
    url = "http://www.example.gov.cn/gkmlpt/api/all/2?page=1&sid=757"
    articles = ", ".join(
        f'{{"title": "某局{2000 + n}年政府信息公开工作年度报告", "url": "/gkmlpt/content/1/1/post_{n}.html"}}'
        for n in range(10)
    )
    page = ListPage(url=url, text=f'{{"articles": [{articles}], "total": 23, "page": 1}}')
    pagination = GkmlptAdapter().pagination(page)
    assert pagination.expected == 3
    assert [p.number for p in pagination.pages] == [2, 3]
    later = ListPage(url=url.replace("page=1", "page=3"), text='{"articles": [], "total": 23, "page": 3}')
    assert GkmlptAdapter().pagination(later).pages == ()


def test_probe_url_siblings():
    from spiders.families import probe_url

    assert probe_url("http://x.gov.cn/ndbg/", 1) == "http://x.gov.cn/ndbg/index_1.html"
    assert probe_url("http://x.gov.cn/ndbg/index.htm", 2) == "http://x.gov.cn/ndbg/index_2.htm"
    assert probe_url("http://x.gov.cn/ndbg/list.shtml?x=1", 3) == "http://x.gov.cn/ndbg/list_3.shtml"
    assert probe_url("http://x.gov.cn/ndbg/index_1.html", 2) == "http://x.gov.cn/ndbg/index_2.html"
    assert probe_url("http://x.gov.cn/col.jsp?id=3", 1) is None
