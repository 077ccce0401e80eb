"""The shared queue of distributed crawls (crawler/distributed.py), against a real Redis.

Each test stands for what two worker processes do to one site's queue on one night: queue the
links they find, take requests to fetch, and stop.
"""

from __future__ import annotations

import inspect

import pytest
import redis
import scrapy
from scrapy.core.engine import ExecutionEngine
from scrapy.utils.test import get_crawler

from crawler.distributed import CrawlNights, site_overrides
from crawler.shared_queue import SharedQueueScheduler
from tests.conftest import REDIS_URL_ENV, service_url


class Spider(scrapy.Spider):
    name = "annual_reports"


@pytest.fixture
def redis_url():
    url = service_url(REDIS_URL_ENV, "Redis")
    redis.Redis.from_url(url).flushdb()
    return url


def worker(redis_url: str) -> SharedQueueScheduler:
    """One worker's scheduler for site "b0" of the night 2026-12-05, opened."""
    crawler = get_crawler(Spider, site_overrides("2026-12-05", "b0", redis_url))
    spider = Spider.from_crawler(crawler)
    scheduler = SharedQueueScheduler.from_crawler(crawler)
    scheduler.open(spider)
    return scheduler


def urls(requests) -> list[str]:
    return [request.url for request in requests]


def test_a_link_found_twice_is_queued_once(redis_url):
    first, second = worker(redis_url), worker(redis_url)
    assert first.enqueue_request(scrapy.Request("http://a.example/1.htm"))
    assert not second.enqueue_request(scrapy.Request("http://a.example/1.htm"))  # the other worker found it too
    assert CrawlNights(redis.Redis.from_url(redis_url)).queued("2026-12-05", "b0") == 1
    # A request that must be fetched again (a list page re-checked) skips the fingerprints.
    assert second.enqueue_request(scrapy.Request("http://a.example/1.htm", dont_filter=True))
    assert len(first) == 2


def test_requests_are_taken_in_order_a_few_at_a_time(redis_url):
    producer, consumer = worker(redis_url), worker(redis_url)
    for n in range(6):
        producer.enqueue_request(scrapy.Request(f"http://a.example/{n}.htm"))
    taken = [consumer.next_request()]
    # One pop took TAKE requests: the rest stay in the shared queue for the other worker.
    assert len(producer) == 6 - SharedQueueScheduler.TAKE
    assert producer.has_pending_requests() and consumer.has_pending_requests()
    taken += [consumer.next_request() for _ in range(5)]
    assert urls(taken) == [f"http://a.example/{n}.htm" for n in range(6)]
    assert consumer.next_request() is None and not consumer.has_pending_requests()


def test_requests_taken_but_not_fetched_go_back_when_the_worker_stops(redis_url):
    stopping, staying = worker(redis_url), worker(redis_url)
    for n in range(5):
        stopping.enqueue_request(scrapy.Request(f"http://a.example/{n}.htm"))
    assert stopping.next_request().url == "http://a.example/0.htm"  # took 0-3, fetched 0
    stopping.close("shutdown")
    # 1, 2 and 3 are back at the head of the queue, before 4.
    assert urls(staying.next_request() for _ in range(4)) == [f"http://a.example/{n}.htm" for n in (1, 2, 3, 4)]


def test_an_empty_queue_is_not_asked_again_at_once_but_new_requests_are_seen(redis_url, monkeypatch):
    idle, busy = worker(redis_url), worker(redis_url)
    assert idle.next_request() is None
    calls = []
    original = idle.server.rpop
    monkeypatch.setattr(idle.server, "rpop", lambda *a, **k: calls.append(a) or original(*a, **k))
    assert idle.next_request() is None and calls == []  # within EMPTY_FOR: no round trip
    busy.enqueue_request(scrapy.Request("http://a.example/new.htm"))
    idle._empty_until = 0.0  # EMPTY_FOR has passed
    assert idle.next_request().url == "http://a.example/new.htm" and len(calls) == 1
    # A request this worker queues itself is seen at once.
    assert idle.next_request() is None
    idle.enqueue_request(scrapy.Request("http://a.example/own.htm"))
    assert idle.next_request().url == "http://a.example/own.htm"


def test_the_engine_hook_used_to_wake_an_idle_crawler_is_still_there():
    # crawler.distributed.wake_engine calls the engine slot's ``nextcall.schedule()``: Scrapy's
    # own way to look for requests again, not a public API; this fails if a Scrapy upgrade
    # moves it (the pinned range is scrapy>=2.19,<2.20).
    source = inspect.getsource(ExecutionEngine)
    assert "self._slot = _Slot(" in source and "self._slot.nextcall.schedule()" in source
