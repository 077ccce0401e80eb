"""Snippets and highlights, cut from the stored text (the index does not keep it).

They come back as ``(text, is_hit)`` segments, so the CLI prints them plainly
(:func:`iter_segments_text`) and templates escape them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from storage.models import Version
from storage.search.tokens import SEGMENT, TOKEN_RUN, phrases_in, query_phrases
from storage.sections import SectionFilter

__all__ = ["SNIPPET_WIDTH", "highlight", "highlight_pattern", "iter_segments_text", "snippet", "snippet_source"]

#: About how many characters of a hit's text its snippet shows.
SNIPPET_WIDTH = 120


def snippet_source(version: Version, sections: Any, section: SectionFilter | None, query: str) -> str:
    """The text a hit's snippet is cut from: with a section filter, the first asked-for section
    holding the query (so the snippet shows the hit that counted), else the whole body."""
    body = version.body_text or ""
    if section is None:
        return body
    phrases = query_phrases(query)
    spans = section.spans(sections, len(body))
    for start, end in spans:
        if phrases_in(body[start:end], phrases):
            return body[start:end]
    return body[spans[0][0] : spans[0][1]] if spans else body


def highlight_pattern(query: str | None) -> re.Pattern[str] | None:
    """A case-insensitive pattern for the query's segments and their CJK runs and words."""
    needles: set[str] = set()
    for segment in SEGMENT.findall(query or ""):
        needles.add(segment)
        needles.update(m.group(0) for m in TOKEN_RUN.finditer(segment))
    if not needles:
        return None
    ordered = sorted(needles, key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in ordered), re.IGNORECASE)


def highlight(text_: str, pattern: re.Pattern[str] | None) -> list[tuple[str, bool]]:
    """``text_`` split into (part, is_hit) segments."""
    if not text_:
        return []
    if pattern is None:
        return [(text_, False)]
    parts: list[tuple[str, bool]] = []
    at = 0
    for match in pattern.finditer(text_):
        if match.start() > at:
            parts.append((text_[at : match.start()], False))
        if match.end() > match.start():
            parts.append((match.group(0), True))
        at = match.end()
    if at < len(text_):
        parts.append((text_[at:], False))
    return parts


def snippet(text_: str, pattern: re.Pattern[str] | str | None, width: int = SNIPPET_WIDTH) -> list[tuple[str, bool]]:
    """About ``width`` characters of ``text_`` around its first hit, as (part, is_hit) segments.

    Whitespace is collapsed; an ellipsis marks cut ends. Without a hit, the text's start.
    """
    if isinstance(pattern, str):
        pattern = highlight_pattern(pattern)
    flat = " ".join((text_ or "").split())
    if not flat:
        return []
    first = pattern.search(flat) if pattern is not None else None
    start = max(0, first.start() - width // 3) if first else 0
    end = min(len(flat), start + width)
    start = max(0, min(start, end - width))
    parts = highlight(flat[start:end], pattern)
    if start > 0:
        parts.insert(0, ("…", False))
    if end < len(flat):
        parts.append(("…", False))
    return parts


def iter_segments_text(segments: Iterable[tuple[str, bool]], mark: tuple[str, str] = ("", "")) -> str:
    """Segments as plain text, hits wrapped in ``mark`` (e.g. ("[", "]")) for terminals."""
    return "".join(f"{mark[0]}{part}{mark[1]}" if hit else part for part, hit in segments)

