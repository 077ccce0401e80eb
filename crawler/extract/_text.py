"""Shared text helpers: tag classes, whitespace rules, and linearising an element to text."""

from __future__ import annotations

import re
from functools import lru_cache

from lxml import etree
from lxml.cssselect import CSSSelector

# Elements whose content is never visible text.
SKIP_TAGS = frozenset(
    {
        "script", "style", "noscript", "template", "head", "title", "select", "option",
        "textarea", "iframe", "object", "embed", "svg", "math", "button", "input", "map",
        "audio", "video", "canvas",
    }
)
CELL_TAGS = frozenset({"td", "th"})
BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
        "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "legend", "li",
        "listing", "main", "menu", "nav", "ol", "p", "pre", "section", "summary", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "xmp", "plaintext",
    }
)

_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# Structure markers used while linearising (Python counts both as whitespace, so the
# whitespace pattern below excludes them explicitly).
_LINE = "\x1e"
_CELL = "\x1f"
# Source whitespace: spaces, tabs, newlines, NBSP, U+3000, en/em spaces …
_SOURCE_SPACE_RE = re.compile(r"[^\S\x1e\x1f]+")
_CELLS_RE = re.compile(r" ?\x1f[\x1f ]*")
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# A source line break between two wide (CJK) characters is dropped, not turned into a space
# (CSS Text 3 segment-break transformation): "本年度\n报告" reads "本年度报告".
_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_WIDE_SEGMENT_BREAK_RE = re.compile(
    rf"(?<=[{_WIDE}])[ \t\r]*\n[ \t\r\n]*(?=[{_WIDE}])"
)
_WS_RE = re.compile(r"\s+")



def is_hidden(el: etree._Element) -> bool:
    """``style="display:none"`` or the ``hidden`` attribute."""
    style = el.get("style")
    if style and ("none" in style or "hidden" in style) and _HIDDEN_STYLE_RE.search(style):
        return True
    return el.get("hidden") is not None


def collapse_ws(text: str | None) -> str:
    """All whitespace runs (NBSP, U+3000 …) → one space; invisible characters dropped; stripped.

    A source line break between two CJK characters disappears instead (see tidy_lines).
    """
    if not text:
        return ""
    text = _INVISIBLE_RE.sub("", text)
    if "\n" in text:
        text = _WIDE_SEGMENT_BREAK_RE.sub("", text)
    return _WS_RE.sub(" ", text).strip()


# Collecting attribute nodes is far cheaper than an element predicate over the subtree.
_STYLE_OR_HIDDEN_ATTRS = etree.XPath("descendant::*/@style | descendant::*/@hidden")


def hidden_descendants(element: etree._Element) -> set[etree._Element]:
    """Descendants hidden by ``style="display:none"`` / ``visibility:hidden`` / ``hidden``."""
    hidden = set()
    for attr in _STYLE_OR_HIDDEN_ATTRS(element):
        if attr.attrname == "hidden" or (
            ("none" in attr or "hidden" in attr) and _HIDDEN_STYLE_RE.search(attr)
        ):
            hidden.add(attr.getparent())
    return hidden


def linearise(element: etree._Element, *, skip_hidden: bool = True) -> str:
    """Visible text of ``element``: blocks and ``<br>`` → line breaks, table rows → lines with
    cells separated by tabs (paragraphs inside a cell stay on the row's line).

    Script/style/noscript and comments are dropped (comment *tails* are text and are kept);
    whitespace runs collapse within a line and empty lines are dropped.
    """
    out: list[str] = []
    append = out.append
    hidden = hidden_descendants(element) if skip_hidden else set()
    in_cell = 0
    walker = etree.iterwalk(element, events=("start", "end", "comment", "pi"))
    for event, node in walker:
        if event == "start":
            tag = node.tag
            if tag in SKIP_TAGS or (hidden and node in hidden):
                walker.skip_subtree()
                continue
            if tag in CELL_TAGS:
                in_cell += 1
            elif tag == "br" or tag in BLOCK_TAGS:
                append(" " if in_cell else _LINE)
            if node.text:
                append(node.text)
        elif event == "end":
            tag = node.tag
            if tag in SKIP_TAGS or (hidden and node in hidden):
                pass
            elif tag in CELL_TAGS:
                in_cell -= 1
                append(" " if in_cell else _CELL)
            elif tag in BLOCK_TAGS:
                append(" " if in_cell else _LINE)
            if node.tail and node is not element:
                append(node.tail)
        elif node.tail:  # comment / processing instruction: only its tail is text
            append(node.tail)
    return tidy_lines("".join(out))


def tidy_lines(text: str) -> str:
    """Structure markers → line breaks and tabs; whitespace from the source (newlines
    included: HTML renders them as spaces) collapses within lines; empty lines dropped."""
    text = _INVISIBLE_RE.sub("", text)
    if "\n" in text:
        text = _WIDE_SEGMENT_BREAK_RE.sub("", text)
    text = _SOURCE_SPACE_RE.sub(" ", text)
    lines = []
    for line in text.split(_LINE):
        line = _CELLS_RE.sub("\t", line).strip(" \t")
        if line:
            lines.append(line)
    return "\n".join(lines)


@lru_cache(maxsize=256)
def css(selector: str) -> CSSSelector:
    """A compiled (cached) CSS selector."""
    return CSSSelector(selector)


def select(tree: etree._Element, selector: str) -> list[etree._Element]:
    """Elements matching a CSS selector (an invalid selector raises ``ValueError``)."""
    try:
        return css(selector)(tree)
    except Exception as exc:  # cssselect raises its own SelectorError subclasses
        raise ValueError(f"bad CSS selector {selector!r}: {exc}") from exc
