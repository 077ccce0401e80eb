"""Crawling one night's sites with several worker processes that share Redis (scrapy-redis).

Layout in Redis (``{night}`` is the crawl night, ``YYYY-MM-DD`` in Asia/Shanghai by default)::

    nianbao:current_night                  the night workers join when none is named
    nianbao:night:{night}                  hash: run_id, site keys (JSON)
    nianbao:{night}:{site}:start_urls      list of the site's column URLs, popped once
    nianbao:{night}:{site}:requests        request queue, a list (shared by all workers)
    nianbao:{night}:{site}:dupefilter      request fingerprints: every page fetched once
    nianbao:{night}:{site}:busy            hash worker-id -> last time it had work in flight

The dupefilter key is per night, so the next night crawls everything again; the requests a
dead worker had taken (the ones it was fetching, and the few its scheduler,
:class:`crawler.shared_queue.SharedQueueScheduler`, held to fetch next) are lost for that night
and fetched again the next night at the latest; a worker that stops normally puts the ones it
held back. Every worker writes to the shared archive database (PostgreSQL) through the ordinary pipeline; the
archive's upserts keep documents and versions unique whichever worker stores them.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured

from crawler.config import SiteConfig
from crawler.errors import ConfigError

REDIS_URL_ENV = "NIANBAO_REDIS_URL"
NIGHT_TIMEZONE = ZoneInfo("Asia/Shanghai")
PREFIX = "nianbao"
# A worker that has not reported work in flight for this long is taken to be gone.
BUSY_EXPIRY_SECONDS = 120
DISTRIBUTED_SETTING = "NIANBAO_DISTRIBUTED"


def night_of(moment: datetime | None = None) -> str:
    """The crawl night a moment belongs to: its date in Asia/Shanghai."""
    moment = moment or datetime.now(NIGHT_TIMEZONE)
    return moment.astimezone(NIGHT_TIMEZONE).date().isoformat()


def connect(url: str) -> Any:
    """A Redis client for ``url``; an unreachable server is one clear ConfigError."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise ConfigError(f"Redis at {url} is not reachable ({exc})") from None
    return client


@dataclass(frozen=True)
class NightPlan:
    """What a night's crawl covers: its archive run and its sites."""

    night: str
    run_id: int
    site_keys: tuple[str, ...]


class CrawlNights:
    """The Redis side of distributed crawling (keys in the module docstring)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @staticmethod
    def key(night: str, site_key: str, what: str) -> str:
        return f"{PREFIX}:{night}:{site_key}:{what}"

    def enqueue(self, night: str, run_id: int, sites: Sequence[SiteConfig]) -> None:
        """Publish a night: its run, its sites, and each site's column URLs to start from."""
        pipe = self.client.pipeline()
        pipe.hset(f"{PREFIX}:night:{night}", mapping={"run_id": run_id, "sites": json.dumps([s.key for s in sites])})
        for site in sites:
            key = self.key(night, site.key, "start_urls")
            pipe.delete(key)
            pipe.rpush(key, *site.list_urls)
        pipe.set(f"{PREFIX}:current_night", night)
        pipe.execute()

    def plan(self, night: str | None = None) -> NightPlan:
        """The plan of ``night`` (default: the most recently enqueued night)."""
        if night is None:
            current = self.client.get(f"{PREFIX}:current_night")
            if current is None:
                raise ConfigError("no crawl night has been enqueued (run: nianbao crawl --distributed)")
            night = current.decode()
        data = self.client.hgetall(f"{PREFIX}:night:{night}")
        if not data:
            raise ConfigError(f"crawl night {night} has not been enqueued")
        return NightPlan(night=night, run_id=int(data[b"run_id"]), site_keys=tuple(json.loads(data[b"sites"])))

    def pop_start_urls(self, night: str, site_key: str) -> Iterator[str]:
        """The site's start URLs not yet taken by another worker (each goes to one worker)."""
        key = self.key(night, site_key, "start_urls")
        while (url := self.client.lpop(key)) is not None:
            yield url.decode()

    def queued(self, night: str, site_key: str) -> int:
        return int(self.client.llen(self.key(night, site_key, "requests")))

    def mark_busy(self, night: str, site_key: str, worker: str) -> None:
        self.client.hset(self.key(night, site_key, "busy"), worker, time.time())

    def mark_idle(self, night: str, site_key: str, worker: str) -> None:
        self.client.hdel(self.key(night, site_key, "busy"), worker)

    def others_busy(self, night: str, site_key: str, worker: str) -> bool:
        """Whether another live worker still has this site's requests in flight."""
        cutoff = time.time() - BUSY_EXPIRY_SECONDS
        for other, stamp in self.client.hgetall(self.key(night, site_key, "busy")).items():
            if other.decode() != worker and float(stamp) >= cutoff:
                return True
        return False

    def night_busy(self, night: str, site_keys: Sequence[str], worker: str) -> bool:
        return any(self.others_busy(night, key, worker) for key in site_keys)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def site_overrides(night: str, site_key: str, redis_url: str) -> dict[str, Any]:
    """Scrapy settings that put one site's request queue and dupefilter in Redis."""
    return {
        "SCHEDULER": "crawler.shared_queue.SharedQueueScheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "REDIS_URL": redis_url,
        "SCHEDULER_QUEUE_KEY": CrawlNights.key(night, site_key, "requests"),
        "SCHEDULER_DUPEFILTER_KEY": CrawlNights.key(night, site_key, "dupefilter"),
        # A list (LPUSH/RPOP, one command each way) rather than scrapy-redis's default sorted set
        # (a MULTI/ZRANGE/ZREMRANGEBYRANK/EXEC transaction per pop): the spider gives its
        # requests no priorities, and CrawlNights.queued reads the queue's length as a list's.
        "SCHEDULER_QUEUE_CLASS": "crawler.shared_queue.SharedFifoQueue",
        # Other workers still use the queue and fingerprints when this one closes.
        "SCHEDULER_PERSIST": True,
        DISTRIBUTED_SETTING: {"night": night, "site": site_key, "worker": worker_id(), "redis_url": redis_url},
    }


class SharedQueueKeepAlive:
    """Keeps a worker's site crawler open while the shared queue has requests or other
    workers still have requests of that site in flight (they may enqueue more)."""

    HEARTBEAT_SECONDS = 2.0
    # While it waits for work, a site's crawler looks at the shared queue this often: Scrapy
    # itself looks again only every 5 s, which left a worker idle while another filled the queue.
    RECHECK_SECONDS = 0.25

    def __init__(self, crawler: Crawler, nights: CrawlNights, night: str, site: str, worker: str) -> None:
        self.crawler = crawler
        self.nights = nights
        self.night = night
        self.site = site
        self.worker = worker
        self._last_beat = 0.0
        self._recheck: Any = None  # the delayed call that looks at the queue again

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedQueueKeepAlive:
        options = crawler.settings.get(DISTRIBUTED_SETTING)
        if not options:
            raise NotConfigured()
        extension = cls(crawler, CrawlNights(connect(options["redis_url"])), options["night"], options["site"], options["worker"])
        crawler.signals.connect(extension.beat, signal=signals.request_scheduled)
        crawler.signals.connect(extension.beat, signal=signals.response_received)
        crawler.signals.connect(extension.idle, signal=signals.spider_idle)
        crawler.signals.connect(extension.closed, signal=signals.spider_closed)
        return extension

    def beat(self, *args: Any, **kwargs: Any) -> None:
        now = time.monotonic()
        if now - self._last_beat >= self.HEARTBEAT_SECONDS:
            self._last_beat = now
            self.nights.mark_busy(self.night, self.site, self.worker)

    def idle(self, *args: Any, **kwargs: Any) -> None:
        self.nights.mark_idle(self.night, self.site, self.worker)
        self._last_beat = 0.0
        if self.nights.queued(self.night, self.site) or self.nights.others_busy(self.night, self.site, self.worker):
            self._look_again_soon()
            raise DontCloseSpider

    def _look_again_soon(self) -> None:
        from scrapy.utils.asyncio import call_later

        if self._recheck is None:
            self._recheck = call_later(self.RECHECK_SECONDS, self._look_again)

    def _look_again(self) -> None:
        """Wake the engine when another worker has put requests in the shared queue, or when no
        other worker has any in flight any more (the site is done: the spider may close); it
        then finds itself idle again and comes back here, or not. Otherwise wait on."""
        self._recheck = None
        if self.nights.queued(self.night, self.site) or not self.nights.others_busy(self.night, self.site, self.worker):
            wake_engine(self.crawler)
        else:
            self._look_again_soon()

    def closed(self, *args: Any, **kwargs: Any) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None
        self.nights.mark_idle(self.night, self.site, self.worker)


def wake_engine(crawler: Crawler) -> None:
    """Make the crawler's engine ask its scheduler for requests now.

    Scrapy has no public call for this (its engine looks again after each download and every
    5 s); its own scheduling hook is used, and tests/crawler/test_worker.py checks it still exists.
    """
    slot = getattr(crawler.engine, "_slot", None)
    nextcall = getattr(slot, "nextcall", None)
    if nextcall is not None:
        nextcall.schedule()
