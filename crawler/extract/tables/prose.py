"""Best-effort numbers from the prose of pre-2019 reports (no statistics tables then).

Only standard wordings are read (收到…申请…N件, 主动公开…N条, 咨询…N次); the result is marked
``"estimated": True`` because a sentence can always be worded in a way these patterns misread.
"""

from __future__ import annotations

import re

__all__ = ["PROSE_KEYS", "prose_numbers"]

_UNIT = r"(?:件|条|份|个|项|次|人次|宗)"
_CLAUSE = r"[^。；;！!\n]"  # stay inside one sentence
# A figure in an old-style 指标 table flattened to text: 主动公开信息数<TAB>条<TAB>308.
_CELLS = r"[^\n\t]{0,16}?\t\s*(?:条|件|个|项|次)?\s*\t?\s*(\d+)"
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # 收到/受理 … 申请 … 10件  |  受理 3 条信息公开申请  |  尚未收到…申请 (0)
    ("requests_received", re.compile(
        rf"(?:收到|受理|接收|接到){_CLAUSE}{{0,20}}?申请{_CLAUSE}{{0,12}}?(\d+)\s*{_UNIT}"
        rf"|(?:收到|受理|接收|接到){_CLAUSE}{{0,12}}?(\d+)\s*{_UNIT}{_CLAUSE}{{0,10}}?申请"
        rf"|受理{_CLAUSE}{{0,6}}?申请{_CELLS}"
        rf"|(?:尚未|没有|未)(?:收到|受理|接到){_CLAUSE}{{0,12}}?申请()"
    )),
    # 主动公开政府信息356条 | 主动公开各类信息共 388 条
    ("proactive_items", re.compile(
        rf"主动公开{_CLAUSE}{{0,20}}?(\d+)\s*(?:条|件|项)|主动公开{_CELLS}"
    )),
    ("consultations", re.compile(rf"咨询{_CLAUSE}{{0,15}}?(\d+)\s*{_UNIT}")),
    ("review_cases", re.compile(rf"行政复议{_CLAUSE}{{0,10}}?(\d+)\s*(?:件|起|宗)")),
    ("litigation_cases", re.compile(rf"行政诉讼{_CLAUSE}{{0,10}}?(\d+)\s*(?:件|起|宗)")),
)
PROSE_KEYS = tuple(key for key, _ in _PATTERNS)


def prose_numbers(text: str) -> dict[str, int | bool] | None:
    """The first standard statement of each number in ``text``, or None when none is found."""
    found: dict[str, int | bool] = {}
    for key, pattern in _PATTERNS:
        match = pattern.search(text)
        if match:
            digits = next(g for g in match.groups() if g is not None)
            found[key] = int(digits) if digits else 0  # "尚未收到申请": none
    if not found:
        return None
    found["estimated"] = True
    return found
