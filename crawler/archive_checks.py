"""Checks over the archive: a report's own table checks and the cross-year check.

The cross-year check: this year's 二、上年结转政府信息公开申请数量 (总计 column) equals last year's
四、结转下年度继续办理 (总计) of the same bureau (site). It is evaluated over every document's
latest version; it is ``not_evaluated`` (with the reason) when either number is not there -- no
report of the previous year archived, or a table 3 without the row -- or when the site has
several reports of the previous year that disagree.

:func:`report_checks` gives all results of one document, in the form shown by ``nianbao show``,
the web report page and the API (Chinese labels, three-valued, failing numbers), and
:func:`checks_flags` the one-word flag per document for ``nianbao stats`` (ok / failed /
incomplete).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.extract.tables.checks import (
    CHECK_LABELS,
    FAILED,
    NOT_EVALUATED,
    PASSED,
    check_results_of,
    checks_flag,
)
from storage.models import Document, Site, Version

__all__ = ["LatestTables", "checks_flags", "cross_year_checks", "latest_tables", "report_checks"]

_TOTAL = 6  # the 总计 column of table 3


@dataclass(frozen=True)
class LatestTables:
    document_id: int
    site_id: int
    report_year: int | None
    version: int
    tables: dict[str, Any] | None


def latest_tables(session: Session, site_ids: Iterable[int] | None = None) -> list[LatestTables]:
    """The tables of each document's latest version (of the given sites, else all)."""
    stmt = (
        select(Document.id, Document.site_id, Document.report_year, Version.number, Version.tables)
        .join(Version, Version.id == Document.latest_version_id)
        .order_by(Document.site_id, Document.report_year, Document.id)
    )
    if site_ids is not None:
        stmt = stmt.where(Document.site_id.in_(list(site_ids)))
    return [
        LatestTables(doc_id, site_id, year, number, tables if isinstance(tables, dict) else None)
        for doc_id, site_id, year, number, tables in session.execute(stmt)
    ]


def _total(tables: dict[str, Any] | None, row: str) -> int | None:
    table3 = (tables or {}).get("table3")
    rows = table3.get("rows") if isinstance(table3, dict) else None
    values = rows.get(row) if isinstance(rows, dict) else None
    if isinstance(values, list) and len(values) > _TOTAL and isinstance(values[_TOTAL], int) \
            and not isinstance(values[_TOTAL], bool):
        return values[_TOTAL]
    return None


def _result(status: str, *, failures: list | None = None, reason: str | None = None,
            previous_document_id: int | None = None) -> dict[str, Any]:
    return {"name": "cross_year", "label": CHECK_LABELS["cross_year"], "status": status,
            "failures": failures or [], "reason": reason, "previous_document_id": previous_document_id}


def _has_form_tables(tables: dict[str, Any] | None) -> bool:
    return bool(tables and tables.get("format") in ("2019", "2021") and tables.get("table3"))


def cross_year_checks(session: Session, site_ids: Iterable[int] | None = None,
                      rows: Sequence[LatestTables] | None = None) -> dict[int, dict[str, Any]]:
    """document id → the cross-year check result, for every latest version with a table 3."""
    rows = latest_tables(session, site_ids) if rows is None else rows
    by_site_year: dict[tuple[int, int], list[LatestTables]] = defaultdict(list)
    for row in rows:
        if row.report_year is not None:
            by_site_year[(row.site_id, row.report_year)].append(row)
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        if not _has_form_tables(row.tables) or row.report_year is None:
            continue
        this = _total(row.tables, "carried_over")
        if this is None:
            out[row.document_id] = _result(NOT_EVALUATED, reason="本报告表三缺少 二、上年结转政府信息公开申请数量")
            continue
        year = row.report_year - 1
        previous = [p for p in by_site_year.get((row.site_id, year), []) if p.document_id != row.document_id]
        if not previous:
            out[row.document_id] = _result(NOT_EVALUATED, reason=f"未归档本机关{year}年度报告")
            continue
        values = {(p.document_id, _total(p.tables, "carried_forward")) for p in previous}
        known = {v for _, v in values if v is not None}
        if not known:
            out[row.document_id] = _result(
                NOT_EVALUATED, reason=f"{year}年度报告表三缺少 四、结转下年度继续办理",
                previous_document_id=min(d for d, _ in values))
            continue
        if len(known) > 1:
            out[row.document_id] = _result(
                NOT_EVALUATED, reason=f"本机关{year}年度有多份报告，结转下年度数值不一：{sorted(known)}")
            continue
        before = known.pop()
        previous_id = min(d for d, v in values if v == before)
        if before == this:
            out[row.document_id] = _result(PASSED, previous_document_id=previous_id)
        else:
            text = (f"总计：本年 二、上年结转 {this}，{year}年度报告 四、结转下年度继续办理 {before}"
                    f"（报告 {previous_id}）")
            out[row.document_id] = _result(
                FAILED, failures=[{"where": "总计", "left": this, "right": before, "text": text}],
                previous_document_id=previous_id)
    return out


def report_checks(session: Session, document_id: int, tables: dict[str, Any] | None = None,
                  *, latest: bool = True) -> list[dict[str, Any]]:
    """Every check of one document: its tables' own (three-valued) and, for its latest version,
    the cross-year check. ``tables`` are the shown version's (default: the latest's)."""
    document = session.get(Document, document_id)
    if document is None:
        return []
    if tables is None and document.latest_version_id is not None:
        version = session.get(Version, document.latest_version_id)
        tables = getattr(version, "tables", None) if version is not None else None
    results = list(check_results_of(tables))
    if results and latest:
        cross = cross_year_checks(session, [document.site_id]).get(document_id)
        if cross is not None:
            results.append(cross)
    return results


def checks_flags(session: Session, site_keys: Sequence[str] = ()) -> dict[int, str | None]:
    """document id → ``ok`` / ``failed`` / ``incomplete`` (None without form tables), over the
    latest versions, the cross-year check included (failed counts; not evaluable does not)."""
    site_ids = None
    if site_keys:
        site_ids = list(session.scalars(select(Site.id).where(Site.key.in_(list(site_keys)))))
    rows = latest_tables(session, site_ids)
    cross = cross_year_checks(session, site_ids, rows)
    return {
        row.document_id: checks_flag(row.tables, [cross[row.document_id]] if row.document_id in cross else None)
        for row in rows
    }
