"""Table-3 statistics (applications received and handled) across sites and years.

The extraction step stores each version's parsed tables on ``versions.tables`` as JSON::

    {"format": "2021" | "2019" | "prose" | None,
     "table3": {"columns": [...7 names...], "rows": {row_key: [7 ints], ...}}, ...}

This module reads the latest version of every document that has a table 3 and flattens it:
one :class:`Table3Row` per (document, row key), for CSV export, and :func:`yearly_totals` for
charts. Each row carries its report's ``checks`` flag (ok / failed / incomplete, see
:mod:`crawler.archive_checks`) so an analysis can leave out figures that do not add up.
Without the ``tables`` column (an archive before the extraction migration) there is simply
nothing to report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.archive_checks import checks_flags
from storage.models import Document, Site, Version

__all__ = ["COLUMNS", "Table3Row", "table3_rows", "yearly_totals"]

COLUMNS = ("natural_person", "commercial", "research", "social_welfare", "legal_services", "other", "total")


@dataclass(frozen=True)
class Table3Row:
    site_key: str
    site_name: str
    region: str
    level: str
    report_year: int | None
    document_id: int
    version: int
    format: str | None
    row: str
    values: tuple[int | None, ...]
    # The report's checks in one word: ok / failed / incomplete (crawler.archive_checks.checks_flags).
    checks: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "site": self.site_key,
            "site_name": self.site_name,
            "region": self.region,
            "level": self.level,
            "report_year": self.report_year,
            "document_id": self.document_id,
            "version": self.version,
            "format": self.format,
            "row": self.row,
        }
        data.update(zip(COLUMNS, self.values, strict=True))
        data["checks"] = self.checks
        return data


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def table3_rows(
    session: Session,
    site_keys: Sequence[str] = (),
    year_from: int | None = None,
    year_to: int | None = None,
    rows: Sequence[str] = (),
    limit: int | None = None,
) -> list[Table3Row]:
    """Table-3 rows of each document's latest version, by site, year and row order."""
    stmt = (
        select(Site, Document, Version)
        .join(Document, Document.site_id == Site.id)
        .join(Version, Version.id == Document.latest_version_id)
        .where(Version.tables.is_not(None))
        .order_by(Site.key, Document.report_year, Document.id)
    )
    if site_keys:
        stmt = stmt.where(Site.key.in_(list(site_keys)))
    if year_from is not None:
        stmt = stmt.where(Document.report_year >= year_from)
    if year_to is not None:
        stmt = stmt.where(Document.report_year <= year_to)
    wanted = set(rows)
    out: list[Table3Row] = []
    flags = checks_flags(session, site_keys)
    for site, document, version in session.execute(stmt):
        tables = version.tables if isinstance(version.tables, dict) else {}
        table3 = tables.get("table3")
        if not isinstance(table3, dict) or not isinstance(table3.get("rows"), dict):
            continue
        for key, values in table3["rows"].items():
            if wanted and key not in wanted:
                continue
            cells = list(values) if isinstance(values, list) else []
            cells = (cells + [None] * len(COLUMNS))[: len(COLUMNS)]
            out.append(
                Table3Row(
                    site_key=site.key,
                    site_name=site.name,
                    region=site.region,
                    level=site.level,
                    report_year=document.report_year,
                    document_id=document.id,
                    version=version.number,
                    format=tables.get("format"),
                    row=str(key),
                    values=tuple(_int(v) for v in cells),
                    checks=flags.get(document.id),
                )
            )
            if limit is not None and len(out) >= limit:
                return out
    return out


def yearly_totals(rows: Sequence[Table3Row], row_key: str = "new_requests") -> dict[str, dict[int, int]]:
    """{site key: {year: total}} of one table-3 row (the ``total`` column)."""
    totals: dict[str, dict[int, int]] = defaultdict(dict)
    for row in rows:
        if row.row != row_key or row.report_year is None or row.values[-1] is None:
            continue
        totals[row.site_key][row.report_year] = totals[row.site_key].get(row.report_year, 0) + row.values[-1]
    return dict(totals)
