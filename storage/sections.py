"""Which of a version's stored sections a search's ``section`` filter asks for.

A version's ``sections`` column (filled by the crawl, :mod:`storage.sectioning`) lists its
sections as ``{"key", "heading", "start", "end"}`` (plus ``topic`` for an earlier report's part
that corresponds to a post-2019 section). A filter names a section by

- a key: ``overview``, ``proactive``, ``requests``, ``review``, ``problems``, ``other`` (a
  post-2019 section, or an earlier report's part with that topic), or ``part1`` … ``partN``;
- Chinese words: ``问题`` matches a section whose heading contains them
  (``五、存在问题及改进情况``, ``四、政府信息公开工作存在的主要问题及改进情况``) or whose key is a
  section whose model heading contains them (``问题`` → problems, ``复议`` → review); a few
  usual names are understood too (``概述`` → overview).

The vocabulary is repeated here because storage does not import the crawler; a test checks that
it agrees with :data:`storage.sectioning.SECTION_KEYS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SECTION_KEYS", "SECTION_NAMES", "SectionFilter", "parse_section_filter"]

#: The six post-2019 sections: key → the model report's heading words.
SECTION_NAMES: dict[str, str] = {
    "overview": "总体情况",
    "proactive": "主动公开政府信息情况",
    "requests": "收到和处理政府信息公开申请情况",
    "review": "政府信息公开行政复议、行政诉讼情况",
    "problems": "存在的主要问题及改进情况",
    "other": "其他需要报告的事项",
}
SECTION_KEYS: tuple[str, ...] = tuple(SECTION_NAMES)
# Further words people use for a section (matched like the model heading's words).
_ALIASES: dict[str, tuple[str, ...]] = {
    "overview": ("概述", "概况", "基本情况"),
    "proactive": ("主动公开",),
    "requests": ("依申请公开", "申请公开", "依申请"),
    "review": ("行政复议", "行政诉讼", "复议诉讼"),
    "problems": ("存在问题", "改进措施", "整改措施", "问题和改进", "不足"),
    "other": ("其它", "其他事项"),
}
_PART_RE = re.compile(r"part([1-9]\d{0,2})")
_NOISE_RE = re.compile(r"[\s\u3000、，,.．。：:;；（）()“”\"'《》]+")
_MAX_LENGTH = 50


@dataclass(frozen=True)
class SectionFilter:
    """A parsed ``section`` filter: the keys it names and the heading words it looks for."""

    spec: str
    keys: frozenset[str]
    words: str | None = None  # matched inside a section's heading (spaces removed)

    def matches(self, section: Mapping[str, Any]) -> bool:
        """Whether one stored section (a dict from ``versions.sections``) is asked for."""
        if section.get("key") in self.keys or section.get("topic") in self.keys:
            return True
        if self.words:
            heading = _NOISE_RE.sub("", str(section.get("heading") or ""))
            return self.words in heading
        return False

    def spans(self, sections: Iterable[Mapping[str, Any]] | None, length: int) -> list[tuple[int, int]]:
        """(start, end) of the asked-for sections, clipped to a text of ``length`` characters."""
        spans: list[tuple[int, int]] = []
        for section in sections or []:
            if not isinstance(section, Mapping) or not self.matches(section):
                continue
            try:
                start, end = int(section["start"]), int(section["end"])
            except (KeyError, TypeError, ValueError):
                continue
            start, end = max(0, start), min(length, end)
            if end > start:
                spans.append((start, end))
        return spans


def parse_section_filter(spec: str | None) -> SectionFilter | None:
    """The filter a user's ``section`` value stands for; None for an empty value.

    Raises ``ValueError`` for a Latin value that names no section (``--section foo``), or one
    longer than 50 characters.
    """
    text = (spec or "").strip()
    if not text:
        return None
    if len(text) > _MAX_LENGTH:
        raise ValueError(f"a section name is at most {_MAX_LENGTH} characters")
    lowered = text.lower()
    if lowered.isascii():
        if lowered in SECTION_NAMES or _PART_RE.fullmatch(lowered):
            return SectionFilter(text, frozenset({lowered}))
        raise ValueError(
            f"unknown section {text!r}: use one of {', '.join(SECTION_KEYS)}, part1, part2 …"
            " or words of its heading, e.g. 问题"
        )
    words = _NOISE_RE.sub("", text)
    if not words:
        raise ValueError(f"unknown section {text!r}")
    keys = {
        key for key, name in SECTION_NAMES.items()
        if words in _NOISE_RE.sub("", name) or any(words in alias or alias in words for alias in _ALIASES[key])
    }
    return SectionFilter(text, frozenset(keys), words)

