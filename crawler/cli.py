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
DEMO_SITES_FILENAME = "demo-sites.toml"
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
        # --db or $NIANBAO_DATABASE_URL named the archive (not the default under the data folder)
        self.database_named = bool(db or os.environ.get(paths.DATABASE_URL_ENV))
        self.sites_file = sites_file

    def existing_archive(self) -> str:
        """The archive URL for a command that only reads it: a SQLite file that does not exist
        is refused (a mistyped --db must not silently create an empty archive that answers
        "no report"). Writing commands (crawl, demo, db migrate) use ``database_url``."""
        require_existing_archive(self.database_url)
        return self.database_url

    def sites(self, *, demo_fallback: bool = False) -> tuple[list[SiteConfig], str]:
        """The configured sites and the file they came from.

        ``demo_fallback`` (commands that only read the sites file: ``sites list``, ``alerts
        send``, the monitor's repeat interval): without --sites / $NIANBAO_SITES and without
        ./sites.toml, the sites file ``nianbao demo`` wrote (DATA/demo-sites.toml) is used, and
        stderr says so. ``crawl`` and the scheduler never fall back to it.
        """
        explicit = self.sites_file
        path = Path(explicit) if explicit else Path(DEFAULT_SITES_FILE)
        if not explicit and not path.exists():
            demo_file = paths.data_dir() / DEMO_SITES_FILENAME
            if demo_fallback and demo_file.is_file():
                click.echo(
                    f"使用演示站点文件 / using the demo's sites file {demo_file}"
                    f" (no --sites, ${SITES_ENV} or ./{DEFAULT_SITES_FILE})",
                    err=True,
                )
                return load_sites(demo_file), str(demo_file)
            hint = f"; the demo's is {demo_file}" if demo_file.is_file() else ""
            raise ConfigError(
                f"no sites file: {path} not found (pass --sites FILE or set {SITES_ENV};"
                f" sites.example.toml shows the format{hint})"
            )
        return load_sites(path), str(path)


def sqlite_file_of(url: str) -> Path | None:
    """The file a ``sqlite://`` URL points at (None: not SQLite, in memory, or a file: URI)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url.strip())
    except ArgumentError:
        return None  # open_archive reports the malformed URL
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def require_existing_archive(url: str) -> None:
    """Refuse a SQLite archive file that does not exist (without creating it)."""
    file = sqlite_file_of(url)
    if file is not None and not file.exists():
        raise ConfigError(
            f"档案库不存在 / no archive at {file}"
            " (run nianbao crawl or nianbao demo first, or check --db / $NIANBAO_DATABASE_URL)"
        )


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
        sites_path = data / DEMO_SITES_FILENAME
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
    click.echo("Try:        nianbao search 统计  |  nianbao show 1  |  nianbao sites list  |  nianbao alerts list")
    click.echo(f"            (sites list and alerts send use {sites_path} while there is no ./{DEFAULT_SITES_FILE})")
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
    configured, _ = obj.sites(demo_fallback=True)
    if obj.database_named:
        obj.existing_archive()  # a mistyped --db is an error; the default archive may not exist yet
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
    from alerts.settings import load_alert_settings

    configured = load_sites(file)
    load_alert_settings(file)  # [alerts] and every alert URL, checked with apprise's own parser
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
    what = not_html(raw)
    if what is not None:
        zh, en = what
        raise ConfigError(f"不是网页：这是{zh} / not an HTML page: {file} is {en}")
    page_url = url or file.resolve().as_uri()
    fields, _ = extract_detail_from_bytes(raw, page_url, forced_encoding=encoding)
    click.echo(json.dumps(fields.to_json_dict(), ensure_ascii=False, indent=2))


# What a saved file that is not a web page starts with: (magic, Chinese name, English name).
_MAGIC = (
    (b"%PDF", "一个 PDF 文件", "a PDF file"),
    (b"PK\x03\x04", "一个 ZIP 压缩包（或 Office 文档）", "a ZIP archive (or an Office document)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "一个旧版 Office 文档", "an old Office (OLE) document"),
    (b"\x89PNG\r\n\x1a\n", "一张 PNG 图片", "a PNG image"),
    (b"\xff\xd8\xff", "一张 JPEG 图片", "a JPEG image"),
    (b"GIF87a", "一张 GIF 图片", "a GIF image"),
    (b"GIF89a", "一张 GIF 图片", "a GIF image"),
    (b"wOFF", "一个 WOFF 字体文件", "a WOFF font file"),
    (b"wOF2", "一个 WOFF2 字体文件", "a WOFF2 font file"),
    (b"OTTO", "一个 OpenType 字体文件", "an OpenType font file"),
    (b"\x00\x01\x00\x00", "一个 TrueType 字体文件", "a TrueType font file"),
    (b"true", "一个 TrueType 字体文件", "a TrueType font file"),
    (b"ttcf", "一个 TrueType 字体集", "a TrueType font collection"),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def not_html(raw: bytes) -> tuple[str, str] | None:
    """What ``raw`` is when it cannot be a saved web page, as (Chinese, English) phrases
    ("一个 PDF 文件", "a PDF file"); None when it may be one.

    Empty (or only whitespace), a known file signature, or binary: NUL bytes (outside a UTF-16
    page), many control bytes, or many bytes undecodable both as UTF-8 and as GB18030.
    """
    if not raw.strip():
        return "一个空文件", "an empty file"
    head = raw[:16]
    for magic, zh, en in _MAGIC:
        if head.startswith(magic) or (magic == b"%PDF" and raw.lstrip()[:4] == magic):
            return zh, en
    if raw.startswith(_UTF16_BOMS):
        return None
    sample = raw[:65536]
    control = sum(1 for b in sample if b < 9 or 13 < b < 32 and b != 27)
    if b"\x00" in sample or control > len(sample) * 0.05:
        return "一个二进制文件", "a binary file"
    # Undecodable bytes under UTF-8 and under GB18030 (which reads GBK/GB2312, and Latin-1
    # pages mostly): a page has next to none in one of them, random data many in both.
    undecodable = min(sample.decode(enc, errors="replace").count("\ufffd") for enc in ("utf-8", "gb18030"))
    text_like = sum(1 for b in sample if 32 <= b < 127 or b in (9, 10, 13))  # a Latin-1 page's markup
    if undecodable > max(8, len(sample) * 0.1) and text_like < len(sample) * 0.7:
        return "一个二进制文件", "a binary file"
    return None


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
