"""The spider on saved pages: what it yields for list pages, report pages and failures."""

from __future__ import annotations

import re

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.internet.error import TimeoutError
from twisted.python.failure import Failure

from crawler.config import DEFAULT_REPORT_LINK_PATTERN, SiteConfig
from crawler.items import PageFailureItem, ReportItem
from spiders.annual_reports import AnnualReportSpider, is_report_title
from storage.sectioning import sections_json

SITE = SiteConfig(
    key="demo-tjj",
    name="示范市统计局",
    region="示范市",
    level="department",
    family="trs",
    list_urls=("http://tjj.example.gov.cn/zfxxgknb/index.html",),
)

LIST_PAGE = """<html><body><ul>
<li><a href="./202401/t20240115_1.htm" title="示范市统计局2023年政府信息公开工作年度报告">示范市统计局2023年…</a></li>
<li><a href="./202402/t20240201_2.htm">2023年示范市国民经济和社会发展统计公报</a></li>
<li><a href="./202301/t20230110_3.htm">示范市统计局关于开展统计执法检查的通知</a></li>
<li><a href="./201401/t20140110_4.htm">示范市统计局2013年度政府信息公开年报</a></li>
</ul><script>createPageHTML(2, 0, "index", "html");</script></body></html>"""

REPORT_PAGE = """<html><head>
<meta name="ArticleTitle" content="示范市统计局2023年政府信息公开工作年度报告">
<meta name="PubDate" content="2024-01-15 09:30">
<meta name="ContentSource" content="示范市统计局">
</head><body>
<table class="xxgk"><tr><td>索引号：</td><td>TJJ-2024-0001</td><td>发布机构：</td><td>示范市统计局</td></tr></table>
<div class="TRS_Editor"><p>一、总体情况</p><p>2023年，示范市统计局认真贯彻落实《中华人民共和国政府信息公开条例》。</p>
<p>本年度我局坚持以公开为常态、不公开为例外，围绕统计数据发布和统计服务，主动公开政府信息，依法依规办理政府信息公开申请，政府信息公开工作取得了新的进展。现将有关情况报告如下。</p>
<p>附件：<a href="./P020240115123.pdf">年度报告.pdf</a></p></div>
</body></html>"""


def make_spider(site: SiteConfig = SITE) -> AnnualReportSpider:
    crawler = get_crawler(AnnualReportSpider)
    return AnnualReportSpider.from_crawler(crawler, site=site)


def response(url: str, body: str, meta: dict | None = None, encoding: str = "utf-8") -> HtmlResponse:
    request = Request(url, meta=meta or {})
    headers = {"Content-Type": f"text/html; charset={encoding}"}
    return HtmlResponse(url=url, body=body.encode(encoding), request=request, headers=headers)


@pytest.mark.parametrize(
    "title, expected",
    [
        ("示范市统计局2023年政府信息公开工作年度报告", True),
        ("示范市统计局2013年度政府信息公开年报", True),
        ("2023年示范市国民经济和社会发展统计公报", False),
        ("示范市统计局政府信息公开工作年度报告", False),
        ("示范市统计局关于开展统计执法检查的通知", False),
    ],
)
def test_is_report_title(title, expected):
    assert is_report_title(title, re.compile(DEFAULT_REPORT_LINK_PATTERN)) is expected


def test_list_page_yields_report_requests_and_further_list_pages():
    spider = make_spider()
    url = "http://tjj.example.gov.cn/zfxxgknb/index.html"
    requests = list(spider.parse_list(response(url, LIST_PAGE)))
    reports = [r for r in requests if r.meta["page_kind"] == "report"]
    lists = [r for r in requests if r.meta["page_kind"] == "list"]
    assert [r.url for r in reports] == [
        "http://tjj.example.gov.cn/zfxxgknb/202401/t20240115_1.htm",
        "http://tjj.example.gov.cn/zfxxgknb/201401/t20140110_4.htm",
    ]
    assert reports[0].meta["list_title"] == "示范市统计局2023年政府信息公开工作年度报告"
    assert all(r.callback == spider.parse_report and r.errback == spider.on_error for r in reports)
    assert [r.url for r in lists] == ["http://tjj.example.gov.cn/zfxxgknb/index_1.html"]


def test_report_page_yields_one_item_with_extracted_fields():
    spider = make_spider()
    url = "http://tjj.example.gov.cn/zfxxgknb/202401/t20240115_1.htm"
    item, *requests = spider.parse_report(response(url, REPORT_PAGE, meta={"list_title": "列表标题2023年年度报告"}))
    assert isinstance(item, ReportItem)
    # then one request per attachment, after the report (its body has text of its own)
    assert [r.url for r in requests] == item.attachments
    assert all(r.dont_filter and r.meta["report_url"] == url for r in requests)
    assert requests[0].meta["link_text"] == "年度报告.pdf"
    assert item.site_key == "demo-tjj" and item.url == url
    assert item.title == "示范市统计局2023年政府信息公开工作年度报告"
    assert item.report_year == 2023
    assert item.pub_date == "2024-01-15"
    assert item.publisher == "示范市统计局"
    assert item.index_no == "TJJ-2024-0001"
    assert "认真贯彻落实" in item.body_text
    assert item.attachments == ["http://tjj.example.gov.cn/zfxxgknb/202401/P020240115123.pdf"]
    assert item.list_title == "列表标题2023年年度报告"
    assert item.encoding and item.fetched_at is not None
    # the body's sections, as offsets into the body text (storage.sectioning)
    assert item.sections == sections_json(item.body_text)
    assert [(s["key"], s["heading"], s.get("topic")) for s in item.sections] == [("part1", "一、总体情况", "overview")]


def test_gbk_report_page_decodes():
    spider = make_spider()
    url = "http://xian.example.gov.cn/ndbg/content_1.html"
    item, *_ = spider.parse_report(response(url, REPORT_PAGE, encoding="gbk"))
    assert item.title == "示范市统计局2023年政府信息公开工作年度报告"


def test_page_without_metadata_lists_missing_fields_and_falls_back_to_the_list_title():
    spider = make_spider()
    url = "http://tjj.example.gov.cn/zfxxgknb/201401/t20140110_4.htm"
    body = "<html><body><div class='TRS_Editor'><p>本年度收到依申请公开事项10件。</p></div></body></html>"
    (item,) = list(spider.parse_report(response(url, body, meta={"list_title": "示范市统计局2013年度政府信息公开年报"})))
    assert item.title == "示范市统计局2013年度政府信息公开年报"
    assert item.report_year == 2013
    assert {"index_no", "publisher", "pub_date"} <= set(item.missing_fields)
    assert "title" not in item.missing_fields and "report_year" not in item.missing_fields


def test_empty_page_becomes_a_failure_not_a_report():
    spider = make_spider()
    url = "http://tjj.example.gov.cn/zfxxgknb/201401/empty.htm"
    (item,) = list(spider.parse_report(response(url, "<html><body></body></html>")))
    assert isinstance(item, PageFailureItem)
    assert item.reason == "no report content found on the page"


def test_a_page_whose_reading_raises_fails_alone_with_the_reason(monkeypatch):
    # Stands for a hostile or unforeseen page that trips a bug in extraction: before, the
    # exception went to Scrapy's log and the page left no row; now it is the page's failure.
    import spiders.annual_reports as module

    def broken(*page):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(module, "read_report_page", broken)
    spider = make_spider()
    url = "http://tjj.example.gov.cn/zfxxgknb/202401/deep.htm"
    (item,) = list(spider.parse_report(response(url, REPORT_PAGE)))
    assert isinstance(item, PageFailureItem)
    assert item.url == url and item.page_kind == "report" and item.http_status == 200
    assert item.reason == "reading the page failed: RecursionError: maximum recursion depth exceeded"


def test_errback_turns_http_errors_and_timeouts_into_failure_items():
    spider = make_spider()
    request = Request("http://tjj.example.gov.cn/gone.htm", meta={"page_kind": "report"})
    http_failure = Failure(HttpError(Response(request.url, status=404, request=request)))
    http_failure.request = request
    (item,) = list(spider.on_error(http_failure))
    assert (item.reason, item.http_status, item.page_kind) == ("HTTP 404", 404, "report")

    slow = Request("http://tjj.example.gov.cn/zfxxgknb/index_1.html", meta={"page_kind": "list", "download_timeout": 3})
    timeout = Failure(TimeoutError())
    timeout.request = slow
    (item,) = list(spider.on_error(timeout))
    assert (item.reason, item.page_kind) == ("timeout after 3s", "list")


def test_report_that_is_only_its_attachment_waits_for_the_attachment():
    from crawler.items import AttachmentItem

    spider = make_spider()
    url = "http://tjj.example.gov.cn/zfxxgknb/202401/t20240115_9.htm"
    body = ("<html><head><title>示范市统计局2023年政府信息公开工作年度报告</title></head><body>"
            "<div class='TRS_Editor'><p>附件：<a href='P1.pdf'>年度报告.pdf</a>"
            "<a href='http://files.example.com/P2.docx'>附表.docx</a></p></div></body></html>")
    (first,) = spider.parse_report(response(url, body))
    assert isinstance(first, Request) and first.url.endswith("/P1.pdf") and first.dont_filter
    pdf = Response(first.url, body=b"%PDF-1.4 ...", request=first, headers={"Content-Type": "application/pdf"})
    (second,) = spider.parse_attachment(pdf)
    assert isinstance(second, Request) and second.url == "http://files.example.com/P2.docx"
    failure = Failure(HttpError(Response(second.url, status=404, request=second)))
    failure.request = second
    (item,) = spider.on_attachment_error(failure)
    assert isinstance(item, ReportItem) and item.url == url
    assert [(a.url, a.body is not None, a.error) for a in item.attachment_files] == [
        ("http://tjj.example.gov.cn/zfxxgknb/202401/P1.pdf", True, None),
        ("http://files.example.com/P2.docx", False, "HTTP 404"),
    ]
    assert all(isinstance(a, AttachmentItem) for a in item.attachment_files)
