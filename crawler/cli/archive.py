"""Commands that read the archive: ``search``, ``show``, ``diff``, ``stats`` and ``serve``."""

from __future__ import annotations

import json
from typing import Any

import click

from crawler.cli.context import Context, pass_context
from crawler.display import display_width, render_table, truncate, truncate_around
from crawler.errors import ConfigError
from crawler.i18n import gettext as _

SNIPPET_COLUMNS = 60  # the snippet column of the search table, cut around the first hit
# Integer arguments are range-checked like the web app's (web.app): past 64 bits SQLite's driver
# raises OverflowError, which would surface as an "internal error" instead of a usage error.
REPORT_YEAR = click.IntRange(1, 9999)
ROW_ID = click.IntRange(1, 2**63 - 1)
VERSION_NUMBER = click.IntRange(1, 2**31 - 1)
SEARCH_FIELDS = ["id", "site", "report_year", "pub_date", "publisher", "title", "version", "score", "snippet", "url"]


@click.command()
@click.argument("query")
@click.option("--site", "sites", multiple=True, metavar="KEY", help="Only this site (repeatable).")
@click.option("--region", help="Only sites whose region contains this text, e.g. 莆田.")
@click.option("--level", type=click.Choice(["department", "government", "township"]), help="Only sites of this level.")
@click.option("--year", type=REPORT_YEAR, help="Report year.")
@click.option("--from-year", type=REPORT_YEAR, help="Report years from this one.")
@click.option("--to-year", type=REPORT_YEAR, help="Report years up to this one.")
@click.option("--publisher", help="Publisher contains this text.")
@click.option("--published-from", metavar="YYYY-MM-DD", help="Published on or after this date.")
@click.option("--published-to", metavar="YYYY-MM-DD", help="Published on or before this date.")
@click.option("--has-tables/--no-tables", default=None, help="Only reports with (or without) parsed statistics tables.")
@click.option("--image-only/--not-image-only", default=None, help="Only image-only reports (or only reports with text).")
@click.option("--section", metavar="SECTION",
              help="Only hits inside this section: overview, proactive, requests, review, problems, other, "
                   "part1 … or words of its heading, e.g. 问题.")
@click.option("--sort", type=click.Choice(["relevance", "date", "date_asc"]), default="relevance", show_default=True)
@click.option("--all-versions", is_flag=True, help="Search every archived version, not only each report's latest.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0, None))
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default="table", show_default=True)
@click.option("--bom", is_flag=True, help="CSV: start with a UTF-8 BOM so Excel reads the file as UTF-8.")
@pass_context
def search(obj: Context, query: str, sites: tuple[str, ...], region: str | None, level: str | None, year: int | None,
           from_year: int | None, to_year: int | None, publisher: str | None, published_from: str | None,
           published_to: str | None, has_tables: bool | None, image_only: bool | None, section: str | None,
           sort: str, all_versions: bool, limit: int, offset: int, fmt: str, bom: bool = False) -> None:
    """Full-text search of the archived reports (title, text and attachment text).

    Finds Chinese words of any length (2-character words such as 复议 too) and phrases; words
    separated by spaces must all occur. Ranked by relevance (BM25, among the most
    recently published 200 matches) or sorted by publication date; a snippet shows the first hit.

    --section keeps a report only when the words occur inside that section of its text: one of
    the six sections of a post-2019 report (overview, proactive, requests, review, problems,
    other), an earlier report's numbered part (part1 …; a part whose heading reads like one of
    the six counts as it too), or Chinese words of the heading (问题 finds 五、存在的主要问题及改进情况
    and its variants). The snippet then comes from that section.

    \b
    Example:
      nianbao search 依申请公开 --year 2023 --format csv
      nianbao search 人员不足 --section 问题
    """
    from storage.db import open_archive
    from storage.search import SearchFilters
    from storage.search import search as run_search
    from storage.sections import parse_section_filter

    if not query.strip():
        raise ConfigError(_("search needs a non-empty query"))
    try:
        parse_section_filter(section)
    except ValueError as exc:
        raise ConfigError(_("--section: %(error)s", error=exc)) from None
    filters = SearchFilters(
        sites=sites, region=region, level=level, year=year, year_from=from_year, year_to=to_year,
        publisher=publisher, published_from=_iso_date(published_from, "--published-from"),
        published_to=_iso_date(published_to, "--published-to"), has_tables=has_tables, image_only=image_only,
        section=section,
    )
    sessions = open_archive(obj.existing_archive())
    with sessions() as session:
        page = run_search(session, query, filters, sort=sort, limit=limit, offset=offset, all_versions=all_versions)
        rows = [hit.as_dict() for hit in page.hits]
        first_hits = [_first_hit(hit.snippet) for hit in page.hits]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if fmt == "csv":
        _write_csv(rows, [*SEARCH_FIELDS, "version_id", "site_name", "region"], bom=bom)
        return
    if not rows:
        click.echo(_("No reports found."))
        return
    click.echo(
        render_table(
            [_("id"), _("site"), _("year"), _("published"), _("title"), _("snippet")],
            [[r["id"], r["site"], r["report_year"], r["pub_date"], truncate(r["title"] or "", 36),
              truncate_around(r["snippet"], *first, SNIPPET_COLUMNS)] for r, first in zip(rows, first_hits, strict=True)],
            max_width=SNIPPET_COLUMNS,
        )
    )
    if page.has_more:
        click.echo(_("More results: --offset %(offset)d", offset=offset + limit))


def _first_hit(segments: list[tuple[str, bool]]) -> tuple[int, int]:
    """Where the snippet's first highlighted part starts and ends ((-1, -1): none)."""
    at = 0
    for part, is_hit in segments:
        if is_hit:
            return at, at + len(part)
        at += len(part)
    return -1, -1


def _iso_date(value: str | None, option: str) -> str | None:
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ConfigError(_("%(option)s expects a date YYYY-MM-DD (got %(value)s)", option=option, value=repr(value))) from None


def _write_csv(rows: list[dict[str, Any]], fields: list[str], *, bom: bool = False) -> None:
    import io

    from crawler.csvsafe import SafeDictWriter

    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")  # so Excel reads the file as UTF-8
    writer = SafeDictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    click.echo(buffer.getvalue(), nl=False)


@click.command()
@click.argument("document_id", type=ROW_ID, metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--raw", is_flag=True, help="Write the latest version's page as archived (from its WARC record) to stdout.")
@pass_context
def show(obj: Context, document_id: int, fmt: str, raw: bool) -> None:
    """Show one archived report: metadata, the URLs it was found at, versions, attachments, the
    latest version's sections (heading, where each starts in the text and how long it is) and
    the latest text.

    \b
    Example:
      nianbao show 1
    """
    from crawler.archive_checks import report_checks
    from crawler.extract.tables.checks import checks_flag, labelled_tables
    from storage import archive
    from storage.db import open_archive
    from storage.identity import urls_of

    sessions = open_archive(obj.existing_archive())
    if raw:
        from storage.evidence import version_bytes, warc_directory

        with sessions() as session:
            # click 8.5 serves get_binary_stream through a module __getattr__ (deprecated), typed object
            stdout = click.get_binary_stream("stdout")  # type: ignore[operator]
            stdout.write(version_bytes(session, warc_directory(), document_id))
        return
    with sessions() as session:
        doc = archive.get_document(session, document_id)
        if doc is None:
            raise ConfigError(_("no archived report with id %(id)d", id=document_id))
        latest = next((v for v in doc.versions if v.id == doc.latest_version_id), doc.versions[-1] if doc.versions else None)
        record: dict[str, Any] = {
            "id": doc.id,
            "site": doc.site.key,
            "url": doc.url,
            "title": doc.title,
            "report_year": doc.report_year,
            "index_no": doc.index_no,
            "publisher": doc.publisher,
            "pub_date": doc.pub_date,
            "doc_no": latest.doc_no if latest else None,
            "topic": latest.topic if latest else None,
            "written_date": latest.written_date if latest else None,
            "missing_fields": list(doc.missing_fields or []),
            "first_seen": _iso(doc.first_seen_at),
            "last_seen": _iso(doc.last_seen_at),
            "attachments": list(latest.attachments or []) if latest else [],
            # every URL the report was found at (it may have moved), most recently seen first
            "urls": [
                {"url": u.url, "first_seen": _iso(u.first_seen_at), "last_seen": _iso(u.last_seen_at)}
                for u in urls_of(session, doc.id)
            ],
            "versions": [
                {
                    "number": v.number,
                    "content_hash": v.content_hash,
                    "first_seen": _iso(v.first_seen_at),
                    "last_seen": _iso(v.last_seen_at),
                    "latest": v.id == doc.latest_version_id,
                }
                for v in doc.versions
            ],
            # the latest version's sections: key, heading, start/end offsets into body_text
            "sections": _sections_of(latest),
            "body_text": latest.body_text if latest else "",
        }
        # The latest version's tables 2/3/4 with the form's labels, and every check (the
        # cross-year one included): passed / failed / not_evaluated, with the failing numbers.
        tables = getattr(latest, "tables", None) if latest else None
        record["tables"] = labelled_tables(tables)
        record["checks"] = report_checks(session, doc.id, tables if isinstance(tables, dict) else None)
        record["checks_flag"] = checks_flag(tables, [c for c in record["checks"] if c["name"] == "cross_year"])
    if fmt == "json":
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    for name in ("id", "site", "url", "title", "report_year", "index_no", "publisher", "pub_date", "doc_no", "topic",
                 "written_date", "first_seen", "last_seen"):
        click.echo(_field(_show_label(name), record[name] if record[name] is not None else "-"))
    if record["missing_fields"]:
        click.echo(_field(_show_label("missing"), ", ".join(record["missing_fields"])))
    click.echo(_field(_show_label("attachments"), len(record["attachments"])))
    for link in record["attachments"]:
        click.echo(f"{'':>15}{link}")
    click.echo(_field(_show_label("urls"), len(record["urls"])))
    for u in record["urls"]:
        click.echo(f"{'':>15}{u['url']}  " + _("(first seen %(first)s, last seen %(last)s)", first=u["first_seen"],
                                                 last=u["last_seen"]))
    click.echo("")
    click.echo(
        render_table(
            [_("version"), _("hash"), _("first seen"), _("last seen"), _("latest")],
            [[v["number"], v["content_hash"][:12], v["first_seen"], v["last_seen"], "*" if v["latest"] else ""]
             for v in record["versions"]],
        )
    )
    _echo_sections(record)
    _echo_checks_and_tables(record)
    click.echo("")
    click.echo(record["body_text"])


SHOW_LABEL_COLUMNS = 13  # ``show`` right-aligns its field labels to this many terminal columns


def _field(label: str, value: Any) -> str:
    """``        title: value`` -- the label right-aligned by terminal columns (CJK labels are wide)."""
    return " " * max(0, SHOW_LABEL_COLUMNS - display_width(label)) + f"{label}: {value}"


def _show_label(name: str) -> str:
    """``show``'s label of a field, in the reader's language."""
    return {
        "id": _("id"), "site": _("site"), "url": _("url"), "title": _("title"), "report_year": _("report_year"),
        "index_no": _("index_no"), "publisher": _("publisher"), "pub_date": _("pub_date"), "doc_no": _("doc_no"),
        "topic": _("topic"), "written_date": _("written_date"), "first_seen": _("first_seen"),
        "last_seen": _("last_seen"), "missing": _("missing"), "attachments": _("attachments"), "urls": _("urls"),
        "sections": _("sections"), "checks": _("checks"), "table format": _("table format"),
    }[name]


def _sections_of(version: Any) -> list[dict[str, Any]] | None:
    """The version's stored sections with each one's length (None: never split)."""
    sections = getattr(version, "sections", None) if version is not None else None
    if sections is None:
        return None
    out = []
    for section in sections:
        if not isinstance(section, dict):
            continue
        row = {k: section.get(k) for k in ("key", "heading", "start", "end")}
        if section.get("topic"):
            row["topic"] = section["topic"]
        if isinstance(row["start"], int) and isinstance(row["end"], int):
            row["length"] = row["end"] - row["start"]
        out.append(row)
    return out


def _echo_sections(record: dict[str, Any]) -> None:
    """``show``'s sections block: key, heading, offsets and length of each section."""
    sections = record.get("sections")
    click.echo("")
    if sections is None:
        click.echo(_field(_show_label("sections"), _("- (not split: archived before sections were recorded)")))
        return
    if not sections:
        click.echo(_field(_show_label("sections"), _("none (no numbered top-level headings in the text)")))
        return
    click.echo(_field(_show_label("sections"), len(sections)))
    click.echo(
        render_table(
            [_("key"), _("heading"), _("start"), _("end"), _("length")],
            [[s["key"] + (f" ({s['topic']})" if s.get("topic") else ""), s["heading"], s["start"], s["end"],
              s.get("length", "")] for s in sections],
            max_width=50,
        )
    )


def _echo_checks_and_tables(record: dict[str, Any]) -> None:
    """``show``'s checks block (failed and not evaluated checks in words) and tables 2/3/4."""
    from crawler.extract.tables.checks import describe_check

    checks = record.get("checks") or []
    tables = record.get("tables")
    if not checks and not (tables and (tables.get("table3") or tables.get("table4") or tables.get("table2"))):
        return
    click.echo("")
    flag = record.get("checks_flag") or "-"
    passed = sum(1 for c in checks if c["status"] == "passed")
    click.echo(_field(_show_label("checks"), _("%(flag)s (%(passed)d of %(count)d passed)", flag=flag, passed=passed,
                                                 count=len(checks))))
    for check in checks:
        if check["status"] != "passed":
            click.echo(f"{'':>15}{describe_check(check)}")
    completeness = (tables or {}).get("completeness") or {}
    for name, info in completeness.items():
        if isinstance(info, dict) and info.get("status") == "incomplete":
            click.echo(f"{'':>15}{name}不完整，缺少：{'；'.join(info.get('missing') or [])}")
    if not tables:
        return
    click.echo(_field(_show_label("table format"), tables.get("format") or "-"))
    if tables.get("table2"):
        click.echo("")
        click.echo("表二 主动公开政府信息情况")
        click.echo(render_table(["信息内容", "数据"], [
            [row["label"], "，".join(f"{v['label']} {v['value']}" for v in row["values"])]
            for row in tables["table2"]
        ], max_width=80))
    if tables.get("table3"):
        click.echo("")
        click.echo("表三 收到和处理政府信息公开申请情况")
        click.echo(render_table(["", *tables["table3"]["columns"]],
                                [[row["label"], *row["values"]] for row in tables["table3"]["rows"]],
                                max_width=40))
    if tables.get("table4"):
        click.echo("")
        click.echo("表四 政府信息公开行政复议、行政诉讼情况")
        click.echo(render_table(["", *tables["table4"]["columns"]],
                                [[row["label"], *row["values"]] for row in tables["table4"]["rows"]]))


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


@click.command()
@click.argument("document_id", type=ROW_ID, metavar="ID")
@click.argument("old", type=VERSION_NUMBER, required=False, metavar="[V1")
@click.argument("new", type=VERSION_NUMBER, required=False, metavar="V2]")
@click.option("--context", default=2, show_default=True, type=click.IntRange(0, 100), help="Unchanged lines around each change.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_context
def diff(obj: Context, document_id: int, old: int | None, new: int | None, context: int, fmt: str) -> None:
    """Show what changed in a report between two of its versions (default: the latest two).

    V1 and V2 are version numbers as listed by `nianbao show ID`. The output is a unified
    diff of the extracted text: lines starting with - were removed, + were added.

    \b
    Example:
      nianbao diff 1 1 2
    """
    from storage.db import open_archive
    from storage.history import pick_versions, unified_diff

    if (old is None) != (new is None):
        raise ConfigError(_("diff needs two version numbers (V1 V2) or none"))
    sessions = open_archive(obj.existing_archive())
    with sessions() as session:
        pair = pick_versions(session, document_id, old, new)
        if pair is None:
            if old is None:
                raise ConfigError(_("no archived report with id %(id)d", id=document_id))
            raise ConfigError(_("report %(id)d has no version %(old)s or %(new)s (see: nianbao show %(id)d)",
                                id=document_id, old=old, new=new))
        before, after = pair
        lines = unified_diff(
            before.body_text or "", after.body_text or "",
            _("version %(number)d (%(seen)s)", number=before.number, seen=_iso(before.first_seen_at)),
            _("version %(number)d (%(seen)s)", number=after.number, seen=_iso(after.first_seen_at)),
            context=context,
        )
        record = {"id": document_id, "old": before.number, "new": after.number, "changed": bool(lines), "diff": lines}
    if fmt == "json":
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    if not lines:
        click.echo(_("Versions %(old)d and %(new)d of report %(id)d have the same text.", old=before.number,
                     new=after.number, id=document_id))
        return
    for line in lines:
        click.echo(line)


@click.command()
@click.option("--site", "sites", multiple=True, metavar="KEY", help="Only this site (repeatable).")
@click.option("--from-year", type=REPORT_YEAR, help="Report years from this one.")
@click.option("--to-year", type=REPORT_YEAR, help="Report years up to this one.")
@click.option("--row", "row_keys", multiple=True, metavar="ROW", help="Only this table-3 row, e.g. new_requests (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "jsonl"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to this file instead of stdout.")
@click.option("--bom", is_flag=True, help="CSV: start with a UTF-8 BOM so Excel reads the file as UTF-8.")
@pass_context
def stats(obj: Context, sites: tuple[str, ...], from_year: int | None, to_year: int | None, row_keys: tuple[str, ...], fmt: str,
          output: str | None, bom: bool = False) -> None:
    """Table-3 figures (applications received and handled) across sites and years.

    One row per report and table-3 row (new_requests, carried_over, granted, ... total,
    carried_forward) with the seven columns natural_person ... total, from each report's latest
    version whose statistics tables were parsed. The checks column says whether the report's
    figures add up: ok, failed (a check failed, the cross-year one included) or incomplete
    (rows of its form are missing, so its checks could not be evaluated).

    \b
    Example:
      nianbao stats --row new_requests --from-year 2019 -o table3.csv
    """
    from crawler.stats import COLUMNS, table3_rows
    from storage.db import open_archive

    sessions = open_archive(obj.existing_archive())
    with sessions() as session:
        rows = [r.as_dict() for r in table3_rows(session, sites, from_year, to_year, row_keys)]
    fields = ["site", "site_name", "region", "level", "report_year", "document_id", "version", "format", "checks", "row",
              *COLUMNS]
    if output:
        import contextlib

        with open(output, "w", encoding="utf-8", newline="") as handle, contextlib.redirect_stdout(handle):
            _emit_stats(rows, fields, fmt, bom)
        click.echo(_("%(count)d row(s) written to %(file)s", count=len(rows), file=output), err=True)
        return
    _emit_stats(rows, fields, fmt, bom)


def _emit_stats(rows: list[dict[str, Any]], fields: list[str], fmt: str, bom: bool = False) -> None:
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    else:
        _write_csv(rows, fields, bom=bom)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--row-cap", default=1000, show_default=True, type=click.IntRange(1, 100_000),
              help="Most rows any page, API answer or download returns.")
@click.option("--time-limit", default=5.0, show_default=True, type=click.FloatRange(0.1, 300),
              help="Seconds a database query may run.")
@pass_context
def serve(obj: Context, host: str, port: int, row_cap: int, time_limit: float) -> None:
    """Serve the archive read-only on the web: search, reports, diffs, coverage, statistics.

    Pages at /, /search?q=…, /reports/ID, /coverage, /stats and /health; the JSON API under
    /api with its OpenAPI document at /openapi.json (docs at /docs). The database is opened
    read-only; every query has a time limit and every answer a row cap.

    \b
    Example:
      nianbao serve --port 8000
    """
    import uvicorn

    from web.app import create_app
    from web.settings import WebSettings

    app = create_app(WebSettings(database_url=obj.database_url, row_cap=row_cap, time_limit=time_limit))
    click.echo(_("Serving the archive read-only at http://%(host)s:%(port)s/ (Ctrl-C to stop)", host=host, port=port),
               err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
