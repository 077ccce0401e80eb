"""``nianbao worker``: one of several processes crawling an enqueued night together."""

from __future__ import annotations

import click

from crawler.cli.context import Context, pass_context
from crawler.cli.crawl import parse_overrides, print_result, sites_failed
from crawler.errors import ConfigError, CrawlFailed
from crawler.i18n import gettext as _
from storage import paths


@click.command()
@click.option("--redis", "redis_url", metavar="URL", envvar="NIANBAO_REDIS_URL", help="The shared Redis ($NIANBAO_REDIS_URL).")
@click.option("--night", metavar="YYYY-MM-DD", help="The night to work on (default: the last one enqueued).")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE", help="Override a Scrapy setting (repeatable).")
@click.option("-v", "--verbose", is_flag=True, help="Scrapy's log on stderr instead of the log file.")
@pass_context
def worker(obj: Context, redis_url: str | None, night: str | None, settings: tuple[str, ...], verbose: bool) -> None:
    """Crawl an enqueued night's sites together with other workers, until the queues drain.

    Every worker reads the same sites file and writes to the same archive (use PostgreSQL when
    workers run on several machines); requests and fingerprints are shared through Redis, so
    each page is fetched once per night whichever worker takes it.

    \b
    Example:
      nianbao --db postgresql+psycopg2://nianbao@db/nianbao worker --redis redis://127.0.0.1:6379/0
    """
    from crawler.worker import run_worker

    if not redis_url:
        raise ConfigError(_("worker needs --redis URL or NIANBAO_REDIS_URL"))
    configured, _source = obj.sites()
    log_file = None if verbose else paths.data_dir() / "logs" / "worker.log"
    result = run_worker(configured, obj.database_url, redis_url, night=night, overrides=parse_overrides(settings),
                        log_file=log_file)
    print_result(result, log_file)
    if result.status == "failed":
        raise CrawlFailed(sites_failed(result))
