"""The scheduler of a distributed crawl's site crawlers: scrapy-redis's, with fewer round trips.

Kept apart from :mod:`crawler.distributed` so that only a distributed crawl imports scrapy-redis
and the Redis client (Scrapy loads the scheduler named in a crawler's settings; an ordinary
crawl never names this one).
"""

from __future__ import annotations

import inspect
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from scrapy import Request, Spider
from scrapy_redis.queue import FifoQueue
from scrapy_redis.scheduler import Scheduler

__all__ = ["SharedFifoQueue", "SharedQueueScheduler", "request_dict"]


# Queue a request unless its fingerprint was seen, in one round trip and atomically: a worker
# killed between the two steps can no longer leave a fingerprint whose request was never queued.
_ENQUEUE_UNSEEN = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
"""


class SharedQueueScheduler(Scheduler):
    """scrapy-redis's scheduler with fewer round trips to Redis per page.

    scrapy-redis asks Redis three times per request (the dupefilter's SADD, the queue's push,
    the pop) and once more every time Scrapy looks for work and the queue is empty: a fifth of
    a worker's time went to Redis (BENCHMARKS.md). This one:

    * queues with one script call (the SADD and the LPUSH together, see ``_ENQUEUE_UNSEEN``);
    * takes up to :attr:`TAKE` requests per pop and hands them out one by one; those it still
      holds when its crawler closes are put back at the head of the shared queue (a worker
      killed outright loses them for the night, as it loses the requests it was fetching:
      the next night fetches them);
    * after finding the shared queue empty, answers "none" for :attr:`EMPTY_FOR` seconds
      without asking, unless this worker queued a request since (requests other workers queue
      meanwhile are taken at the next look; :class:`SharedQueueKeepAlive` wakes an idle crawler).
    """

    TAKE = 4
    EMPTY_FOR = 0.02

    def open(self, spider: Any) -> Any:
        self._taken: deque[Any] = deque()
        self._empty_until = 0.0
        opened = super().open(spider)
        self._enqueue_unseen = self.server.register_script(_ENQUEUE_UNSEEN)
        return opened

    def close(self, reason: str) -> Any:
        if self._taken:
            # Back where they were taken from (the pop end), first-to-take last pushed.
            self.server.rpush(self.queue.key, *[self.queue._encode_request(r) for r in reversed(self._taken)])
            self._taken.clear()
        return super().close(reason)

    def enqueue_request(self, request: Any) -> bool:
        if request.dont_filter:
            queued = bool(super().enqueue_request(request))
        else:
            fingerprint = self.df.request_fingerprint(request)
            encoded = self.queue._encode_request(request)
            queued = bool(self._enqueue_unseen(keys=[self.df.key, self.queue.key], args=[fingerprint, encoded]))
            if not queued:
                self.df.log(request, self.spider)
            elif self.stats:
                self.stats.inc_value("scheduler/enqueued/redis")
        if queued:
            self._empty_until = 0.0
        return queued

    def next_request(self) -> Any:
        if not self._taken:
            if time.monotonic() < self._empty_until:
                return None
            taken = self.server.rpop(self.queue.key, self.TAKE)
            if not taken:
                self._empty_until = time.monotonic() + self.EMPTY_FOR
                return None
            self._taken.extend(self.queue._decode_request(data) for data in taken)
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return self._taken.popleft()

    def has_pending_requests(self) -> bool:
        if self._taken:
            return True
        if time.monotonic() < self._empty_until:
            return False
        return bool(super().has_pending_requests())

    def __len__(self) -> int:
        return len(self._taken) + int(super().__len__())


class SharedFifoQueue(FifoQueue):
    """scrapy-redis's list queue (LPUSH/RPOP), with requests turned into data by
    :func:`request_dict` rather than Scrapy's ``Request.to_dict``."""

    def _encode_request(self, request: Request) -> bytes:
        return self.serializer.dumps(request_dict(request, self.spider))


def request_dict(request: Request, spider: Spider) -> dict[str, Any]:
    """What ``request.to_dict(spider=spider)`` returns, found faster.

    Scrapy names a request's callback and errback by searching the whole spider with
    ``inspect.getmembers`` for every request it turns into data (95 µs per request on the
    annual-report spider, the bulk of queueing a link in Redis); here the spider class's methods
    are listed once. A callable that is not one of the spider's methods goes to Scrapy's own
    search, which raises its usual error. tests/crawler/test_shared_queue.py holds the two equal.
    """
    methods = _method_names(type(spider))
    callback, errback = _named(request.callback, methods), _named(request.errback, methods)
    if callback is _UNNAMED or errback is _UNNAMED:
        return request.to_dict(spider=spider)
    data: dict[str, Any] = {"url": request.url, "callback": callback, "errback": errback,
                            "headers": dict(request.headers)}
    for attribute in request.attributes:
        data.setdefault(attribute, getattr(request, attribute))
    if type(request) is not Request:  # a FormRequest and other subclasses are named to be rebuilt
        data["_class"] = f"{type(request).__module__}.{type(request).__name__}"
    return data


_UNNAMED = object()
_METHOD_NAMES: dict[type, dict[Callable[..., Any], str]] = {}


def _method_names(spider_class: type) -> dict[Callable[..., Any], str]:
    """The functions of the spider class's methods, by function (the first name Scrapy's
    search would find, which goes through names in sorted order); listed once per class."""
    names = _METHOD_NAMES.get(spider_class)
    if names is None:
        names = {}
        for name, function in inspect.getmembers(spider_class, inspect.isfunction):
            names.setdefault(function, name)
        _METHOD_NAMES[spider_class] = names
    return names


def _named(handler: Any, methods: dict[Callable[..., Any], str]) -> Any:
    """A request's callback or errback as data: its method name, or itself when not callable."""
    if not callable(handler):
        return handler
    function = getattr(handler, "__func__", None)
    if function is None or getattr(handler, "__self__", None) is None:
        return _UNNAMED
    return methods.get(function, _UNNAMED)
