"""Distributed crawls: publish a night's sites to Redis, and run workers that crawl them.

``enqueue_night`` records the night's crawl run in the archive and publishes the sites and their
column URLs (:class:`crawler.distributed.CrawlNights`); any number of ``run_worker`` processes,
on any machines sharing the Redis server and the archive database, then crawl the night
together through scrapy-redis queues. The last worker to finish closes the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from crawler.capture.middleware import prepare_capture
from crawler.capture.warc import WarcWriteError
from crawler.config import SiteConfig
from crawler.distributed import CrawlNights, NightPlan, connect, night_of, site_overrides, worker_id
from crawler.errors import ConfigError, StorageError
from crawler.pipelines import DATABASE_SETTING, RUN_ID_SETTING
from crawler.runner import CrawlResult, build_settings, crawl_in_process, result_of_run
from storage import archive
from storage.db import open_archive


def enqueue_night(
    sites: Sequence[SiteConfig], database_url: str, redis_url: str, *, night: str | None = None
) -> NightPlan:
    """Start a night's crawl run and publish its sites for workers to take (first closing, as
    ``abandoned``, runs that dead ``nianbao crawl`` processes left running)."""
    from storage.leases import close_abandoned_runs

    nights = CrawlNights(connect(redis_url))
    night = night or night_of()
    sessions = open_archive(database_url)
    close_abandoned_runs(sessions)
    with sessions() as session, session.begin():
        for site in sites:
            archive.sync_site(session, site)
        run_id = archive.start_run(session, [site.key for site in sites]).id
    nights.enqueue(night, run_id, sites)
    return NightPlan(night=night, run_id=run_id, site_keys=tuple(s.key for s in sites))


def run_worker(
    configured: Sequence[SiteConfig],
    database_url: str,
    redis_url: str,
    *,
    night: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    log_file: Path | None = None,
) -> CrawlResult:
    """Crawl an enqueued night's sites alongside other workers until the night's queues drain."""
    nights = CrawlNights(connect(redis_url))
    plan = nights.plan(night)
    by_key = {site.key: site for site in configured}
    unknown = [key for key in plan.site_keys if key not in by_key]
    if unknown:
        raise ConfigError(f"night {plan.night} has sites this worker's sites file lacks: {', '.join(unknown)}")
    sites = [by_key[key] for key in plan.site_keys]

    settings = build_settings(overrides)
    capture = prepare_capture(settings)  # the WARC folder is writable; files a killed worker left are closed
    settings.set(DATABASE_SETTING, database_url, priority="cmdline")
    settings.set(RUN_ID_SETTING, plan.run_id, priority="cmdline")
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        settings.set("LOG_FILE", str(log_file), priority="cmdline")
    stops = crawl_in_process(
        sites,
        settings,
        site_settings=lambda site: site_overrides(plan.night, site.key, redis_url),
        spider_arguments=lambda site: {"start_url_source": partial(nights.pop_start_urls, plan.night, site.key)},
    )
    if stops.signal is None and not nights.night_busy(plan.night, plan.site_keys, worker_id()):
        sessions = open_archive(database_url)
        with sessions() as session, session.begin():
            archive.finish_run(session, plan.run_id)
    if capture.failure:  # the WARC evidence could not be written: this worker was stopped
        raise WarcWriteError(f"worker on crawl run {plan.run_id} stopped: {capture.failure}")
    if stops.archive_failure:  # the archive could not record an item: this worker was stopped
        raise StorageError(
            f"worker on crawl run {plan.run_id} stopped: the archive could not be written: {stops.archive_failure}"
        )
    return result_of_run(database_url, plan.run_id)
