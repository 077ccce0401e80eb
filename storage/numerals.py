"""Chinese numerals as reports write them (年份 ``二〇二四``, 序号 ``十五``, headings ``三、``).

On the ground floor because the archive's own definition of a report's sections
(:mod:`storage.sectioning`) reads heading numerals, and so does the crawler's extraction.
"""

from __future__ import annotations

__all__ = ["CN_DIGITS", "chinese_numeral_to_int"]

CN_DIGITS = {
    "〇": 0, "零": 0, "○": 0, "◯": 0, "Ｏ": 0, "О": 0,
    "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9,
    "两": 2,
}

def chinese_numeral_to_int(text: str) -> int | None:
    """``二〇二四`` → 2024 (digit by digit); ``十五`` → 15, ``二十一`` → 21, ``三十`` → 30."""
    text = text.strip()
    if not text:
        return None
    if "十" in text or "拾" in text:
        text = text.replace("拾", "十")
        head, _, tail = text.partition("十")
        if (head and head not in CN_DIGITS) or (tail and tail not in CN_DIGITS) or len(tail) > 1:
            return None
        tens = CN_DIGITS[head] if head else 1
        ones = CN_DIGITS[tail] if tail else 0
        return tens * 10 + ones
    value = 0
    for char in text:
        digit = CN_DIGITS.get(char)
        if digit is None:
            return None
        value = value * 10 + digit
    return value
