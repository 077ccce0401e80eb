"""PDF statistics tables: pypdf's text against pdfplumber's ruled grids and positional text.

For the real PDF ``../shared/corpus/attachments/szfgs2024.pdf`` (when present) and the demo
site's generated PDFs, each route's tables 2/3/4 are parsed by :mod:`crawler.extract.tables`
and scored: table-3 rows found of those its format has, the checks, table-4 and table-2 rows,
and the time the route took. Prints a Markdown table.

    .venv/bin/python bench/pdf_tables.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.attachments.pdf_tables import layout_text, pdf_grids  # noqa: E402
from crawler.attachments.readers import read_pdf  # noqa: E402
from crawler.extract.tables import (  # noqa: E402
    best_tables,
    tables_from_grids,
    tables_from_text,
)
from crawler.extract.tables.checks import expected_table3_rows  # noqa: E402

REAL_PDF = ROOT.parent / "shared" / "corpus" / "attachments" / "szfgs2024.pdf"


def _score(tables: dict | None) -> str:
    if not tables or not tables.get("table3"):
        return "no table 3 | - | - | - | -"
    fmt = tables["format"]
    rows = tables["table3"]["rows"]
    expected = expected_table3_rows(fmt)
    found = sum(1 for k in expected if k in rows)
    statuses = {r["name"]: r["status"] for r in tables["check_results"]}
    checks = ", ".join(f"{n}={s}" for n, s in statuses.items())
    t4 = "yes" if tables.get("table4") else "no"
    t2 = len(tables.get("table2") or {})
    return f"{fmt} ({tables.get('format_basis')}) | {found}/{len(expected)} | {checks} | {t4} | {t2}"


def _timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def measure(name: str, path: Path, year: int | None) -> list[str]:
    lines = []
    (text, _), t_pypdf = _timed(read_pdf, path)
    grids, t_grids = _timed(pdf_grids, path)
    layout, t_layout = _timed(layout_text, path)
    by_text = tables_from_text(text, year)
    by_grids = tables_from_grids(grids, text, year) if grids else None
    by_layout = tables_from_text(layout, year)
    chosen = best_tables(by_grids, by_text, report_year=year) if by_grids else by_text
    for route, tables, seconds in (
        ("pypdf text", by_text, t_pypdf),
        ("pdfplumber ruled grids", by_grids, t_grids),
        ("pdfplumber positional text", by_layout, t_layout),
        ("chosen (grids, else text)", chosen, t_pypdf + t_grids),
    ):
        lines.append(f"| {name} | {route} | {_score(tables)} | {seconds:.2f} s |")
    return lines


def main() -> int:
    from crawler.demo.site import build_demo_site

    print("| PDF | route | format (basis) | table-3 rows | checks | table 4 | table-2 rows | time |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    if REAL_PDF.is_file():
        for line in measure("szfgs2024.pdf (real, Huai'an 2024)", REAL_PDF, 2024):
            print(line)
    else:
        print(f"| (real PDF not found at {REAL_PDF}) | | | | | | | |")
    demo = build_demo_site()
    with tempfile.TemporaryDirectory() as folder:
        for path, page in demo.pages.items():
            if page.content_type != "application/pdf" or "/b0" in path:
                continue  # the bulk sites' one-paragraph PDFs have no tables
            file = Path(folder) / path.rsplit("/", 1)[1]
            file.write_bytes(page.body)
            for line in measure(f"demo {path}", file, None):
                print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
