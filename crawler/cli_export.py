"""The ``export`` command: documents as JSONL or CSV, captures as WARC + CDXJ."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from crawler.cli import Context, cli, pass_context
from crawler.errors import ConfigError


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "warc"]), default="jsonl",
              show_default=True, help="jsonl/csv: documents with their latest version; warc: the captures.")
@click.option("--site", "site_keys", multiple=True, metavar="KEY", help="Only this site (repeatable).")
@click.option("--since", metavar="YYYY-MM-DD",
              help="Only documents changed (captures fetched) on or after this date.")
@click.option("--bom", is_flag=True, help="CSV: start with a UTF-8 BOM so Excel reads the file as UTF-8.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE (default: stdout; required for warc, named *.warc.gz).")
@pass_context
def export(obj: Context, fmt: str, site_keys: tuple[str, ...], since: str | None, bom: bool,
           output: Path | None) -> None:
    """Export the archive: documents (JSONL, CSV) or the raw captures (WARC with a CDXJ index).

    JSONL and CSV hold one row per document with its latest version's metadata and text, in a
    fixed column order, UTF-8. The WARC export copies the selected captures' records unchanged
    (with the full responses their revisits refer to) and writes FILE.cdxj beside FILE.warc.gz
    for pywb; ReplayWeb.page opens the WARC file directly.

    \b
    Example:
      nianbao export --format csv --bom --site demo-tjj --output demo-tjj.csv
      nianbao export --format warc --since 2026-01-01 --output nightly.warc.gz
    """
    from crawler import export as exporting
    from crawler.capture.middleware import warc_directory
    from storage.db import open_archive

    since_date = _parse_date(since)
    sessions = open_archive(obj.existing_archive())
    with sessions() as session:
        _check_sites(session, site_keys)
        if fmt == "warc":
            if output is None:
                raise ConfigError("--format warc needs --output FILE.warc.gz")
            done = exporting.export_warc(session, warc_directory(), output, site_keys, since_date)
            click.echo(f"{done.captures} capture(s), {done.records} record(s) -> {done.warc}"
                       f" (index: {done.cdxj})", err=True)
            return
        rows = exporting.document_rows(session, site_keys, since_date)
        writer = exporting.write_csv if fmt == "csv" else exporting.write_jsonl
        kwargs = {"bom": bom} if fmt == "csv" else {}
        if output is None:
            stream = click.get_text_stream("stdout", encoding="utf-8")
            count = writer(rows, stream, **kwargs)
        else:
            try:
                with output.open("w", encoding="utf-8", newline="") as handle:
                    count = writer(rows, handle, **kwargs)
            except OSError as exc:
                raise ConfigError(f"{output}: cannot write ({exc.strerror})") from None
        if output is not None or not sys.stdout.isatty():
            click.echo(f"{count} document(s) exported", err=True)


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--since must be a date YYYY-MM-DD (got {value!r})") from None


def _check_sites(session: object, site_keys: tuple[str, ...]) -> None:
    from sqlalchemy import select

    from storage.models import Site

    if not site_keys:
        return
    known = set(session.scalars(select(Site.key).where(Site.key.in_(site_keys))))  # type: ignore[attr-defined]
    unknown = [k for k in site_keys if k not in known]
    if unknown:
        raise ConfigError(f"no archived site with key {', '.join(repr(k) for k in unknown)}")
