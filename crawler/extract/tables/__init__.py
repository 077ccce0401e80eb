"""The statistics tables of an annual report, as structured numbers with their checks.

:func:`tables_from_element` reads the ``<table>`` elements of a parsed report body;
:func:`tables_from_text` reads the same tables from plain text (an attachment's, where each table
row is one line of whitespace-separated cells). Both return the shape stored in
``versions.tables`` and printed by ``nianbao extract`` under ``tables``, or None when the report
has neither tables nor standard prose numbers::

    {"format": "2021" | "2019" | "prose" | None,
     "format_basis": "table3" | "table2" | "report_year" | None,
     "table2": {row_key: {field: number}} | None,        # see statistics.parse_table2
     "table3": {"columns": TABLE3_COLUMNS, "rows": {row_key: [7 ints]}} | None,
     "table4": {"review" | "litigation_direct" | "litigation_after_review":
                {"upheld", "corrected", "other", "pending", "total": int}} | None,
     "completeness": {"table2" | "table3" | "table4": {"status", "missing": [Chinese labels]}},
     "check_results": [{"name", "label", "status": "passed" | "failed" | "not_evaluated",
                        "failures": [...numbers...], "reason"}],
     "checks": {"balance": bool | None, "row_totals": bool | None, "outcome_sum": bool | None},
     "prose": {"requests_received": n, "proactive_items": n, …, "estimated": True}}  # prose only

Format from the rows present (:func:`.checks.detect_format`): table 3's （六）其他处理 rows (three
in the 2021 form, one in the 2019 trial form), else table 2's column words (制发/废止 → 2021,
新制作 → 2019), else the report year. A table with rows of its format missing is
``incomplete`` and its checks are ``not_evaluated`` (legacy ``checks``: None), never passed.
:func:`best_tables` picks, table by table, the better of two readings of one document (a PDF's
ruled grid and its text).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from .checks import LEGACY_CHECKS, assess, check_results_of, checks_flag, labelled_tables
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
)

__all__ = [
    "PROSE_KEYS",
    "TABLE3_COLUMNS",
    "TABLE3_ROWS_2019",
    "TABLE3_ROWS_2021",
    "TABLE4_GROUPS",
    "TABLE4_OUTCOMES",
    "assess",
    "best_tables",
    "check_results_of",
    "checks_flag",
    "evaluate_checks",
    "labelled_tables",
    "tables_from_attachment",
    "tables_from_element",
    "tables_from_grids",
    "tables_from_text",
]

def evaluate_checks(table3: dict | None, report_year: int | None = None) -> dict[str, bool | None]:
    """The form's own consistency checks on table 3, legacy shape (None: not evaluated).

    balance: 一 + 二 = （七）总计 + 四, every column; row_totals: 总计 column = sum of the other
    six, every row; outcome_sum: （七） = sum of （一）…（六）, every column. A table 3 with rows of
    its format missing is not evaluated at all (see :mod:`.checks`)."""
    return assess({"table2": None, "table3": table3, "table4": None}, report_year)["checks"]


def _result(table2, table3, table4, text: str, report_year: int | None) -> dict[str, Any] | None:
    if table2 or table3 or table4:
        return assess({"format": None, "table2": table2, "table3": table3, "table4": table4},
                      report_year)
    if report_year is not None and report_year >= 2019:
        return None  # post-2019 prose without tables: the form's numbers are not there
    prose = prose_numbers(text)
    if prose is None:
        return None
    return {"format": "prose", "table2": None, "table3": None, "table4": None,
            "checks": {name: None for name in LEGACY_CHECKS}, "prose": prose}


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


def _table3_score(tables: dict[str, Any] | None) -> tuple:
    if not tables or not tables.get("table3"):
        return (0, 0, 0)
    done = (tables.get("completeness") or {}).get("table3", {}).get("status") == "complete"
    passed = sum(1 for r in tables.get("check_results") or []
                 if r["name"] in LEGACY_CHECKS and r["status"] == "passed")
    return (int(done), passed, len(tables["table3"]["rows"]))


def _table4_score(tables: dict[str, Any] | None) -> tuple:
    if not tables or not tables.get("table4"):
        return (0, 0)
    passed = any(r["name"] == "table4_totals" and r["status"] == "passed"
                 for r in tables.get("check_results") or [])
    return (1, int(passed))


def best_tables(*candidates: dict[str, Any] | None, report_year: int | None = None) -> dict[str, Any] | None:
    """Table by table, the best of several readings of one document (earlier wins ties).

    Table 3: whole first, then more checks passed, then more rows; table 4: found and its totals
    consistent; table 2: more rows. The result is assessed again (format, completeness, checks)."""
    found = [c for c in candidates if c and c.get("format") != "prose"]
    if not found:
        return next((c for c in candidates if c), None)
    table3 = max(found, key=_table3_score).get("table3")
    table4 = max(found, key=_table4_score).get("table4")
    table2 = max(found, key=lambda c: len(c.get("table2") or {})).get("table2")
    return assess({"format": None, "table2": table2, "table3": table3, "table4": table4}, report_year)


def tables_from_attachment(
    text: str, grids: list[list[list[str]]] | None = None, report_year: int | None = None,
    layout_text: str | None = None,
) -> dict[str, Any] | None:
    """An attachment's tables, table by table the best of its readings (:func:`best_tables`):
    its ruled grids (a PDF's, found by pdfplumber), its text lines (pypdf's text of a PDF, a
    DOCX's tab-separated rows) and, for a PDF where those fall short, its text rebuilt from
    character positions. The ruled grid wins ties: its columns are read by their headers."""
    from_grids = tables_from_grids(grids, text, report_year) if grids else None
    from_text = tables_from_text(text, report_year) if text else None
    from_layout = tables_from_text(layout_text, report_year) if layout_text else None
    if from_grids is None and from_layout is None:
        return from_text
    return best_tables(from_grids, from_text, from_layout, report_year=report_year)
