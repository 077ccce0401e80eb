"""The year a report covers, read from its title."""

from __future__ import annotations

import re

from storage.numerals import chinese_numeral_to_int

from .dates import to_ascii_digits

__all__ = ["report_year_from_title"]

MIN_YEAR = 2000
MAX_YEAR = 2100

_CN_YEAR_RE = re.compile(r"[〇零○◯Ｏ一二三四五六七八九]{4}(?=\s*年)")
# A year attached to 年/年度 ("2023年", "2017年度", "2023 年度").
_YEAR_WITH_NIAN_RE = re.compile(r"(?<!\d)(\d{4})\s*年")
# A bare year ("XX局2023政府信息公开工作年度报告"), used only when no year carries 年.
_BARE_YEAR_RE = re.compile(r"(?<![\d〔\[［(（])(\d{4})(?![\d〕\]］号])")
# What a report title says after the year it covers.
_ANCHOR_RE = re.compile(r"政府信息公开|政务公开|信息公开|年度报告|工作报告|年报|报告")
# A title must look like a report title for its year to be a *report* year.
_REPORT_WORDS_RE = re.compile(r"年报|报告|信息公开|政务公开")


def _normalise(title: str) -> str:
    text = to_ascii_digits(title)
    return _CN_YEAR_RE.sub(lambda m: str(chinese_numeral_to_int(m.group(0)) or m.group(0)), text)


def _plausible(year: int) -> bool:
    return MIN_YEAR <= year <= MAX_YEAR


def report_year_from_title(title: str | None) -> int | None:
    """``XX局2023年政府信息公开工作年度报告`` → 2023; None when the title names no report year.

    Full-width digits and Chinese numerals (``二〇二三年``) are understood. With several years
    the one attached to 年/年度 nearest before 政府信息公开/年度报告/年报 wins, so a trailing
    ``（2024年1月修订）`` does not displace the reported year.
    """
    if not title:
        return None
    text = _normalise(title)
    if not _REPORT_WORDS_RE.search(text):
        return None
    candidates = [
        (m.start(), m.end(), int(m.group(1)))
        for m in _YEAR_WITH_NIAN_RE.finditer(text)
        if _plausible(int(m.group(1)))
    ]
    if not candidates:
        candidates = [
            (m.start(), m.end(), int(m.group(1)))
            for m in _BARE_YEAR_RE.finditer(text)
            if _plausible(int(m.group(1)))
        ]
    if not candidates:
        return None
    anchors = [m.start() for m in _ANCHOR_RE.finditer(text)]
    best: tuple[int, int] | None = None  # (distance, year)
    for _start, end, year in candidates:
        following = [a - end for a in anchors if a >= end]
        if not following:
            continue
        distance = min(following)
        if best is None or distance < best[0]:
            best = (distance, year)
    if best is not None:
        return best[1]
    return candidates[0][2]
