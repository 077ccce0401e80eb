"""A report's sections: where each top-level heading starts and ends in the body text.

The archive's definition (on the ground floor): the crawl stores each version's sections, the
search filters by them (:mod:`storage.sections`) and migration 0011 fills them for old versions.

Since the 2019 revision of the regulation a report has six sections, keyed here

========== =====================================================================
overview   一、总体情况
proactive  二、主动公开政府信息情况
requests   三、收到和处理政府信息公开申请情况
review     四、政府信息公开行政复议、行政诉讼情况
problems   五、存在的主要问题及改进情况 (存在问题及改进情况, …及整改措施, 工作中存在的问题…)
other      六、其他需要报告的事项
========== =====================================================================

Their headings are matched loosely: full-width or half-width punctuation after the numeral
(``一、`` ``一.`` ``一．`` ``一 ``), spaces inside the heading (``一、总 体 情 况``), bold or
bracket remnants around it (``**一、总体情况**``, ``【一、总体情况】``), and the heading on the same
line as the section's first sentence (``一、总体情况。2023年，我局…``). Earlier reports are free-form:
their sections are the report's own top-level numbered headings (``一、概述`` … ``十、…``),
keyed ``part1`` … ``partN`` with the heading text kept, and ``topic`` naming the post-2019 section
a heading corresponds to when it reads like one (``六、政府信息公开工作存在的主要问题及改进情况``:
topic ``problems``).

Only a Chinese numeral at the start of a line opens a section, and only in increasing order:
``（一）`` sub-items, ``1.`` items and ``一是`` never do, and neither do table rows (a line with
cells, e.g. table 3's ``一、本年新收政府信息公开申请数量\\t217…``). A section runs from its heading
to the next section's heading (the last one to the end of the text); text before the first
heading (the report's preamble) belongs to no section.

Offsets are character offsets into the text given, so ``text[s.start:s.end]`` is the section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from storage.numerals import chinese_numeral_to_int

__all__ = [
    "SECTION_KEYS",
    "SECTION_NAMES",
    "Section",
    "classify_heading",
    "section_of",
    "sections_json",
    "split_sections",
]

#: The six post-2019 sections, in order, with the model report's heading words.
SECTION_NAMES: dict[str, str] = {
    "overview": "总体情况",
    "proactive": "主动公开政府信息情况",
    "requests": "收到和处理政府信息公开申请情况",
    "review": "政府信息公开行政复议、行政诉讼情况",
    "problems": "存在的主要问题及改进情况",
    "other": "其他需要报告的事项",
}
SECTION_KEYS: tuple[str, ...] = tuple(SECTION_NAMES)


@dataclass(frozen=True)
class Section:
    """One section: ``text[start:end]``, opened by ``heading``."""

    key: str  # overview … other, or part1 … partN for a pre-2019 report
    heading: str  # as the report writes it, e.g. "五、存在问题及改进情况"
    start: int
    end: int
    topic: str | None = None  # pre-2019 only: the post-2019 section this part corresponds to

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "heading": self.heading, "start": self.start, "end": self.end}
        if self.topic is not None:
            data["topic"] = self.topic
        return data


# --- the headings ------------------------------------------------------------------------------

_NUMERALS = "一二三四五六七八九十"
# Markup remnants and decoration a heading may be wrapped in (bold markers, brackets, bullets).
_LEAD_JUNK = "*#>•·●■□◆◇▶►【[〔 \t\u3000\u00a0"
_TRAIL_JUNK = "*】]〕 \t\u3000\u00a0"
# "一、" "一." "一．" "一，" "一：" "一 " "第一部分" -- then the heading words.
_NUMBERED_RE = re.compile(
    rf"^(?:第\s*(?P<num2>[{_NUMERALS}]{{1,3}})\s*(?:部分|章|节)\s*[、.．,，:：]?"
    rf"|(?P<num>[{_NUMERALS}]{{1,3}})\s*(?:[、.．,，:：]|\s)\s*)"
)
# The heading words end at the first sentence mark (the rest of the line is the first sentence).
_SENTENCE_END_RE = re.compile(r"[。；;！!？?]")
_MAX_HEADING = 60
# Words a canonical heading may run on by (e.g. "…改进情况说明") before the rest counts as text.
_HEADING_SLACK = 6
# A table row (cells joined by tabs, or a label followed by several numbers).
_TABLE_ROW_RE = re.compile(r"\t|(?:\s\d+(?:\.\d+)?){3,}\s*$")
_SPACES_RE = re.compile(r"[\s\u3000\u00a0]+")

# Canonical heading words, matched at the start of the words after the numeral (spaces
# removed). Each pattern's match is where the heading ends when a sentence follows on its line.
_OPT_PREFIX = r"(?:本(?:机关|单位|部门|局|委|办|年度?))?(?:政府信息公开|政务公开)?(?:工作)?"
_CANONICAL: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern))
    for key, pattern in (
        ("overview", rf"^{_OPT_PREFIX}(?:总体情况|总体概况|基本情况|概述|概况|总体工作情况)"),
        ("proactive", rf"^{_OPT_PREFIX}主动公开(?:政府)?信息(?:的)?(?:工作)?(?:情况)?|^主动公开(?:工作)?情况"),
        (
            "requests",
            r"^(?:收到和|收到及|受理和)?处理(?:政府)?信息公开申请(?:的)?(?:情况)?"
            r"|^收到(?:和处理)?(?:政府)?信息公开申请(?:的)?(?:情况)?"
            rf"|^{_OPT_PREFIX}(?:政府信息)?依申请公开(?:政府信息)?(?:工作)?(?:的)?(?:办理)?(?:情况)?"
            r"|^(?:政府信息公开)?申请(?:办理|处理)情况",
        ),
        (
            "review",
            rf"^{_OPT_PREFIX}(?:有关)?(?:政府信息公开)?(?:的)?(?:因政府信息公开(?:申请)?)?"
            r"(?:申请)?(?:提起)?(?:行政)?复议[、，,和及与\s]*(?:提起)?(?:行政)?诉讼(?:[、，,和及与]*(?:行政)?申诉)?(?:的)?(?:情况)?",
        ),
        (
            "problems",
            rf"^{_OPT_PREFIX}(?:中)?存在(?:的)?(?:主要)?(?:问题|不足)(?:和不足|及不足)?"
            r"(?:(?:及|和|与|以及|、)(?:下一步|今后)?(?:的)?(?:工作)?(?:改进|整改|工作)(?:的)?(?:情况|措施|方向|计划|打算|思路)?)?"
            r"|^(?:主要)?问题(?:及|和|与)(?:改进|整改)(?:情况|措施)?",
        ),
        ("other", r"^其[他它](?:需要|需|应当|应)?(?:报告|说明)?(?:的)?(?:事项|情况)"),
    )
)
# The wording of 三 only the 2019 model report uses (with 六, it marks a post-2019 report).
_REQUESTS_MODEL_RE = re.compile(r"^(?:收到和|收到及)?处理(?:政府)?信息公开申请|^收到(?:和处理)?(?:政府)?信息公开申请")


@dataclass(frozen=True)
class _Line:
    number: int | None  # the heading's numeral (None: a bare line)
    start: int  # offset of the heading's first character
    heading_start: int  # where the heading words begin on the line (after the numeral)
    words: str  # the heading words with spaces removed, for matching
    line: str  # the (stripped) line from the numeral on
    offsets: list[int]  # offset in ``line`` of each character of ``words`` (for cutting)


def classify_heading(words: str) -> str | None:
    """The post-2019 section key a heading's words correspond to, or None.

    ``words`` is the heading without its numeral (``存在的主要问题及改进措施`` → ``problems``).
    """
    compact = _SPACES_RE.sub("", words)
    for key, pattern in _CANONICAL:
        if pattern.match(compact):
            return key
    return None


def _canonical_match(words: str) -> tuple[str, int] | None:
    """(key, length of the matched heading words) for the start of ``words``."""
    for key, pattern in _CANONICAL:
        found = pattern.match(words)
        if found and found.end() > 0:
            return key, found.end()
    return None


def _lines(text: str) -> list[_Line]:
    """Every line that starts with a top-level numeral (or could be a bare heading)."""
    found: list[_Line] = []
    at = 0
    for raw in text.splitlines(keepends=True):
        line_start = at
        at += len(raw)
        line = raw.rstrip("\r\n")
        stripped = line.lstrip(_LEAD_JUNK)
        if not stripped or _TABLE_ROW_RE.search(line):
            continue
        start = line_start + (len(line) - len(stripped))
        stripped = stripped.rstrip(_TRAIL_JUNK)
        match = _NUMBERED_RE.match(stripped)
        number = None
        body_at = 0
        if match:
            number = chinese_numeral_to_int(match.group("num") or match.group("num2"))
            if number is None or number < 1:
                continue
            body_at = match.end()
        elif len(stripped) > 30:
            continue  # too long for a heading without a numeral
        body = stripped[body_at:]
        offsets = [i for i, char in enumerate(body) if not char.isspace()]
        words = "".join(body[i] for i in offsets)
        if not words or words[0] in "（(":
            continue
        found.append(_Line(number, start, body_at, words, stripped, offsets))
    return found


def _heading_text(line: _Line, words_end: int | None) -> str:
    """The heading as written: the numeral and its words up to the first sentence mark (the
    line's end without one), at most :data:`_MAX_HEADING` characters.

    ``words_end`` (a count of non-space characters: where a canonical heading's words end):
    when more than a few words follow them before the sentence mark, the heading runs on into
    its first sentence on the same line and is cut there instead.
    """
    body = line.line[line.heading_start :]
    sentence = _SENTENCE_END_RE.search(body)
    cut = sentence.start() if sentence else len(body)
    if words_end is not None and 0 < words_end < len(line.offsets):
        canonical_cut = line.offsets[words_end - 1] + 1
        if len(_SPACES_RE.sub("", body[:cut])) > words_end + _HEADING_SLACK:
            cut = canonical_cut
    heading = (line.line[: line.heading_start] + body[:cut]).rstrip(" ，,：:、.．\u3000")
    return heading[:_MAX_HEADING]


def _post2019(lines: list[_Line]) -> tuple[list[tuple[str, _Line, int]], int, bool]:
    """The six sections found in order: ([(key, line, heading words length)], how many numbered
    headings sit at their model position, whether a heading only the 2019 model uses occurs)."""
    order = {key: i for i, key in enumerate(SECTION_KEYS)}
    numbered: list[tuple[str, _Line, int]] = []
    last = -1
    for line in lines:
        if line.number is None:
            continue
        match = _canonical_match(line.words)
        if match is None:
            continue
        key, length = match
        if order[key] > last:
            numbered.append((key, line, length))
            last = order[key]
    # Bare headings (no numeral, the line is just the heading) fill keys still missing, in order.
    chosen = list(numbered)
    for line in lines:
        if line.number is not None:
            continue
        match = _canonical_match(line.words)
        if match is None or match[1] < len(line.words) - 2:
            continue
        key, length = match
        if any(k == key for k, _, _ in chosen):
            continue
        before = [o for o in chosen if o[1].start < line.start]
        after = [o for o in chosen if o[1].start > line.start]
        if (not before or order[before[-1][0]] < order[key]) and (not after or order[after[0][0]] > order[key]):
            chosen.append((key, line, length))
            chosen.sort(key=lambda o: o[1].start)
    positional = sum(1 for key, line, _ in numbered if line.number == order[key] + 1)
    model = any(
        key == "other" or (key == "requests" and _REQUESTS_MODEL_RE.match(line.words))
        for key, line, _ in chosen
    )
    return chosen, positional, model


def _numbered_parts(lines: list[_Line]) -> list[_Line]:
    """The report's own top-level headings: numerals from 一 on, each the next one (one
    missing numeral tolerated), so list items restarting at 一 inside a part are not parts."""
    parts: list[_Line] = []
    last = 0
    for line in lines:
        if line.number is None:
            continue
        if last < line.number <= last + 2 and (parts or line.number == 1):
            parts.append(line)
            last = line.number
    return parts


def split_sections(text: str | None) -> list[Section]:
    """The sections of a report's body text, in order (empty when it has no headings).

    A post-2019 report (at least four of the six headings found at their model numerals, or
    four found and one of the model-only headings 收到和处理政府信息公开申请情况 /
    其他需要报告的事项 among them) gives its canonical sections; any other text its numbered
    parts ``part1`` … (with a ``topic`` where a part's heading reads like a post-2019 one).
    """
    text = text or ""
    lines = _lines(text)
    if not lines:
        return []
    chosen, positional, model = _post2019(lines)
    spans: list[tuple[str, str, int, str | None]]  # (key, heading, start, topic)
    if positional >= 4 or (model and len(chosen) >= 4):
        spans = [(key, _heading_text(line, length), line.start, None) for key, line, length in chosen]
    else:
        spans = []
        for index, line in enumerate(_numbered_parts(lines), start=1):
            match = _canonical_match(line.words)
            spans.append((f"part{index}", _heading_text(line, None), line.start, match[0] if match else None))
    sections = []
    for index, (key, heading, start, topic) in enumerate(spans):
        end = spans[index + 1][2] if index + 1 < len(spans) else len(text)
        sections.append(Section(key, heading, start, end, topic))
    return sections


def sections_json(text: str | None) -> list[dict[str, Any]]:
    """:func:`split_sections` as the JSON stored on a version (``versions.sections``)."""
    return [section.to_json() for section in split_sections(text)]


def section_of(sections: list[Section], key: str) -> Section | None:
    """The section with this key (or, for a pre-2019 report, this topic), if any."""
    for section in sections:
        if section.key == key:
            return section
    for section in sections:
        if section.topic == key:
            return section
    return None
