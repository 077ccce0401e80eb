"""The statistics tables of a PDF as grids, found by pdfplumber. Run only inside the sandbox.

A report PDF made from Word draws its tables with ruling lines; pdfplumber's table finder
(``lines`` strategy) turns them into cells. The grids come out as :mod:`crawler.extract.tables`
reads every source: a list of rows of cell strings, a merged cell's text repeated in every
position it covers (pdfplumber leaves those positions empty), whitespace and line breaks inside
a cell removed (a label wrapped inside its cell is one label again). A table that runs over a
page break is joined with its continuation (the first table of the next page, same column
count), so table 3 split after （四）无法提供 is one table again.

Pages whose tables are not ruled get no grid: their text lines, rebuilt from the characters'
positions (:func:`layout_text`), are read like any other text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["MAX_PAGES", "layout_text", "pdf_grids"]

MAX_PAGES = 60  # an annual report has 3–20 pages; beyond this the tables were found already
_STATISTICS_WORDS = re.compile(r"新收|行政复议|规章|规范性文件|第二十条|行政许可|行政处罚|收费|采购")
_SPACE = re.compile(r"\s+")


def _text(value: str | None) -> str:
    return _SPACE.sub("", value or "")


def _expanded(table: Any) -> list[list[str]]:
    """A pdfplumber table as a grid with spanned positions filled from their covering cell."""
    texts = table.extract()
    rows = table.rows
    if not rows:
        return []
    width = max(len(r.cells) for r in rows)
    # Column x-ranges from the cells that start in each column.
    x0s: list[float | None] = [None] * width
    x1s: list[float] = []
    for row in rows:
        for c, cell in enumerate(row.cells):
            if cell is not None:
                x0s[c] = cell[0] if x0s[c] is None else min(x0s[c], cell[0])
    for c in range(width):
        nxt = next((x for x in x0s[c + 1:] if x is not None), None)
        x1s.append(nxt if nxt is not None else table.bbox[2])
    # Row y-ranges likewise: a row's own bbox covers its tallest (row-spanning) cell.
    tops = [min((cell[1] for cell in row.cells if cell is not None), default=None) for row in rows]
    bottoms = [next((t for t in tops[r + 1:] if t is not None), table.bbox[3]) for r in range(len(rows))]
    origin: dict[tuple, str] = {}
    for r, row in enumerate(rows):
        for c, cell in enumerate(row.cells):
            if cell is not None:
                origin[tuple(cell)] = _text(texts[r][c] if c < len(texts[r]) else "")
    grid: list[list[str]] = []
    for r, row in enumerate(rows):
        out: list[str] = []
        for c in range(width):
            cell = row.cells[c] if c < len(row.cells) else None
            if cell is not None:
                out.append(origin.get(tuple(cell), ""))
                continue
            x0, top = x0s[c], tops[r]
            if x0 is None or top is None:
                out.append("")
                continue
            cx = (x0 + x1s[c]) / 2
            cy = (top + bottoms[r]) / 2
            covering = next((bbox for bbox in origin if bbox[0] < cx < bbox[2] and bbox[1] < cy < bbox[3]),
                            None)
            out.append(origin[covering] if covering is not None else "")
        grid.append(out)
    return grid


def pdf_grids(path: Path) -> list[list[list[str]]]:
    """The ruled tables of the PDF at ``path`` that may hold the statistics, as grids."""
    import pdfplumber

    grids: list[list[list[str]]] = []
    last_on_previous_page: list[list[str]] | None = None
    with pdfplumber.open(str(path)) as pdf:
        for page in pdf.pages[:MAX_PAGES]:
            page_grids = [g for g in (_expanded(t) for t in page.find_tables()) if g]
            for index, grid in enumerate(page_grids):
                previous = last_on_previous_page if index == 0 else None
                if previous is not None and len(grid[0]) == len(previous[0]) and len(grid[0]) > 1:
                    previous.extend(grid)  # the table continues from the previous page
                    page_grids[index] = previous
                    continue
                if _STATISTICS_WORDS.search("".join("".join(row) for row in grid)) or len(grid[0]) > 1:
                    grids.append(grid)
            last_on_previous_page = page_grids[-1] if page_grids else None
            page.flush_cache()
    return [g for g in grids if _STATISTICS_WORDS.search("".join("".join(row) for row in g))]


def layout_text(path: Path, tolerance: float = 3.0) -> str:
    """The PDF's text lines rebuilt from word positions: words on one baseline (within
    ``tolerance`` points) form a line, left to right, separated by a space."""
    import pdfplumber

    lines: list[str] = []
    with pdfplumber.open(str(path)) as pdf:
        for page in pdf.pages[:MAX_PAGES]:
            words = sorted(page.extract_words(), key=lambda w: (round(w["top"]), w["x0"]))
            current: list[dict] = []
            for word in words:
                if current and abs(word["top"] - current[0]["top"]) > tolerance:
                    lines.append(" ".join(w["text"] for w in sorted(current, key=lambda w: w["x0"])))
                    current = []
                current.append(word)
            if current:
                lines.append(" ".join(w["text"] for w in sorted(current, key=lambda w: w["x0"])))
            page.flush_cache()
    return "\n".join(lines)
