"""How a distributed crawl's requests become data in the shared Redis queue (crawler/shared_queue.py).

``request_dict`` must give exactly what Scrapy's ``Request.to_dict(spider=...)`` gives (the
data scrapy-redis pickles and another worker rebuilds with ``request_from_dict``), only faster.
The requests are the kinds the annual-report spider queues: list pages (GET, and POST for the
columns some CMSs page by form), report pages and attachments, each with its callback, errback
and meta.
"""

from __future__ import annotations

import pickle

import pytest
import scrapy
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler

from crawler.config import SiteConfig
from crawler.shared_queue import request_dict
from spiders.annual_reports import AnnualReportSpider

SITE = SiteConfig(key="b0", name="第0局", region="基准市", level="department", family="trs",
                  list_urls=("http://127.0.0.1:8080/bureau0/zfxxgknb/index.html",))


@pytest.fixture
def spider() -> AnnualReportSpider:
    return AnnualReportSpider.from_crawler(get_crawler(AnnualReportSpider), site=SITE)


def queued_requests(spider: AnnualReportSpider) -> list[scrapy.Request]:
    return [
        scrapy.Request("http://127.0.0.1:8080/bureau0/zfxxgknb/index_1.html", callback=spider.parse_list,
                       errback=spider.on_error, meta={"page_kind": "list", "column": "c", "number": 2}),
        scrapy.FormRequest("http://127.0.0.1:8080/list2.trsapi", formdata={"page": "2"}, callback=spider.parse_list,
                           errback=spider.on_error, meta={"page_kind": "list"}),
        scrapy.Request("http://127.0.0.1:8080/bureau0/zfxxgknb/t17.htm", callback=spider.parse_report,
                       errback=spider.on_error,
                       meta={"page_kind": "report", "list_title": "第0局2017年政府信息公开工作年度报告", "list_year": 2017}),
        scrapy.Request("http://127.0.0.1:8080/bureau0/P0201.pdf", callback=spider.parse_attachment,
                       errback=spider.on_attachment_error, meta={"page_kind": "attachment"}, priority=5),
        scrapy.Request("http://127.0.0.1:8080/robots.txt", dont_filter=True),  # no callback at all
    ]


def test_request_data_is_what_scrapy_makes_of_it(spider):
    for request in queued_requests(spider):
        assert request_dict(request, spider) == request.to_dict(spider=spider), request.url


def test_request_data_comes_back_as_the_same_request(spider):
    for request in queued_requests(spider):
        rebuilt = request_from_dict(pickle.loads(pickle.dumps(request_dict(request, spider))), spider=spider)
        assert type(rebuilt) is type(request)
        assert (rebuilt.url, rebuilt.method, rebuilt.body, rebuilt.meta, rebuilt.priority, rebuilt.dont_filter) == (
            request.url, request.method, request.body, request.meta, request.priority, request.dont_filter)
        assert (rebuilt.callback, rebuilt.errback) == (request.callback, request.errback)


def test_a_callback_that_is_not_the_spiders_method_fails_as_in_scrapy(spider):
    def elsewhere(response):
        return None

    request = scrapy.Request("http://127.0.0.1:8080/x.htm", callback=elsewhere)
    with pytest.raises(ValueError, match="not an instance method"):
        request.to_dict(spider=spider)
    with pytest.raises(ValueError, match="not an instance method"):
        request_dict(request, spider)
