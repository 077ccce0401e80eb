"""Tables as rectangular grids of cell text, from HTML, from Word and from plain text lines.

Every source comes out the same way: a list of rows, each a list of cell strings, with a
rowspan/colspan cell's text repeated in every grid position it covers (so a row of a group
carries its group label, and a value spanning three columns sits under all three headers).
Labels and numbers are then read by :mod:`.statistics` without knowing where the grid came from.
"""

from __future__ import annotations

import re
import unicodedata

from lxml import etree

__all__ = [
    "Grid",
    "html_grid",
    "normalize_label",
    "parse_number",
    "strip_ordinal",
    "text_grid",
]

Grid = list[list[str]]

_SPACE_RE = re.compile(r"\s+")
# Punctuation that carries no meaning in a label ("（二）部分公开（区分处理的…）").
_LABEL_PUNCT_RE = re.compile(r"[()（）\[\]【】、,，.。:：;；“”\"'‘’·\-—_/／]")
_ORDINAL_RE = re.compile(
    r"^(?:[一二三四五六七八九十]+[、.．]|[(（][一二三四五六七八九十\d]+[)）]|\d+[.、．)）])"
)
_NUMBER_RE = re.compile(r"^[+＋]?(-?\d+(?:\.\d+)?)")
# Cells that mean "nothing here": empty, a dash, a slash, 无.
_ZERO_CELLS = frozenset({"", "-", "—", "–", "－", "/", "／", "无", "——", "0"})
_MAX_SPAN = 100  # a hostile rowspan="100000" must not explode the grid


def _cell_text(cell: etree._Element) -> str:
    text = "".join(cell.itertext()) if not isinstance(cell, etree._Comment) else ""
    return _SPACE_RE.sub("", text.replace("\u00a0", " ").replace("\u3000", " "))


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), _MAX_SPAN))
    except ValueError:
        return 1


def _own_rows(table: etree._Element) -> list[etree._Element]:
    """The table's rows, not those of tables nested inside its cells."""
    rows = []
    for tr in table.iter("tr"):
        owner = tr.getparent()
        while owner is not None and owner.tag != "table":
            owner = owner.getparent()
        if owner is table:
            rows.append(tr)
    return rows


def html_grid(table: etree._Element) -> Grid:
    """An HTML ``<table>`` as a grid, spans expanded (the text repeated in every position)."""
    filled: dict[tuple[int, int], str] = {}
    rows = _own_rows(table)
    width = 0
    for r, tr in enumerate(rows):
        c = 0
        for cell in tr:
            if cell.tag not in ("td", "th"):
                continue
            while (r, c) in filled:
                c += 1
            text = _cell_text(cell)
            rowspan, colspan = _span(cell.get("rowspan")), _span(cell.get("colspan"))
            for dr in range(min(rowspan, len(rows) - r)):
                for dc in range(colspan):
                    filled.setdefault((r + dr, c + dc), text)
            c += colspan
            width = max(width, c)
    return [[filled.get((r, c), "") for c in range(width)] for r in range(len(rows))]


_STARTS_ORDINAL_RE = re.compile(r"^(?:[一二三四五六七八九十]+、|[(（][一二三四五六七八九十]+[)）]|\d+[.、．])")
_SHORT_TAIL = 8  # a wrapped label's continuation ("情形）") is short and numbers no item


def _trailing_numbers(cells: list[str]) -> int:
    count = 0
    for cell in reversed(cells):
        if parse_number(cell) is None or cell in ("", "无"):
            break
        count += 1
    return count


_LOOKBACK = 4  # label lines a wrapped row label may span above its numbers


def text_grid(lines: list[str], row_width: int = 7) -> Grid:
    """Plain text lines (a PDF's or a flattened table's) as rows of whitespace-split cells.

    PDF text wraps long table rows; three repairs undo that: a line of numbers only continues the
    row above when that row has fewer than ``row_width`` numbers at its end; a short label
    fragment with numbers ("情形） 0 0 1 …") continues a label line that has no numbers; and a
    row whose label does not start with an item number ("1、", "（二）") takes the label lines
    just above it back to the nearest one that does (a label wrapped over several lines, its
    numbers on the last line or on a line of their own)."""
    rows: Grid = []
    for cells in (line.split() for line in lines):
        if not cells:
            continue
        if rows:
            previous = rows[-1]
            numbers_only = _trailing_numbers(cells) == len(cells)
            if numbers_only and len(previous) > 0 and _trailing_numbers(previous) < row_width \
                    and _trailing_numbers(previous) < len(previous):
                previous.extend(cells)
                _join_wrapped_label(rows, row_width)
                continue
            count = _trailing_numbers(cells)
            fragment = cells[: len(cells) - count]
            if (count >= row_width and len(fragment) == 1 and len(fragment[0]) <= _SHORT_TAIL
                    and not _STARTS_ORDINAL_RE.match(fragment[0])
                    and _trailing_numbers(previous) == 0):
                previous[-1] += fragment[0]
                previous.extend(cells[len(fragment):])
                _join_wrapped_label(rows, row_width)
                continue
        rows.append(cells)
        if _trailing_numbers(cells) >= row_width:
            _join_wrapped_label(rows, row_width)
    return rows


def _join_wrapped_label(rows: Grid, row_width: int) -> None:
    """The last row has its numbers; if its label starts no item, join the label-only lines
    above it (up to the nearest that starts one) into its label."""
    last = rows[-1]
    count = _trailing_numbers(last)
    if count < row_width:
        return
    label = last[: len(last) - count]
    if label and _STARTS_ORDINAL_RE.match(label[0]):
        return
    start = None
    for back in range(1, min(_LOOKBACK, len(rows) - 1) + 1):
        above = rows[-1 - back]
        if _trailing_numbers(above) > 0 or len(above) != 1:
            break
        if _STARTS_ORDINAL_RE.match(above[0]):
            start = len(rows) - 1 - back
            break
    if start is None:
        return
    joined = "".join(r[0] for r in rows[start:-1]) + "".join(label)
    rows[start:] = [[joined, *last[len(last) - count:]]]


def normalize_label(text: str) -> str:
    """NFKC, no whitespace, no punctuation: ``（二）部分 公开`` → ``二部分公开``."""
    text = unicodedata.normalize("NFKC", text)
    return _LABEL_PUNCT_RE.sub("", _SPACE_RE.sub("", text))


def strip_ordinal(text: str) -> str:
    """``（七）总计`` → ``总计``, ``3.其他`` → ``其他``, ``一、本年…`` → ``本年…``."""
    text = unicodedata.normalize("NFKC", _SPACE_RE.sub("", text))
    return _ORDINAL_RE.sub("", text, count=1)


def parse_number(text: str) -> int | float | None:
    """A cell's number: empty, a dash or 无 is 0; ``+2`` is 2; ``123.4万元`` is 123.4.

    None when the cell holds no number (a label or a header)."""
    text = unicodedata.normalize("NFKC", _SPACE_RE.sub("", text)).replace(",", "")
    if text in _ZERO_CELLS:
        return 0
    match = _NUMBER_RE.match(text)
    if not match:
        return None
    rest = text[match.end():]
    if rest and not re.fullmatch(r"(?:万元|元|件|条|个|项|次|万)?", rest):
        return None
    value = float(match.group(1))
    return int(value) if value.is_integer() and "." not in match.group(1) else value
