"""Attachment text laid out as paragraphs: line wraps joined, paragraphs and table rows kept.

A PDF's text layer (pypdf, pdftotext) and an OFD page keep the page's line wraps: Chinese has no
spaces, so a wrap inside 保密审查协调机制 leaves two runs that no phrase search can bridge.
:func:`join_wrapped_lines` decides, for each line break, whether it is a wrap (joined) or a real
boundary (kept). The rules, in order:

- **Kept as they are**: blank lines (a paragraph boundary), table lines (a tab, a ``|`` cell
  border, a gap of two or more spaces inside the line as pdftotext's column layout leaves, or two
  numbers side by side such as ``1288 21 0 0``): nothing is joined to or from them.
- **Page furniture**: a page-number line (``- 2 -``, ``—3—``, ``第 4 页``, ``4/6``) does not end
  a paragraph that runs on to the next page; it is moved to just after that paragraph. ``\\f``
  separates pages, and blank lines next to a page break do not count as paragraph boundaries.
- **A short line ends its paragraph**: one narrower than 80 % of the page's typical line (a high
  quantile of the line widths, CJK characters counting two columns). A page whose lines are
  all narrow (under 16 columns) is taken as a list or table and nothing on it is joined by width.
- **A new start ends a paragraph**: a line opening with a numbered heading (一、 （一） (1) 1.
  1、 第一条 ① ●) unless the line before ends with 、，（“《 (which go on); an indented line
  after one ending with 。！？；：(or ``!?;:.``, closing quotes and brackets after it). Without
  an indent or heading a sentence end at a full line's end is a wrap (the next sentence of the
  same paragraph starts on the next line).
- **A narrow block's wraps**: a narrow table cell, one column of a two-column layout or a text
  box wraps its text at its own right edge, far short of the page's measure, so a phrase can run
  over three short lines (逾期不补 / 正、行政机关不再处理其政府信 / 息公开申请 in a table cell). A
  line shorter than the page's measure still wraps into the next when the block's edge shows:
  it is as wide (within one column) as the next line, or as the line before it which wraps into
  it by the same test; it is at least :data:`MIN_BLOCK_WIDTH` columns wide; it ends with a CJK
  character and no sentence end, and the next line starts with one and no heading. Such a run
  of lines is joined only when its text has punctuation of running prose (，、；：“”（）《》。
  beyond a heading's number): a column of separate values (本年制发件数 / 本年废止件数 /
  现行有效件数, cells of one width), stacked headings and list items have none, and stay apart.
  A punctuation-free phrase alone in a narrow box (a cover's 政府信息公开工作年度报告 set in
  three lines) cannot be told from such a column of cells by its text, and is kept as lines.
  A block's first line after a sentence end starts a paragraph (the box or cell below it).
- **Glyph per line**: a run of three or more lines of one CJK character each (vertical table
  headers, text extracted glyph by glyph) becomes one line.
- Otherwise the break is a wrap: the lines are joined -- without a space between CJK characters
  or next to CJK punctuation, with one space when a side is a Latin letter or digit (``351`` +
  ``件`` -> ``351 件``, as the text layer writes numbers; ``PDF`` + ``files`` -> ``PDF files``).

With ``lines_are_paragraphs`` (DOC and WPS, whose readers print one paragraph per line), lines are
joined only when the document is evidently hard-wrapped (most lines the same width: text pasted
from a PDF, a paragraph mark at each line end), and never after sentence-final punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from itertools import pairwise

__all__ = ["display_width", "join_wrapped_lines"]

SHORT_RATIO = 0.8  # a line narrower than this share of the typical line ends its paragraph
MIN_TYPICAL_WIDTH = 16  # columns: below this, lines are list items or cells, not wrapped prose
MIN_GLYPH_RUN = 3
MIN_BLOCK_WIDTH = 8  # columns: a narrow block's lines must hold at least four CJK characters
EDGE_TOLERANCE = 1  # columns: a line ending one half-width character short still reaches the edge

_SENTENCE_END = set("。！？；：!?;:.")
_CLOSERS = "”’」』）)》〉】］]\"'"
_CONTINUES = set("、，,（(“‘《〈【［[")  # a line ending with one of these goes on
_PROSE_PUNCTUATION = set("，、；：。！？“”‘’（）《》")  # running text has these; cell values rarely
_HEADING = re.compile(
    r"(?:[一二三四五六七八九十百零〇]+[、．.]"
    r"|[（(][一二三四五六七八九十百零〇\d]{1,3}[）)]"
    r"|\d{1,3}(?:[、．]|\.(?!\d))"
    r"|第[一二三四五六七八九十百零〇\d]+[章节条部分款项篇]"
    r"|[①-⑳❶-❿●■◆▲►•·※])"
)
_PAGE_MARKER = re.compile(
    r"[-－—–―_]+\s*\d{1,4}\s*[-－—–―_]+"  # - 2 -, —3—
    r"|第\s*\d{1,4}\s*页(?:\s*[，,/]?\s*共\s*\d{1,4}\s*页)?"  # 第 4 页, 第4页 共6页
    r"|\d{1,4}\s*/\s*\d{1,4}"  # 4/6
)
_NUMBER = r"[-+]?\d[\d,，.]*%?"
_NUMBERS_SIDE_BY_SIDE = re.compile(rf"(?:^|\s){_NUMBER}\s+{_NUMBER}(?=\s|$)")
_COLUMN_GAP = re.compile(r"\S(?: {2,}|\u3000{2,}|[ \u3000]{3,})\S")


def display_width(text: str) -> int:
    """Columns the text takes in a monospaced layout: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _is_ideograph(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF" and unicodedata.category(ch).startswith("L")


_CJK_QUOTES = set("“”‘’…—·")  # ambiguous width, but in Chinese text CJK punctuation


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF" or ch in _CJK_QUOTES


def _indent_width(line: str) -> int:
    stripped = line.lstrip()
    return display_width(line[: len(line) - len(stripped)].replace("\t", "    "))


@dataclass
class _Line:
    raw: str
    kind: str  # blank | table | marker | text
    page: int
    text: str = ""  # stripped
    width: int = 0  # display width including the indentation
    indent: int = 0
    # the next line, when this one ends at a narrow block's right edge and wraps into it
    block_next: _Line | None = field(default=None, repr=False, compare=False)


def _classify(raw: str, page: int, first_or_last: bool) -> _Line:
    stripped = raw.strip()
    if not stripped:
        return _Line(raw, "blank", page)
    line = _Line(raw, "text", page, stripped, display_width(raw.rstrip().replace("\t", "    ")),
                 _indent_width(raw))
    if (
        "\t" in stripped
        or stripped.startswith("|")
        or stripped.count("|") >= 2
        or _COLUMN_GAP.search(stripped)
        or _NUMBERS_SIDE_BY_SIDE.search(stripped)
    ):
        line.kind = "table"
    elif _PAGE_MARKER.fullmatch(stripped) or (first_or_last and stripped.isdigit() and len(stripped) <= 4):
        line.kind = "marker"
    return line


def _typical_width(lines: list[_Line]) -> int:
    widths = sorted((ln.width for ln in lines if ln.kind == "text" and ln.width >= 8), reverse=True)
    if not widths:
        return 0
    return widths[len(widths) // 4]  # a high quantile: most wrapped lines are full ones


def _hard_wrapped(lines: list[_Line], typical: int) -> bool:
    """Most text lines within a few columns of the typical width: a wrapped layout."""
    text = [ln for ln in lines if ln.kind == "text"]
    if len(text) < 4 or typical < MIN_TYPICAL_WIDTH:
        return False
    near = sum(1 for ln in text if abs(ln.width - typical) <= max(2, typical // 10))
    return near * 2 >= len(text)


def _ends_sentence(text: str) -> bool:
    core = text.rstrip(_CLOSERS + " ")
    return bool(core) and core[-1] in _SENTENCE_END


def _separator(left: str, right: str) -> str:
    a, b = left[-1], right[0]
    if a == "-" and len(left) > 1 and left[-2].isalnum() and b.isalnum() and b.isascii():
        return ""  # 0517-\n83605210, a hyphenated word
    if _is_wide(a) and _is_wide(b):
        return ""
    if (_is_wide(a) and not _is_ideograph(a)) or (_is_wide(b) and not _is_ideograph(b)):
        return ""  # CJK punctuation on either side
    return " "


def _is_glyph(line: _Line) -> bool:
    return line.kind == "text" and len(line.text) == 1 and _is_ideograph(line.text)


def _may_wrap_in_block(a: _Line, b: _Line) -> bool:
    """Whether the break between adjacent lines ``a`` and ``b`` looks like a wrap inside a word
    or sentence, whatever the widths: CJK on both sides, no sentence end, no new item."""
    if a.kind != "text" or b.kind != "text" or a.page != b.page or a.width < MIN_BLOCK_WIDTH:
        return False
    if _ends_sentence(a.text) or not _is_wide(a.text[-1]) or not _is_wide(b.text[0]):
        return False
    return not (_HEADING.match(b.text) and a.text[-1] not in _CONTINUES)


def _same_edge(a: _Line, b: _Line) -> bool:
    return abs(a.width - b.width) <= EDGE_TOLERANCE


def _has_prose_punctuation(run: list[_Line]) -> bool:
    """Punctuation of running text in the run, beyond the number of a heading or list item."""
    first = run[0].text
    heading = _HEADING.match(first)
    texts = [first[heading.end():] if heading else first, *(ln.text for ln in run[1:])]
    return any(ch in _PROSE_PUNCTUATION for text in texts for ch in text)


def _link_narrow_blocks(lines: list[_Line], typical: dict[int, int]) -> None:
    """Set ``block_next`` on each line that wraps at a narrow block's right edge (see the
    module's docstring): the edge is where two neighbouring lines end alike. Lines as wide as the
    page's measure are left to the page's rules."""

    def narrow(line: _Line) -> bool:
        return line.width < SHORT_RATIO * typical.get(line.page, 0) or typical.get(line.page, 0) < MIN_TYPICAL_WIDTH

    wraps = [narrow(a) and narrow(b) and _may_wrap_in_block(a, b) for a, b in pairwise(lines)]
    at_edge = [
        wraps[i] and (_same_edge(lines[i], lines[i + 1]) or (i > 0 and wraps[i - 1] and _same_edge(lines[i - 1], lines[i])))
        for i in range(len(wraps))
    ]
    i = 0
    while i < len(at_edge):
        if not at_edge[i]:
            i += 1
            continue
        j = i
        while j < len(at_edge) and at_edge[j]:
            j += 1
        run = lines[i : j + 1]  # lines i..j, each but the last wrapping into the next
        if _has_prose_punctuation(run):
            for a, b in pairwise(run):
                a.block_next = b
        i = j


def join_wrapped_lines(text: str, *, lines_are_paragraphs: bool = False) -> str:
    """``text`` with its line wraps joined and its paragraph and table boundaries kept.

    ``\\f`` separates pages (the result has none). Paragraphs lose their indentation; table
    lines are kept exactly. See the module's docstring for the rules."""
    pages = text.replace("\r\n", "\n").replace("\r", "\n").split("\f")
    lines: list[_Line] = []
    for number, page in enumerate(pages):
        raw_lines = page.split("\n")
        content = [i for i, raw in enumerate(raw_lines) if raw.strip()]
        edges = {content[0], content[-1]} if content else set()
        lines.extend(_classify(raw, number, i in edges) for i, raw in enumerate(raw_lines))
    if not lines:
        return ""
    document_typical = _typical_width(lines)
    typical: dict[int, int] = {}
    base_indent: dict[int, int] = {}
    for number in range(len(pages)):
        own = [ln for ln in lines if ln.page == number]
        own_text = [ln for ln in own if ln.kind == "text"]
        # A page's own measure only widens the document's (a landscape table page): a page of
        # table cells and headings would otherwise make its short lines look typical.
        own_typical = _typical_width(own) if len(own_text) >= 12 else 0
        typical[number] = max(own_typical, document_typical)
        base_indent[number] = min((ln.indent for ln in own_text), default=0)
    wrapped = not lines_are_paragraphs or _hard_wrapped(lines, document_typical)

    def is_wrap(a: _Line, b: _Line) -> bool:
        if a.kind != "text" or b.kind != "text" or not wrapped:
            return False
        if a.block_next is b:
            return True
        width = typical[a.page]
        if width < MIN_TYPICAL_WIDTH or a.width < SHORT_RATIO * width:
            return False
        # After a sentence end, an indented line or the first line of a narrow block (a box or
        # cell below the paragraph) starts anew.
        if _ends_sentence(a.text) and (lines_are_paragraphs or b.indent >= base_indent[b.page] + 2
                                       or b.block_next is not None):
            return False
        return not (_HEADING.match(b.text) and a.text[-1] not in _CONTINUES)

    # Glyph-per-line runs first: each run becomes one text line.
    merged: list[_Line] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and _is_glyph(lines[j]) and lines[j].page == lines[i].page:
            j += 1
        if j - i >= MIN_GLYPH_RUN:
            joined = "".join(ln.text for ln in lines[i:j])
            merged.append(_Line(lines[i].raw[: lines[i].indent] + joined, "glyphs", lines[i].page, joined,
                                display_width(joined), lines[i].indent))
            i = j
        else:
            merged.append(lines[i])
            i += 1
    lines = merged
    if not lines_are_paragraphs:  # one paragraph a line (DOC): a narrow line is a paragraph
        _link_narrow_blocks(lines, typical)

    out: list[str] = []
    current: list[str] = []  # the open paragraph: its first line raw, then stripped continuations
    last: _Line | None = None  # the open paragraph's last line
    held: list[str] = []  # page numbers met inside the open paragraph

    def close() -> None:
        nonlocal last
        if current:
            out.append(_join(current))
            current.clear()
        out.extend(held)
        held.clear()
        last = None

    i = 0
    while i < len(lines):
        line = lines[i]
        if last is not None and line.kind in ("blank", "marker"):
            # Furniture between the open paragraph and a line on another page it runs on to.
            j = i
            while j < len(lines) and lines[j].kind in ("blank", "marker"):
                j += 1
            crosses_page = j < len(lines) and lines[j].page != last.page
            only_markers = all(ln.kind == "marker" for ln in lines[i:j])
            if j < len(lines) and (crosses_page or only_markers) and is_wrap(last, lines[j]):
                held.extend(ln.text for ln in lines[i:j] if ln.kind == "marker")
                i = j
                continue
        if last is not None and is_wrap(last, line):
            current.append(line.text)
            last = line
            i += 1
            continue
        close()
        if line.kind in ("text", "glyphs"):
            current.append(line.text)
            last = line if line.kind == "text" else _Line(line.raw, "text", line.page, line.text,
                                                          line.width, line.indent)
            # a glyph run is a short line: it never continues
            if line.kind == "glyphs":
                close()
        else:
            out.append(line.raw if line.kind == "table" else line.raw.strip())
        i += 1
    close()
    return "\n".join(out)


def _join(parts: list[str]) -> str:
    text = parts[0]
    for part in parts[1:]:
        text = text.rstrip()
        text += _separator(text, part) + part
    return text


@dataclass(frozen=True)
class Glyph:
    """One character placed on a page (OFD: page coordinates in mm, y growing downwards)."""

    x: float  # left edge
    y: float  # baseline
    size: float  # font size
    char: str
    advance: float | None = None  # distance to the next glyph of its run, when known

    @property
    def right(self) -> float:
        if self.advance is not None and self.advance > 0:
            return self.x + min(self.advance, self.size * 1.2)
        return self.x + self.size * (1.0 if _is_wide(self.char) else 0.5)


CELL_GAP_EMS = 1.5  # a horizontal gap this wide (in font sizes) separates table cells (a tab)
WORD_GAP_EMS = 0.25  # a gap this wide next to a Latin letter or digit is a space
PARAGRAPH_GAP = 1.6  # a line spaced this many times the page's usual line pitch starts a paragraph
INDENT_EMS = 1.5  # a line starting this far right of the page's left edge is indented


def lay_out_page(glyphs: list[Glyph]) -> str:
    """The text of one page from its placed glyphs: lines by baseline, left to right.

    Glyphs whose baselines are within 40 % of the font size are one line; lines are ordered top to
    bottom. Inside a line a gap of :data:`CELL_GAP_EMS` is a tab (a table cell boundary, which
    :func:`join_wrapped_lines` never joins across) and a smaller gap next to a Latin letter or
    digit a space. A line further apart from the one above than :data:`PARAGRAPH_GAP` times the
    page's usual pitch is preceded by a blank line, and an indented line starts with spaces, so
    that :func:`join_wrapped_lines` sees the paragraph boundaries the positions show."""
    visible = [g for g in glyphs if g.char.strip()]
    if not visible:
        return ""
    rows: list[list[Glyph]] = []
    for glyph in sorted(visible, key=lambda g: (g.y, g.x)):
        if rows:
            row = rows[-1]
            baseline = sum(g.y for g in row) / len(row)
            if abs(glyph.y - baseline) <= 0.4 * max(glyph.size, max(g.size for g in row)):
                row.append(glyph)
                continue
        rows.append([glyph])
    baselines = [sum(g.y for g in row) / len(row) for row in rows]
    pitches = sorted(b - a for a, b in pairwise(baselines) if b > a)
    pitch = pitches[len(pitches) // 2] if pitches else 0.0
    left = min(min(g.x for g in row) for row in rows)
    out: list[str] = []
    for index, row in enumerate(rows):
        row.sort(key=lambda g: g.x)
        size = sorted(g.size for g in row)[len(row) // 2]
        if index and pitch and baselines[index] - baselines[index - 1] > PARAGRAPH_GAP * pitch:
            out.append("")
        text = ""
        previous: Glyph | None = None
        for glyph in row:
            if previous is not None:
                gap = glyph.x - previous.right
                if gap >= CELL_GAP_EMS * size:
                    text += "\t"
                elif gap >= WORD_GAP_EMS * size and not (_is_wide(previous.char) and _is_wide(glyph.char)):
                    text += " "
            text += glyph.char
            previous = glyph
        indent = "    " if row[0].x - left >= INDENT_EMS * size else ""
        out.append(indent + text)
    return "\n".join(out)
