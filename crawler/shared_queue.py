"""The scheduler of a distributed crawl's site crawlers: scrapy-redis's, with fewer round trips.

Kept apart from :mod:`crawler.distributed` so that only a distributed crawl imports scrapy-redis
and the Redis client (Scrapy loads the scheduler named in a crawler's settings; an ordinary
crawl never names this one).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from scrapy import Request, Spider
from scrapy_redis.queue import FifoQueue
from scrapy_redis.scheduler import Scheduler

__all__ = ["SharedFifoQueue", "SharedQueueScheduler", "request_dict"]

logger = logging.getLogger(__name__)


# Queue the requests a worker found since its last round trip, each unless its fingerprint was
# seen (an empty fingerprint: a request that skips the fingerprints), then take up to ARGV[1]
# requests: one round trip, and atomic, so a worker killed half-way cannot leave a fingerprint
# whose request was never queued. ARGV = take, then fingerprint and request data pairs.
_QUEUE_AND_TAKE = """
local queued = {}
for i = 2, #ARGV - 1, 2 do
  if ARGV[i] == '' or redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    redis.call('LPUSH', KEYS[2], ARGV[i + 1])
    queued[#queued + 1] = 1
  else
    queued[#queued + 1] = 0
  end
end
local taken = {}
if tonumber(ARGV[1]) > 0 then
  taken = redis.call('RPOP', KEYS[2], ARGV[1]) or {}
end
return {queued, taken}
"""


class SharedQueueScheduler(Scheduler):
    """scrapy-redis's scheduler with fewer round trips to Redis per page.

    scrapy-redis asks Redis three times per request (the dupefilter's SADD, the queue's push,
    the pop) and once more every time Scrapy looks for work and the queue is empty: a fifth of
    a worker's time went to Redis (BENCHMARKS.md). This one:

    * gathers the requests the crawl finds and sends them together: when Scrapy next asks for
      a request (with the pop, in the same round trip), or :attr:`SEND_WITHIN` seconds after
      the first of them was found if Scrapy asks for none meanwhile (``_QUEUE_AND_TAKE``:
      fingerprints checked and requests queued in one script call). A link this worker
      already queued is refused at once, without asking; one another worker had queued is
      found a duplicate when sent, and dropped then (logged and counted as Scrapy's
      dupefilter does);
    * takes up to :attr:`TAKE` requests per pop and hands them out one by one: a request it
      sent itself as the very object it sent (as Scrapy's own scheduler keeps requests),
      others rebuilt from their data. Those it still holds when its crawler closes are put
      back at the head of the shared queue (a worker killed outright loses them for the night,
      as it loses the requests it was fetching and the links it had found but not sent: the
      next night fetches them);
    * after finding the shared queue empty (a pop that got fewer than it asked for), answers
      "none" for :attr:`EMPTY_FOR` seconds without asking, unless this worker found a request
      since (requests other workers queue meanwhile are taken at the next look;
      :class:`SharedQueueKeepAlive` wakes an idle crawler).
    """

    TAKE = 4
    EMPTY_FOR = 0.02
    # Scrapy asks for a request right after each one is queued unless its downloader is full
    # (a polite crawl's requests waiting out the download delay): found requests then still
    # reach the shared queue this soon, for other workers to take.
    SEND_WITHIN = 0.01
    # Requests this worker sent, kept to be handed out as they are if it takes them back
    # (rebuilding one from its data costs more than the round trip it came in); past this
    # many, the oldest are forgotten: another worker took them (a page's links are taken
    # within moments, so a few hundred cover them).
    KEEP_SENT = 500

    def open(self, spider: Any) -> Any:
        self._taken: deque[Any] = deque()
        self._empty_until = 0.0
        # Found, not yet sent: (request, fingerprint or "" when it skips them, its data).
        self._found: list[tuple[Request, str, bytes]] = []
        self._fingerprints: set[str] = set()  # of the requests this worker queued or found
        self._send_call: Any = None  # the pending send of found requests (SEND_WITHIN)
        self._sent: dict[bytes, deque[Request]] = {}
        opened = super().open(spider)
        self._queue_and_take = self.server.register_script(_QUEUE_AND_TAKE)
        return opened

    def close(self, reason: str) -> Any:
        if self._send_call is not None:
            self._send_call.cancel()
            self._send_call = None
        self.send_found()
        if self._taken:
            # Back where they were taken from (the pop end), first-to-take last pushed.
            self.server.rpush(self.queue.key, *[self.queue._encode_request(r) for r in reversed(self._taken)])
            self._taken.clear()
        self._sent.clear()
        return super().close(reason)

    def enqueue_request(self, request: Any) -> bool:
        fingerprint = ""
        if not request.dont_filter:
            fingerprint = self.df.request_fingerprint(request)
            if fingerprint in self._fingerprints:
                self._dropped(request)
                return False
            self._fingerprints.add(fingerprint)
        self._found.append((request, fingerprint, self.queue._encode_request(request)))
        self._empty_until = 0.0
        self._send_soon()
        return True

    def send_found(self) -> None:
        """Queue the requests found and not yet sent (without taking any)."""
        if self._found:
            self._round_trip(take=0)

    def next_request(self) -> Any:
        if not self._taken:
            # Finding a request resets _empty_until: found requests are always sent here.
            if time.monotonic() < self._empty_until:
                return None
            if self._found:
                taken = self._round_trip(take=self.TAKE)
            else:
                taken = self.server.rpop(self.queue.key, self.TAKE) or []
            if len(taken) < self.TAKE:  # the shared queue is empty now
                self._empty_until = time.monotonic() + self.EMPTY_FOR
            if not taken:
                return None
            self._taken.extend(self._request_of(data) for data in taken)
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return self._taken.popleft()

    def has_pending_requests(self) -> bool:
        if self._taken or self._found:
            return True
        if time.monotonic() < self._empty_until:
            return False
        return bool(super().has_pending_requests())

    def __len__(self) -> int:
        return len(self._taken) + len(self._found) + int(super().__len__())

    def _round_trip(self, take: int) -> list[bytes]:
        """Send the found requests and take up to ``take``; what was taken.

        The found requests are forgotten only once Redis has them: if the call fails (Redis
        unreachable), they are sent again with the next one.
        """
        found = self._found
        arguments: list[Any] = [take]
        for _, fingerprint, data in found:
            arguments += [fingerprint, data]
        queued, taken = self._queue_and_take(keys=[self.df.key, self.queue.key], args=arguments)
        self._found = []
        for (request, _, data), was_queued in zip(found, queued, strict=True):
            if was_queued:
                self._remember_sent(request, data)
                if self.stats:
                    self.stats.inc_value("scheduler/enqueued/redis")
            else:  # another worker had queued it
                self._dropped(request)
        return list(taken)

    def _remember_sent(self, request: Request, data: bytes) -> None:
        self._sent.setdefault(data, deque()).append(request)
        if len(self._sent) > self.KEEP_SENT:
            del self._sent[next(iter(self._sent))]

    def _request_of(self, data: bytes) -> Request:
        """The request ``data`` stands for: the one this worker sent, else rebuilt."""
        sent = self._sent.get(data)
        if not sent:
            return self.queue._decode_request(data)
        request = sent.popleft()
        if not sent:
            del self._sent[data]
        return request

    def _dropped(self, request: Request) -> None:
        """A duplicate: logged and counted as Scrapy's own dupefilter does."""
        self.df.log(request, self.spider)
        if self.stats:
            self.stats.inc_value("dupefilter/filtered")

    def _send_soon(self) -> None:
        """Have the found requests sent within SEND_WITHIN even if Scrapy asks for no request
        (no event loop running, as in a test: not needed)."""
        if self._send_call is not None:
            return
        from twisted.internet import reactor  # not at import: that would install a reactor

        if not reactor.running:
            return
        from scrapy.utils.asyncio import call_later

        self._send_call = call_later(self.SEND_WITHIN, self._send_now)

    def _send_now(self) -> None:
        self._send_call = None
        try:
            self.send_found()
        except RedisError as exc:  # Redis unreachable: kept, and sent with the next pop
            logger.warning("could not send found requests to the shared queue: %s", exc)


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
