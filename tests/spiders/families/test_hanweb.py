from urllib.parse import parse_qs, urlsplit

from spiders.families import ListPage
from spiders.families.hanweb import HanwebAdapter

COLUMN = "http://jyj.example.gov.cn/col/col1001/index.html"

# In these copies of the markup a trailing backslash continues a line that is one line on the
# page (the string's content is unchanged; it only keeps the source lines short).
FIRST_PAGE = """<html><body><div id="4001">
<script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&webid=1&path=/&columnid=1001\
&unitid=2001&webname=示范&permissiontype=0"></a>]]></nextgroup>
<recordset>
<record><![CDATA[<li><a href="/art/2024/1/20/art_1001_5001.html" title="示范市教育局2023年政府信息公开工作年度报告">\
示范市教育局2023年…</a><span>2024-01-20</span></li>]]></record>
<record><![CDATA[<li><a href="/art/2023/12/1/art_1001_4999.html">关于做好寒假安全工作的通知</a></li>]]></record>
</recordset></datastore></script>
<script>$('#4001').jpage({dataStore: dataStore, totalRecord: 12, perPage: 5, \
proxyUrl: '/module/web/jpage/dataproxy.jsp'});</script>
</div></body></html>"""

PROXY_PAGE = """<?xml version="1.0" encoding="UTF-8"?><datastore><totalrecord>12</totalrecord><totalpage>3</totalpage>
<recordset><record><![CDATA[<li><a href="/art/2021/1/18/art_1001_4001.html" \
title="示范市教育局2020年度政府信息公开工作年度报告">x</a></li>]]></record></recordset></datastore>"""


def test_records_inside_the_xml_script_become_links():
    links = HanwebAdapter().links(ListPage(url=COLUMN, text=FIRST_PAGE))
    assert [(l.url, l.title) for l in links] == [
        ("http://jyj.example.gov.cn/art/2024/1/20/art_1001_5001.html", "示范市教育局2023年政府信息公开工作年度报告"),
        ("http://jyj.example.gov.cn/art/2023/12/1/art_1001_4999.html", "关于做好寒假安全工作的通知"),
    ]


def test_first_page_generates_dataproxy_pages_from_the_totals():
    urls = HanwebAdapter().pagination(ListPage(url=COLUMN, text=FIRST_PAGE)).urls
    assert len(urls) == 2
    for number, url in zip((2, 3), urls, strict=True):
        parts = urlsplit(url)
        assert parts.path == "/module/web/jpage/dataproxy.jsp"
        query = parse_qs(parts.query)
        assert query["page"] == [str(number)]
        assert query["columnid"] == ["1001"] and query["unitid"] == ["2001"] and query["webid"] == ["1"]


def test_dataproxy_answer_yields_links_and_no_further_pages():
    url = "http://jyj.example.gov.cn/module/web/jpage/dataproxy.jsp?page=2&columnid=1001&unitid=2001&webid=1"
    page = ListPage(url=url, text=PROXY_PAGE)
    links = HanwebAdapter().links(page)
    assert [l.title for l in links] == ["示范市教育局2020年度政府信息公开工作年度报告"]
    assert HanwebAdapter().pagination(page).urls == []


def test_plain_html_hanweb_page_falls_back_to_anchors():
    page = ListPage(url=COLUMN, text='<ul><li><a href="/art/2020/1/1/art_1_2.html">示范2019年年度报告</a></li></ul>')
    assert [l.url for l in HanwebAdapter().links(page)] == ["http://jyj.example.gov.cn/art/2020/1/1/art_1_2.html"]
    assert HanwebAdapter().pagination(page).urls == []


POST_COLUMN = """<div id="4001"><script type="text/xml"><datastore>
<recordset>
<record><![CDATA[<li><a href="/art/2024/1/20/art_7_1.html" title="某局2023年政府信息公开工作年度报告">\
某局2023年…</a></li>]]></record>
<record><![CDATA[<li><a href="/art/2023/1/20/art_7_2.html" title="某局2022年政府信息公开工作年度报告">\
某局2022年…</a></li>]]></record>
</recordset></datastore></script></div>
<script>$('#4001').jpage({ dataStore: dataStore, perPage: 2, totalRecord: 11, groupSize: 2,
  proxyUrl: '/module/web/jpage/dataproxy.jsp', barPosition: 'bottom',
  ajaxParam: { col: 1, webid: 3, path: '/', columnid: 1229, sourceContentType: 1, unitid: '4001', \
webname: '某局', permissiontype: 0 } });</script>"""


def test_jpage_without_nextgroup_pages_through_post_groups():
    """Hanweb columns whose datastore has no nextgroup template are paged by the jpage plugin
    itself: POST dataproxy.jsp?startrecord=S&endrecord=E&perpage=P with the ajaxParam form."""
    page = ListPage(url="http://jyj.example.gov.cn/col/col1229/index.html", text=POST_COLUMN)
    pagination = HanwebAdapter().pagination(page)
    proxy = "http://jyj.example.gov.cn/module/web/jpage/dataproxy.jsp"
    assert pagination.urls == [
        f"{proxy}?startrecord=3&endrecord=6&perpage=2",
        f"{proxy}?startrecord=7&endrecord=10&perpage=2",
        f"{proxy}?startrecord=11&endrecord=11&perpage=2",
    ]
    form = dict(pagination.pages[0].form)
    assert form == {
        "col": "1", "webid": "3", "path": "/", "columnid": "1229", "sourceContentType": "1",
        "unitid": "4001", "webname": "某局", "permissiontype": "0",
    }
    assert pagination.expected == 4  # the column page and three groups
    assert pagination.pages[0].key != pagination.pages[1].key
