"""Dates as shown on bureau pages → ``YYYY-MM-DD``."""

from __future__ import annotations

import datetime as _dt
import re

from storage.numerals import CN_DIGITS, chinese_numeral_to_int

__all__ = ["normalize_date", "to_ascii_digits"]

_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９－／．：　",
    "0123456789-/.: ",
)
_CN_DIGIT_CHARS = "".join(CN_DIGITS)
_CN_NUM_CHARS = _CN_DIGIT_CHARS + "十拾"

_NUMERIC_RE = re.compile(
    r"(?<!\d)(\d{4})\s*(?:[-/.年]|\s)\s*(\d{1,2})\s*(?:[-/.月]|\s)\s*(\d{1,2})(?!\d)"
)
_COMPACT_RE = re.compile(r"(?<!\d)((?:19|20|21)\d{2})(\d{2})(\d{2})(?!\d)")
_CHINESE_RE = re.compile(
    rf"([{_CN_DIGIT_CHARS}]{{4}})\s*年"
    rf"\s*([{_CN_NUM_CHARS}]{{1,3}})\s*月"
    rf"\s*([{_CN_NUM_CHARS}]{{1,3}})\s*[日号]"
)


def to_ascii_digits(text: str) -> str:
    """Full-width digits and separators → ASCII."""
    return text.translate(_FULLWIDTH)


def _valid(year: int, month: int, day: int) -> str | None:
    if not 1900 <= year <= 2100:
        return None
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def normalize_date(text: str | None) -> str | None:
    """The first valid date in ``text`` as ``YYYY-MM-DD``; None when there is none."""
    if not text:
        return None
    text = to_ascii_digits(str(text))
    for match in _NUMERIC_RE.finditer(text):
        result = _valid(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if result:
            return result
    for match in _CHINESE_RE.finditer(text):
        year = chinese_numeral_to_int(match.group(1))
        month = chinese_numeral_to_int(match.group(2))
        day = chinese_numeral_to_int(match.group(3))
        if year is not None and month is not None and day is not None:
            result = _valid(year, month, day)
            if result:
                return result
    for match in _COMPACT_RE.finditer(text):
        result = _valid(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if result:
            return result
    return None
