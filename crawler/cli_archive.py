"""Commands that read the archive: ``search`` and ``show``."""

from __future__ import annotations

import json
from typing import Any

import click

from crawler.cli import Context, cli, pass_context
from crawler.display import render_table, truncate
from crawler.errors import ConfigError



@cli.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_context
def search(obj: Context, query: str, limit: int, fmt: str) -> None:
    """Find archived reports whose title or text contains QUERY.

    \b
    Example:
      nianbao search 依申请公开
    """
    from storage import archive
    from storage.db import open_archive

    if not query.strip():
        raise ConfigError("search needs a non-empty query")
    sessions = open_archive(obj.database_url)
    with sessions() as session:
        hits = archive.search_documents(session, query, limit=limit)
        rows = [
            {
                "id": doc.id,
                "site": doc.site.key,
                "report_year": doc.report_year,
                "pub_date": doc.pub_date,
                "title": doc.title,
                "snippet": _snippet(version.body_text, query),
                "url": doc.url,
            }
            for doc, version in hits
        ]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No reports found.")
        return
    click.echo(
        render_table(
            ["id", "site", "year", "published", "title", "snippet"],
            [[r["id"], r["site"], r["report_year"], r["pub_date"], truncate(r["title"] or "", 36), r["snippet"]] for r in rows],
            max_width=50,
        )
    )


def _snippet(text: str, query: str, context: int = 16) -> str:
    flat = " ".join(text.split())
    at = flat.find(query)
    if at < 0:
        return truncate(flat, 40)
    start = max(0, at - context)
    end = min(len(flat), at + len(query) + context)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


@cli.command()
@click.argument("document_id", type=int, metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_context
def show(obj: Context, document_id: int, fmt: str) -> None:
    """Show one archived report: metadata, versions, attachments and the latest text.

    \b
    Example:
      nianbao show 1
    """
    from storage import archive
    from storage.db import open_archive

    sessions = open_archive(obj.database_url)
    with sessions() as session:
        doc = archive.get_document(session, document_id)
        if doc is None:
            raise ConfigError(f"no archived report with id {document_id}")
        latest = next((v for v in doc.versions if v.id == doc.latest_version_id), doc.versions[-1] if doc.versions else None)
        record = {
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
            "body_text": latest.body_text if latest else "",
        }
    if fmt == "json":
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    for name in ("id", "site", "url", "title", "report_year", "index_no", "publisher", "pub_date", "doc_no", "topic", "written_date", "first_seen", "last_seen"):
        click.echo(f"{name:>13}: {record[name] if record[name] is not None else '-'}")
    if record["missing_fields"]:
        click.echo(f"{'missing':>13}: {', '.join(record['missing_fields'])}")
    click.echo(f"{'attachments':>13}: {len(record['attachments'])}")
    for link in record["attachments"]:
        click.echo(f"{'':>15}{link}")
    click.echo("")
    click.echo(
        render_table(
            ["version", "hash", "first seen", "last seen", "latest"],
            [[v["number"], v["content_hash"][:12], v["first_seen"], v["last_seen"], "*" if v["latest"] else ""] for v in record["versions"]],
        )
    )
    click.echo("")
    click.echo(record["body_text"])


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None
