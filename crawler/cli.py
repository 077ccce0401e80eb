"""The ``nianbao`` command line: a thin layer over the library.

Errors nianbao raises on purpose (:mod:`crawler.errors`) become one line on stderr and the
error's exit status: 2 for usage and configuration problems, 1 for a crawl in which some site
failed. Every command's help ends with an example.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from crawler import paths
from crawler.config import SiteConfig, load_sites, parse_sites, select_sites
from crawler.display import render_table, truncate
from crawler.errors import ConfigError, CrawlFailed, NianbaoError

SITES_ENV = "NIANBAO_SITES"
DEFAULT_SITES_FILE = "sites.toml"
DEMO_PORT = 8765
# The demo's slow page answers after DEMO_SLOW_SECONDS; the demo crawl gives up after
# DEMO_TIMEOUT, so the run shows how a timeout is recorded without waiting long.
DEMO_SLOW_SECONDS = 10.0
DEMO_TIMEOUT = 2
DEMO_OVERRIDES = {
    "DOWNLOAD_TIMEOUT": DEMO_TIMEOUT,
    "RETRY_TIMES": 1,
    "AUTOTHROTTLE_START_DELAY": 0.1,
    "DOWNLOAD_DELAY": 0,
}


class Context:
    def __init__(self, db: str | None, sites_file: str | None) -> None:
        self.database_url = paths.database_url(db)
        self.sites_file = sites_file

    def sites(self) -> tuple[list[SiteConfig], str]:
        """The configured sites and the file they came from."""
        explicit = self.sites_file
        path = Path(explicit) if explicit else Path(DEFAULT_SITES_FILE)
        if not explicit and not path.exists():
            raise ConfigError(
                f"no sites file: {path} not found (pass --sites FILE or set {SITES_ENV};"
                " sites.example.toml shows the format)"
            )
        return load_sites(path), str(path)


pass_context = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    metavar="URL",
    help=f"Archive database URL (default: ${paths.DATABASE_URL_ENV}, else "
    f"sqlite:///{paths.DEFAULT_DATA_DIR}/{paths.ARCHIVE_FILENAME}).",
)
@click.option(
    "--sites",
    "sites_file",
    metavar="FILE",
    envvar=SITES_ENV,
    help=f"Sites file (default: ${SITES_ENV}, else ./{DEFAULT_SITES_FILE}).",
)
@click.version_option(package_name="nianbao")
@click.pass_context
def cli(ctx: click.Context, db: str | None, sites_file: str | None) -> None:
    """nianbao (年报): crawl and archive government information-disclosure annual reports.

    Everything nianbao writes by default goes under ./nianbao-data (set NIANBAO_DATA_DIR to
    move it).

    \b
    Example:
      nianbao demo
    """
    ctx.obj = Context(db, sites_file)


# --------------------------------------------------------------------------------------- demo


@cli.command()
@click.option("--port", default=DEMO_PORT, show_default=True, help="Port of the demo site on 127.0.0.1.")
@click.option("--serve", is_flag=True, help="Only serve the demo site until Ctrl-C (no crawl).")
@pass_context
def demo(obj: Context, port: int, serve: bool) -> None:
    """Serve the bundled demo site on 127.0.0.1, crawl it into the archive, show the result.

    The demo site has three bureaus (a TRS column, a Hanweb column and a GBK-encoded county
    site) with a dead link and a slow page, so the run also shows how failures are recorded.

    \b
    Example:
      nianbao demo
      nianbao demo --serve --port 8765   # then: nianbao --sites sites.example.toml crawl demo-tjj
    """
    from crawler.demo.server import DemoServer
    from crawler.demo.site import build_demo_site, demo_sites_toml

    site = build_demo_site(slow_seconds=DEMO_SLOW_SECONDS)
    try:
        server = DemoServer(site, port=port)
        server.start()
    except OSError as exc:
        raise ConfigError(f"cannot serve the demo site on 127.0.0.1:{port} ({exc.strerror}); try --port") from None
    try:
        if serve:
            click.echo(f"Serving the demo site at {server.base_url}/ (Ctrl-C to stop)")
            _wait_for_interrupt()
            return
        sites_text = demo_sites_toml(server.base_url)
        data = paths.data_dir()
        data.mkdir(parents=True, exist_ok=True)
        sites_path = data / "demo-sites.toml"
        sites_path.write_text(sites_text, encoding="utf-8")
        sites = parse_sites(tomllib.loads(sites_text), source=str(sites_path))
        click.echo(f"Demo site serving at {server.base_url}/ ({len(sites)} bureaus); crawling…")
        result = _crawl(obj, sites, overrides=DEMO_OVERRIDES, quiet=False, verbose=False)
    finally:
        server.stop()
    _exit_if_interrupted(result)
    _print_archived(obj, [s.key for s in sites])
    cli_monitor.show_demo_grid(obj.database_url, [s.key for s in sites])
    click.echo("")
    click.echo(f"Archive:    {_describe_database(obj.database_url)}")
    click.echo(f"Sites file: {sites_path}")
    click.echo("Try:        nianbao search 统计  |  nianbao show 1")
    if result.failed_sites:
        raise CrawlFailed(f"crawl run {result.run_id}: site(s) failed: {', '.join(result.failed_sites)}")


def _describe_database(url: str) -> str:
    """A SQLite archive as its absolute file path (what a user deletes); other URLs as given."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + ":memory:"):
        return str(Path(url[len(prefix):]).resolve())
    return url


def _wait_for_interrupt() -> None:
    import time

    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


# -------------------------------------------------------------------------------------- crawl


@cli.command()
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
@click.option("--redis", "redis_url", metavar="URL", envvar="NIANBAO_REDIS_URL", help="Redis for --distributed ($NIANBAO_REDIS_URL).")
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
    run without failing the site. Ctrl-C (or SIGTERM) stops the crawl gracefully, keeps what
    was archived, records the run as interrupted and exits with 130 (143); press it twice to
    quit at once. With --distributed the sites are only published to Redis;
    `nianbao worker` processes (on any machines) then crawl them together.

    \b
    Example:
      nianbao --sites sites.example.toml crawl demo-tjj demo-jyj -s DOWNLOAD_TIMEOUT=10
    """
    all_sites, source = obj.sites()
    sites = select_sites(all_sites, site_keys, source)
    if distributed:
        from crawler.worker import enqueue_night

        if not redis_url:
            raise ConfigError("--distributed needs --redis URL or NIANBAO_REDIS_URL")
        plan = enqueue_night(sites, obj.database_url, redis_url, night=night)
        click.echo(
            f"Crawl run {plan.run_id}: {len(plan.site_keys)} site(s) enqueued for night {plan.night};"
            " start workers with: nianbao worker"
        )
        return
    result = _crawl(obj, sites, overrides=_parse_overrides(settings), quiet=quiet, verbose=verbose)
    _exit_if_interrupted(result)
    if result.failed_sites:
        raise CrawlFailed(f"crawl run {result.run_id}: site(s) failed: {', '.join(result.failed_sites)}")


def _exit_if_interrupted(result: Any) -> None:
    """A crawl stopped by SIGINT/SIGTERM exits as the shell expects: 128 + the signal number
    (130 for Ctrl-C, 143 for SIGTERM), after its summary."""
    signum = getattr(result, "signal", None)
    if signum:
        raise click.exceptions.Exit(128 + int(signum))


def _parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"-s expects NAME=VALUE, got {pair!r}")
        overrides[name.strip()] = value.strip()
    return overrides


def _crawl(obj: Context, sites: list[SiteConfig], *, overrides: dict[str, Any], quiet: bool, verbose: bool) -> Any:
    from crawler.progress import ProgressBoard
    from crawler.runner import run_crawl

    progress = ProgressBoard() if not quiet and not verbose and sys.stderr.isatty() else None
    log_file = None if verbose else paths.data_dir() / "logs" / "crawl.log"
    result = run_crawl(sites, obj.database_url, overrides=overrides, progress=progress, log_file=log_file)
    if result.abandoned:
        runs = ", ".join(str(run_id) for run_id in result.abandoned)
        click.echo(f"Closed crawl run(s) {runs} as abandoned: the process crawling them died", err=True)
    for key, holder in result.skipped.items():
        click.echo(f"Skipped {key}: another crawl holds its lease ({holder})", err=True)
    if result.status == "skipped":
        click.echo("Nothing crawled: every site is being crawled by another process.")
        return result
    _print_result(result, log_file)
    return result


def _print_result(result: Any, log_file: Path | None) -> None:
    """The run's summary table per site, its failures, and where the log is."""
    click.echo("")
    click.echo(f"Crawl run {result.run_id}: {result.status}")
    click.echo(
        render_table(
            ["site", "status", "pages", "listing", "reports", "new docs", "new versions", "unchanged", "failures"],
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
        click.echo("Incomplete listings (the monitor calls no year missing that these pages could hold):")
        for s in incomplete:
            click.echo(f"  {s.key}: {s.listing_problem}")
    if result.errors:
        click.echo("")
        click.echo("Failures:")
        click.echo(render_table(["site", "page", "reason", "url"], [[e.site_key, e.page_kind, e.reason, e.url] for e in result.errors], max_width=90))
    if log_file is not None:
        click.echo(f"\nLog: {log_file}")


def _print_archived(obj: Context, site_keys: list[str]) -> None:
    from storage import archive
    from storage.db import open_archive

    sessions = open_archive(obj.database_url)
    rows = []
    with sessions() as session:
        for key in site_keys:
            documents = archive.list_documents(session, site_key=key, limit=1000)
            counts = archive.version_counts(session, [doc.id for doc in documents])
            for doc in documents:
                rows.append([doc.id, key, doc.report_year, doc.pub_date, counts.get(doc.id, 0), truncate(doc.title or "", 44)])
    click.echo("")
    click.echo(f"Archived reports ({len(rows)}):")
    click.echo(render_table(["id", "site", "year", "published", "versions", "title"], rows))


# -------------------------------------------------------------------------------------- sites


@cli.group()
def sites() -> None:
    """List and check configured sites.

    \b
    Example:
      nianbao --sites sites.example.toml sites list
    """


@sites.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_context
def sites_list(obj: Context, fmt: str) -> None:
    """List the sites of the sites file.

    \b
    Example:
      nianbao --sites sites.example.toml sites list --format json
    """
    configured, _ = obj.sites()
    # Crawl health from the archive: ok, unreachable, broken (unknown before the first crawl),
    # and how the latest crawl read the column (an incomplete listing is a problem of its own).
    health, listings = cli_monitor.site_states(obj.database_url, [s.key for s in configured])
    if fmt == "json":
        click.echo(json.dumps(
            [{**s.as_dict(), "health": health[s.key].state if s.key in health else "unknown",
              "health_reason": health[s.key].reason if s.key in health else None,
              "listing": _listing_json(listings.get(s.key))} for s in configured],
            ensure_ascii=False, indent=2))
        return
    click.echo(
        render_table(
            ["key", "name", "region", "level", "family", "health", "listing", "list URL"],
            [[s.key, s.name, s.region, s.level, s.family,
              health[s.key].state if s.key in health else "unknown",
              listings[s.key].summary() if s.key in listings else "-", s.list_urls[0]] for s in configured],
            max_width=70,
        )
    )
    problems = [(key, state.problem) for key, state in listings.items() if state.problem]
    if problems:
        click.echo("")
        click.echo("Incomplete listings (report years they did not reach are unknown, never missing):")
        for key, problem in problems:
            click.echo(f"  {key}: {problem}")


def _listing_json(state: Any) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "run_id": state.run_id, "complete": state.complete, "pages_expected": state.expected,
        "pages_fetched": state.fetched, "pages_failed": state.failed,
        "unread": [{"page": p.label, "url": p.url, "reason": p.reason} for p in state.unread],
    }


@sites.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def sites_check(file: Path) -> None:
    """Validate a sites file: one line per problem-free site, or one line naming the problem.

    \b
    Example:
      nianbao sites check sites.example.toml
    """
    configured = load_sites(file)
    for site in configured:
        click.echo(f"ok  {site.key}  {site.family}  {site.level}  {site.name}")
    click.echo(f"{file}: {len(configured)} site(s) valid")


# ------------------------------------------------------------------------------------ extract


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", help="The page's original URL (resolves relative attachment links).")
@click.option("--encoding", help="Force the page encoding instead of detecting it.")
def extract(file: Path, url: str | None, encoding: str | None) -> None:
    """Extract one saved report page and print its fields as JSON.

    Keys: title, index_no, publisher, pub_date (YYYY-MM-DD), doc_no, topic, report_year,
    body_text, attachments (absolute URLs), tables (the statistics tables 2, 3, 4 with their
    format and consistency checks, or estimated numbers from pre-2019 prose); a field the page
    does not show is null.

    \b
    Example:
      nianbao extract saved/t20250310_97791.htm --url https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/202503/t20250310_97791.htm
    """
    from crawler.extract import extract_detail_from_bytes

    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read ({exc.strerror})") from None
    if encoding:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ConfigError(f"unknown encoding {encoding!r}") from None
    page_url = url or file.resolve().as_uri()
    fields, _ = extract_detail_from_bytes(raw, page_url, forced_encoding=encoding)
    click.echo(json.dumps(fields.to_json_dict(), ensure_ascii=False, indent=2))


# ---------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: run the CLI, turning nianbao's errors into one line."""
    try:
        status = cli.main(args=list(argv) if argv is not None else None, prog_name="nianbao", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except NianbaoError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_status)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the edge: a bug still gets one readable line
        if os.environ.get("NIANBAO_DEBUG"):
            raise
        click.echo(f"Error: internal error {type(exc).__name__}: {exc} (set NIANBAO_DEBUG=1 for details)", err=True)
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)


# Commands kept in their own modules register themselves on ``cli`` when imported.
from crawler import (  # noqa: E402,F401
    cli_archive,  # search, show, diff, stats, serve
    cli_db,  # db migrate, db copy
    cli_export,  # export
    cli_monitor,  # monitor, alerts, scheduler
    cli_worker,  # worker
)
