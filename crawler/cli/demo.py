"""``nianbao demo``: serve the bundled demo site, crawl it, show the archive and the grid."""

from __future__ import annotations

import tomllib
from pathlib import Path

import click

from crawler.cli.context import (
    DEFAULT_SITES_FILE,
    DEMO_SITES_FILENAME,
    Context,
    pass_context,
)
from crawler.cli.crawl import exit_if_interrupted, run_and_report, sites_failed
from crawler.cli.monitor import show_demo_grid
from crawler.config import parse_sites
from crawler.display import render_table, truncate
from crawler.errors import ConfigError, CrawlFailed
from crawler.i18n import gettext as _
from storage import paths

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


@click.command()
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
        raise ConfigError(_("cannot serve the demo site on 127.0.0.1:%(port)s (%(error)s); try --port",
                              port=port, error=exc.strerror)) from None
    try:
        if serve:
            click.echo(_("Serving the demo site at %(url)s/ (Ctrl-C to stop)", url=server.base_url))
            _wait_for_interrupt()
            return
        sites_text = demo_sites_toml(server.base_url)
        data = paths.data_dir()
        data.mkdir(parents=True, exist_ok=True)
        sites_path = data / DEMO_SITES_FILENAME
        sites_path.write_text(sites_text, encoding="utf-8")
        sites = parse_sites(tomllib.loads(sites_text), source=str(sites_path))
        click.echo(_("Demo site serving at %(url)s/ (%(count)d bureaus); crawling…", url=server.base_url, count=len(sites)))
        result = run_and_report(obj, sites, overrides=DEMO_OVERRIDES, quiet=False, verbose=False)
    finally:
        server.stop()
    exit_if_interrupted(result)
    _print_archived(obj, [s.key for s in sites])
    show_demo_grid(obj.database_url, [s.key for s in sites])
    click.echo("")
    click.echo(_("Archive:    %(archive)s", archive=_describe_database(obj.database_url)))
    click.echo(_("Sites file: %(file)s", file=sites_path))
    click.echo(_("Try:        nianbao search 统计  |  nianbao show 1  |  nianbao sites list  |  nianbao alerts list"))
    click.echo(_("            (sites list and alerts send use %(file)s while there is no ./%(default)s)",
                 file=sites_path, default=DEFAULT_SITES_FILE))
    if result.failed_sites:
        raise CrawlFailed(sites_failed(result))


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
    click.echo(_("Archived reports (%(count)d):", count=len(rows)))
    click.echo(render_table([_("id"), _("site"), _("year"), _("published"), _("versions"), _("title")], rows))
