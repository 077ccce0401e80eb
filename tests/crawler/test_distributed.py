"""The shared queue of distributed crawls (crawler/distributed.py), against a real Redis.

Each test stands for what two worker processes do to one site's queue on one night: queue the
links they find, take requests to fetch, and stop.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

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
    # Found again by the same worker (another list page links it): refused at once.
    assert not first.enqueue_request(scrapy.Request("http://a.example/1.htm"))
    first.send_found()
    # The other worker found it too: it learns so when it sends it, and drops it then.
    assert second.enqueue_request(scrapy.Request("http://a.example/1.htm"))
    second.send_found()
    assert CrawlNights(redis.Redis.from_url(redis_url)).queued("2026-12-05", "b0") == 1
    assert first.stats.get_value("dupefilter/filtered") == 1
    assert second.stats.get_value("dupefilter/filtered") == 1
    assert first.stats.get_value("scheduler/enqueued/redis") == 1
    assert not second.stats.get_value("scheduler/enqueued/redis")
    # A request that must be fetched again (a list page re-checked) skips the fingerprints.
    assert second.enqueue_request(scrapy.Request("http://a.example/1.htm", dont_filter=True))
    second.send_found()
    assert len(first) == 2


def test_requests_are_taken_in_order_a_few_at_a_time(redis_url):
    producer, consumer = worker(redis_url), worker(redis_url)
    for n in range(6):
        producer.enqueue_request(scrapy.Request(f"http://a.example/{n}.htm"))
    assert len(producer) == 6 and producer.has_pending_requests()  # found, not sent yet
    producer.send_found()
    taken = [consumer.next_request()]
    # One pop took TAKE requests: the rest stay in the shared queue for the other worker.
    assert len(producer) == 6 - SharedQueueScheduler.TAKE
    assert producer.has_pending_requests() and consumer.has_pending_requests()
    taken += [consumer.next_request() for _ in range(5)]
    assert urls(taken) == [f"http://a.example/{n}.htm" for n in range(6)]
    assert consumer.next_request() is None and not consumer.has_pending_requests()


def test_the_links_of_a_page_go_to_redis_with_the_next_pop_in_one_round_trip(redis_url):
    # A list page yields its twenty report links one by one, then Scrapy asks for a request.
    client = redis.Redis.from_url(redis_url)
    found, other = worker(redis_url), worker(redis_url)

    def commands_sent() -> dict[str, int]:
        return {name: stat["calls"] for name, stat in client.info("commandstats").items()
                if name not in ("cmdstat_config|resetstat", "cmdstat_info")}

    client.config_resetstat()
    for n in range(20):
        assert found.enqueue_request(scrapy.Request(f"http://a.example/{n}.htm"))
    assert commands_sent() == {}  # nothing sent while the page's links are found
    assert found.next_request().url == "http://a.example/0.htm"
    # The twenty links and the pop: one call, the script's (Redis counts the commands it runs too).
    assert commands_sent() == {"cmdstat_evalsha": 1, "cmdstat_sadd": 20, "cmdstat_lpush": 20, "cmdstat_rpop": 1}
    assert urls(found.next_request() for _ in range(SharedQueueScheduler.TAKE - 1)) == [
        f"http://a.example/{n}.htm" for n in range(1, SharedQueueScheduler.TAKE)
    ]
    # The rest are in the shared queue, in order, for either worker.
    assert urls(other.next_request() for _ in range(20 - SharedQueueScheduler.TAKE)) == [
        f"http://a.example/{n}.htm" for n in range(SharedQueueScheduler.TAKE, 20)
    ]


# Run under a real asyncio reactor in a subprocess (a reactor cannot be restarted inside pytest).
SEND_SOON_SCRIPT = """
import json, sys
from scrapy.utils.reactor import install_reactor
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
from twisted.internet import reactor
import redis, scrapy
from crawler.distributed import CrawlNights
from tests.crawler.test_distributed import worker

nights = CrawlNights(redis.Redis.from_url(sys.argv[1]))
found = worker(sys.argv[1])
queued = []

def parse_a_list_page():
    for n in range(3):
        found.enqueue_request(scrapy.Request(f"http://a.example/{n}.htm"))
    queued.append(nights.queued("2026-12-05", "b0"))

def look_from_another_worker():
    queued.append(nights.queued("2026-12-05", "b0"))
    reactor.stop()

reactor.callLater(0, parse_a_list_page)
reactor.callLater(0.2, look_from_another_worker)
reactor.run()
print(json.dumps(queued))
"""


def test_found_requests_reach_the_shared_queue_though_this_worker_asks_for_none(redis_url):
    # A polite crawl's downloader is full (its requests wait out the download delay), so
    # Scrapy asks the scheduler for no request for a while: the links a page yielded must
    # still reach the shared queue soon (SEND_WITHIN), for other workers to take.
    done = subprocess.run([sys.executable, "-c", SEND_SOON_SCRIPT, redis_url], cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    during_the_page, after_it = json.loads(done.stdout.splitlines()[-1])
    assert (during_the_page, after_it) == (0, 3)


def test_a_worker_takes_back_the_requests_it_sent_as_they_were(redis_url):
    # Rebuilding a request from its data (unpickling, finding the callback) cost more than the
    # round trip that brought it; the worker that found a link usually takes it itself.
    found, other = worker(redis_url), worker(redis_url)
    mine = scrapy.Request("http://a.example/mine.htm", meta={"page_kind": "report"})
    theirs = scrapy.Request("http://a.example/theirs.htm", meta={"page_kind": "report"})
    found.enqueue_request(mine)
    found.send_found()
    other.enqueue_request(theirs)
    other.send_found()
    assert found.next_request() is mine
    rebuilt = found.next_request()
    assert rebuilt is not theirs and rebuilt.url == theirs.url and rebuilt.meta == theirs.meta


def test_found_requests_are_kept_when_redis_cannot_take_them(redis_url, monkeypatch):
    found, other = worker(redis_url), worker(redis_url)
    found.enqueue_request(scrapy.Request("http://a.example/kept.htm"))

    def unreachable(*args, **kwargs):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(found, "_queue_and_take", unreachable)
    with pytest.raises(redis.ConnectionError):
        found.next_request()
    assert found.has_pending_requests()  # not lost: sent with the next call that works
    monkeypatch.undo()
    found.send_found()
    assert other.next_request().url == "http://a.example/kept.htm"


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
    busy.send_found()
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
