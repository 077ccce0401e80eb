"""The statistics tables of an annual report, as structured numbers with their checks.

:func:`tables_from_element` reads the ``<table>`` elements of a parsed report body;
:func:`tables_from_text` reads the same tables from plain text (an attachment's, where each table
row is one line of whitespace-separated cells). Both return the shape stored in
``versions.tables`` and printed by ``nianbao extract`` under ``tables``, or None when the report
has neither tables nor standard prose numbers::

    {"format": "2021" | "2019" | "prose" | None,
     "table2": {row_key: {field: number}} | None,        # see statistics.parse_table2
     "table3": {"columns": TABLE3_COLUMNS, "rows": {row_key: [7 ints]}} | None,
     "table4": {"review" | "litigation_direct" | "litigation_after_review":
                {"upheld", "corrected", "other", "pending", "total": int}} | None,
     "checks": {"balance": bool | None, "row_totals": bool | None, "outcome_sum": bool | None},
     "prose": {"requests_received": n, "proactive_items": n, …, "estimated": True}}  # prose only

Format: ``"2021"`` or ``"2019"`` from table 3's （六）其他处理 rows (three in the 2021 form, one in
the 2019 trial form), else from table 2's column words (制发/废止 → 2021, 新制作 → 2019). A check is
None when the rows it needs were not all found.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from .grid import html_grid, text_grid
from .prose import PROSE_KEYS, prose_numbers
from .statistics import (
    TABLE3_COLUMNS,
    TABLE3_ROWS_2019,
    TABLE3_ROWS_2021,
    TABLE4_GROUPS,
    TABLE4_OUTCOMES,
    parse_table2,
    parse_table3,
    parse_table4,
    table3_format,
)

__all__ = [
    "PROSE_KEYS",
    "TABLE3_COLUMNS",
    "TABLE3_ROWS_2019",
    "TABLE3_ROWS_2021",
    "TABLE4_GROUPS",
    "TABLE4_OUTCOMES",
    "evaluate_checks",
    "tables_from_element",
    "tables_from_grids",
    "tables_from_text",
]

_OUTSIDE_RESULTS = {"new_requests", "carried_over", "total", "carried_forward"}


def evaluate_checks(table3: dict | None) -> dict[str, bool | None]:
    """The form's own consistency checks on table 3 (None: rows missing, cannot tell).

    balance: 一 + 二 = （七）总计 + 四, every column; row_totals: 总计 column = sum of the other
    six, every row; outcome_sum: （七） = sum of （一）…（六）, every column."""
    checks: dict[str, bool | None] = {"balance": None, "row_totals": None, "outcome_sum": None}
    if not table3:
        return checks
    rows: dict[str, list[int]] = table3["rows"]
    if {"new_requests", "carried_over", "total", "carried_forward"} <= rows.keys():
        checks["balance"] = all(
            rows["new_requests"][c] + rows["carried_over"][c]
            == rows["total"][c] + rows["carried_forward"][c]
            for c in range(len(TABLE3_COLUMNS))
        )
    if rows:
        checks["row_totals"] = all(sum(v[:6]) == v[6] for v in rows.values())
    expected = TABLE3_ROWS_2021 if table3_format(table3) == "2021" else TABLE3_ROWS_2019
    results = [k for k in expected if k not in _OUTSIDE_RESULTS]
    if "total" in rows and all(k in rows for k in results):
        checks["outcome_sum"] = all(
            sum(rows[k][c] for k in results) == rows["total"][c] for c in range(len(TABLE3_COLUMNS))
        )
    return checks


def _result(table2, table3, table4, text: str, report_year: int | None) -> dict[str, Any] | None:
    if table3:
        fmt: str | None = table3_format(table3)
    elif table2:
        fields = {f for values in table2.values() for f in values}
        fmt = "2021" if fields & {"issued", "repealed", "in_force"} else (
            "2019" if fields & {"new_made", "new_published", "previous_count"} else None
        )
    else:
        fmt = None
    if table2 or table3 or table4:
        return {"format": fmt, "table2": table2, "table3": table3, "table4": table4,
                "checks": evaluate_checks(table3)}
    if report_year is not None and report_year >= 2019:
        return None  # post-2019 prose without tables: the form's numbers are not there
    prose = prose_numbers(text)
    if prose is None:
        return None
    return {"format": "prose", "table2": None, "table3": None, "table4": None,
            "checks": evaluate_checks(None), "prose": prose}


def tables_from_grids(
    grids: list[list[list[str]]], text: str = "", report_year: int | None = None,
    *, headers_align: bool = True,
) -> dict[str, Any] | None:
    """Tables 2, 3, 4 from grids, each table recognised by its content; see the module doc."""
    table2: dict | None = None
    table3: dict | None = None
    table4: dict | None = None
    for grid in grids:
        if table3 is None:
            table3 = parse_table3(grid)
            if table3 is not None and headers_align:
                continue
        if table4 is None:
            table4 = parse_table4(grid, use_header=headers_align)
            if table4 is not None and headers_align:
                continue
        found = parse_table2(grid)
        if found:
            table2 = {**found, **(table2 or {})}  # a form split into several <table>s
    return _result(table2, table3, table4, text, report_year)


def tables_from_element(
    body: etree._Element | None, text: str = "", report_year: int | None = None
) -> dict[str, Any] | None:
    """Tables of a parsed report body (its ``<table>`` elements); prose numbers from ``text``."""
    grids = [] if body is None else [html_grid(t) for t in body.iter("table") if _may_hold_statistics(t)]
    return tables_from_grids([g for g in grids if g], text, report_year)


_STATISTICS_WORDS = re.compile(r"新收|行政复议|规章|规范性文件|第二十条|行政许可|行政处罚|收费|采购")


def _may_hold_statistics(table: etree._Element) -> bool:
    """Cheap pre-check: layout tables (holding other tables) and tables without the forms'
    words are not gridded at all (most tables on a page are layout or metadata)."""
    if any(True for _ in table.iterdescendants("table")):
        return False
    return bool(_STATISTICS_WORDS.search("".join(table.itertext())))


def tables_from_text(text: str, report_year: int | None = None) -> dict[str, Any] | None:
    """Tables of plain text where each table row is one line of whitespace-separated cells."""
    return tables_from_grids(
        [text_grid(text.splitlines())], text, report_year, headers_align=False
    )
