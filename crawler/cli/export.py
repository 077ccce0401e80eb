"""The ``export`` command: documents as JSONL or CSV, captures as WARC + CDXJ."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, TextIO

import click

from crawler.cli.context import Context, pass_context
from crawler.errors import ConfigError
from crawler.i18n import gettext as _


@click.command()
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
    from storage.db import open_archive
    from storage.evidence import warc_directory

    since_date = _parse_date(since)
    sessions = open_archive(obj.existing_archive())
    with sessions() as session:
        _check_sites(session, site_keys)
        if fmt == "warc":
            if output is None:
                raise ConfigError(_("--format warc needs --output FILE.warc.gz"))
            done = exporting.export_warc(session, warc_directory(), output, site_keys, since_date)
            click.echo(_("%(captures)d capture(s), %(records)d record(s) -> %(warc)s (index: %(cdxj)s)",
                         captures=done.captures, records=done.records, warc=done.warc, cdxj=done.cdxj), err=True)
            return
        rows = exporting.document_rows(session, site_keys, since_date)
        writer: Callable[[Iterable[dict[str, Any]], TextIO], int]
        writer = functools.partial(exporting.write_csv, bom=bom) if fmt == "csv" else exporting.write_jsonl
        if output is None:
            # click 8.5 serves get_text_stream through a module __getattr__ (deprecated), typed object
            stream = click.get_text_stream("stdout", encoding="utf-8")  # type: ignore[operator]
            count = writer(rows, stream)
        else:
            try:
                with output.open("w", encoding="utf-8", newline="") as handle:
                    count = writer(rows, handle)
            except OSError as exc:
                raise ConfigError(_("%(file)s: cannot write (%(error)s)", file=output, error=exc.strerror)) from None
        if output is not None or not sys.stdout.isatty():
            click.echo(_("%(count)d document(s) exported", count=count), err=True)


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(_("--since must be a date YYYY-MM-DD (got %(value)s)", value=repr(value))) from None


def _check_sites(session: object, site_keys: tuple[str, ...]) -> None:
    from sqlalchemy import select

    from storage.models import Site

    if not site_keys:
        return
    known = set(session.scalars(select(Site.key).where(Site.key.in_(site_keys))))  # type: ignore[attr-defined]
    unknown = [k for k in site_keys if k not in known]
    if unknown:
        raise ConfigError(_("no archived site with key %(keys)s", keys=", ".join(repr(k) for k in unknown)))
