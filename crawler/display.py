"""Plain-text tables for the terminal, aware that CJK characters take two columns."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any


def display_width(text: str) -> int:
    """Terminal columns ``text`` occupies (wide and full-width characters count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def truncate(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns, with an ellipsis when cut."""
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 60) -> str:
    """A left-aligned table with a header rule; None shows as '-'."""
    cells = [[truncate(_cell(v), max_width) for v in row] for row in rows]
    widths = [display_width(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], display_width(value))

    def line(values: Sequence[str]) -> str:
        padded = [v + " " * (widths[i] - display_width(v)) for i, v in enumerate(values)]
        return "  ".join(padded).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return " ".join(str(value).split())


def truncate_around(text: str, start: int, end: int, width: int) -> str:
    """``text`` cut to at most ``width`` columns around ``text[start:end]`` (a search hit), with
    an ellipsis at each cut end: the hit stays visible, centred where the text allows.

    A negative ``start`` (no hit) cuts from the beginning like :func:`truncate`.
    """
    if display_width(text) <= width:
        return text
    if not 0 <= start < end <= len(text):
        return truncate(text, width)
    room = width - display_width(text[start:end]) - 2  # columns left for context and two "…"
    if room < 0:  # the hit alone is too wide: show its start
        return truncate(("…" if start > 0 else "") + text[start:], width)
    i, j, used = start, end, 0
    while i > 0 and used + display_width(text[i - 1]) <= room // 2:
        i -= 1
        used += display_width(text[i])
    while j < len(text) and used + display_width(text[j]) <= room:
        used += display_width(text[j])
        j += 1
    while i > 0 and used + display_width(text[i - 1]) <= room:  # the end came first: more before
        i -= 1
        used += display_width(text[i])
    return ("…" if i > 0 else "") + text[i:j] + ("…" if j < len(text) else "")
