"""``nianbao crawl``, and the crawl helpers ``demo`` and ``worker`` share.

The crawl command's exit status is a contract (:class:`crawler.errors.ExitStatus`, the README's
table): 0 it ran and every site was crawled, 1 it ran and a site failed, 3 it was skipped because
other processes hold the leases of every named site, 130/143 a signal stopped it. The scheduler
reads the outcome from the status alone.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from crawler.cli.context import Context, pass_context
from crawler.config import SiteConfig, select_sites
from crawler.display import render_table
from crawler.errors import ConfigError, CrawlFailed, ExitStatus
from crawler.i18n import gettext as _
from storage import paths


@click.command()
@click.argument("site_keys", nargs=-1, metavar="[SITE]...")
@click.option(
    "-s",
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy setting for this run (repeatable), e.g. -s DOWNLOAD_TIMEOUT=10.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress line, only the summary.")
@click.option("-v", "--verbose", is_flag=True, help="Scrapy's log on stderr instead of the log file.")
@click.option(
    "--distributed",
    is_flag=True,
    help="Only publish the sites to Redis for `nianbao worker` processes to crawl together.",
)
@click.option("--redis", "redis_url", metavar="URL", envvar="NIANBAO_REDIS_URL",
              help="Redis for --distributed ($NIANBAO_REDIS_URL).")
@click.option("--night", metavar="YYYY-MM-DD", help="With --distributed: the crawl night (default: today in Asia/Shanghai).")
@pass_context
def crawl(
    obj: Context,
    site_keys: tuple[str, ...],
    settings: tuple[str, ...],
    quiet: bool,
    verbose: bool,
    distributed: bool,
    redis_url: str | None,
    night: str | None,
) -> None:
    """Crawl the configured sites (all of them when none is named) into the archive.

    Prints a summary per site at the end; exits with status 1 when a site failed (its
    annual-report column could not be fetched). Single dead report links are recorded on the
    run without failing the site. A site whose lease another crawl holds is skipped; when that
    leaves nothing to crawl the exit status is 3. Ctrl-C (or SIGTERM) stops the crawl
    gracefully, keeps what was archived, records the run as interrupted and exits with 130
    (143); press it twice to quit at once. With --distributed the sites are only published to
    Redis; `nianbao worker` processes (on any machines) then crawl them together.

    \b
    Example:
      nianbao --sites sites.example.toml crawl demo-tjj demo-jyj -s DOWNLOAD_TIMEOUT=10
    """
    all_sites, source = obj.sites()
    sites = select_sites(all_sites, site_keys, source)
    if distributed:
        _enqueue(obj, sites, redis_url, night)
        return
    result = run_and_report(obj, sites, overrides=parse_overrides(settings), quiet=quiet, verbose=verbose)
    exit_if_interrupted(result)
    if result.status == "skipped":
        raise click.exceptions.Exit(ExitStatus.SKIPPED)
    if result.failed_sites:
        raise CrawlFailed(sites_failed(result))


def _enqueue(obj: Context, sites: list[SiteConfig], redis_url: str | None, night: str | None) -> None:
    """``crawl --distributed``: publish the night's sites for the workers."""
    from crawler.worker import enqueue_night

    if not redis_url:
        raise ConfigError(_("--distributed needs --redis URL or NIANBAO_REDIS_URL"))
    plan = enqueue_night(sites, obj.database_url, redis_url, night=night)
    click.echo(_("Crawl run %(run)s: %(count)d site(s) enqueued for night %(night)s; start workers with: nianbao worker",
                 run=plan.run_id, count=len(plan.site_keys), night=plan.night))


def sites_failed(result: Any) -> str:
    """The error line of a crawl in which some site failed (exit status 1)."""
    return _("crawl run %(run)s: site(s) failed: %(sites)s", run=result.run_id, sites=", ".join(result.failed_sites))


def exit_if_interrupted(result: Any) -> None:
    """A crawl stopped by SIGINT/SIGTERM exits as the shell expects: 128 + the signal number
    (130 for Ctrl-C, 143 for SIGTERM), after its summary."""
    signum = getattr(result, "signal", None)
    if signum:
        raise click.exceptions.Exit(128 + int(signum))


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``-s NAME=VALUE`` options as Scrapy setting overrides."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(_("-s expects NAME=VALUE, got %(pair)s", pair=repr(pair)))
        overrides[name.strip()] = value.strip()
    return overrides


def run_and_report(obj: Context, sites: list[SiteConfig], *, overrides: dict[str, Any], quiet: bool, verbose: bool) -> Any:
    """Run one crawl of ``sites`` and print what happened (skipped sites, the summary)."""
    from crawler.progress import ProgressBoard
    from crawler.runner import run_crawl

    progress = ProgressBoard() if not quiet and not verbose and sys.stderr.isatty() else None
    log_file = None if verbose else paths.data_dir() / "logs" / "crawl.log"
    result = run_crawl(sites, obj.database_url, overrides=overrides, progress=progress, log_file=log_file)
    if result.abandoned:
        runs = ", ".join(str(run_id) for run_id in result.abandoned)
        click.echo(_("Closed crawl run(s) %(runs)s as abandoned: the process crawling them died", runs=runs), err=True)
    for key, holder in result.skipped.items():
        click.echo(_("Skipped %(site)s: another crawl holds its lease (%(holder)s)", site=key, holder=holder), err=True)
    if result.status == "skipped":
        click.echo(_("Nothing crawled: every site is being crawled by another process."))
        return result
    print_result(result, log_file)
    return result


def print_result(result: Any, log_file: Path | None) -> None:
    """The run's summary table per site, its failures, and where the log is."""
    click.echo("")
    click.echo(_("Crawl run %(run)s: %(status)s", run=result.run_id, status=result.status))
    click.echo(
        render_table(
            [_("site"), _("status"), _("pages"), _("listing"), _("reports"), _("new docs"), _("new versions"),
             _("unchanged"), _("failures")],
            [
                [s.key, s.status, s.pages, s.listing, s.reports_found, s.new_documents, s.new_versions, s.unchanged,
                 s.failures]
                for s in result.sites
            ],
        )
    )
    incomplete = [s for s in result.sites if s.listing_problem]
    if incomplete:
        click.echo("")
        click.echo(_("Incomplete listings (the monitor calls no year missing that these pages could hold):"))
        for s in incomplete:
            click.echo(f"  {s.key}: {s.listing_problem}")
    if result.errors:
        click.echo("")
        click.echo(_("Failures:"))
        failures = [[e.site_key, e.page_kind, e.reason, e.url] for e in result.errors]
        click.echo(render_table([_("site"), _("page"), _("reason"), _("url")], failures, max_width=90))
    if log_file is not None:
        click.echo("\n" + _("Log: %(file)s", file=log_file))
