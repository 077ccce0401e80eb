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
    assert GenericAdapter().next_pages(page) == ["http://x.gov.cn/xxgk/ndbg/list_3.html"]


def test_gkmlpt_json_listing_and_pages():
    url = "http://www.example.gov.cn/gkmlpt/api/all/2?page=1&sid=757"
    text = '{"articles": [{"title": "某局2023年政府信息公开工作年度报告", "url": "http://www.example.gov.cn/gkmlpt/content/1/1/post_1.html"}], "total": 25, "page_size": 10}'
    page = ListPage(url=url, text=text)
    assert [l.title for l in GkmlptAdapter().links(page)] == ["某局2023年政府信息公开工作年度报告"]
    assert GkmlptAdapter().next_pages(page) == [
        "http://www.example.gov.cn/gkmlpt/api/all/2?page=2&sid=757",
        "http://www.example.gov.cn/gkmlpt/api/all/2?page=3&sid=757",
    ]
