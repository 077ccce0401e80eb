"""Dates as shown on bureau pages → ``YYYY-MM-DD``."""

from __future__ import annotations

import datetime as _dt
import re

__all__ = ["normalize_date", "to_ascii_digits", "chinese_numeral_to_int"]

_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９－／．：　",
    "0123456789-/.: ",
)
_CN_DIGITS = {
    "〇": 0, "零": 0, "○": 0, "◯": 0, "Ｏ": 0, "О": 0,
    "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9,
    "两": 2,
}
_CN_DIGIT_CHARS = "".join(_CN_DIGITS)
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


def chinese_numeral_to_int(text: str) -> int | None:
    """``二〇二四`` → 2024 (digit by digit); ``十五`` → 15, ``二十一`` → 21, ``三十`` → 30."""
    text = text.strip()
    if not text:
        return None
    if "十" in text or "拾" in text:
        text = text.replace("拾", "十")
        head, _, tail = text.partition("十")
        if (head and head not in _CN_DIGITS) or (tail and tail not in _CN_DIGITS) or len(tail) > 1:
            return None
        tens = _CN_DIGITS[head] if head else 1
        ones = _CN_DIGITS[tail] if tail else 0
        return tens * 10 + ones
    value = 0
    for char in text:
        digit = _CN_DIGITS.get(char)
        if digit is None:
            return None
        value = value * 10 + digit
    return value


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
