"""normalize_date: the date formats bureau pages show → YYYY-MM-DD."""

from __future__ import annotations

import pytest

from crawler.extract.dates import normalize_date
from storage.numerals import chinese_numeral_to_int


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-10 15:35", "2025-03-10"),
        ("2025-03-10", "2025-03-10"),
        ("2025-3-1", "2025-03-01"),
        ("2025年3月10日", "2025-03-10"),
        ("2025 年 03 月 10 日", "2025-03-10"),
        ("2025/03/10", "2025-03-10"),
        ("2025.3.10", "2025-03-10"),
        ("２０２５年３月１０日", "2025-03-10"),
        ("２０２５－０３－１０", "2025-03-10"),
        ("二〇二四年一月十五日", "2024-01-15"),
        ("二○一九年十二月三十一日", "2019-12-31"),
        ("二〇二三年十月二十日", "2023-10-20"),
        ("发布时间：2018-03-20　来源：XX办公室", "2018-03-20"),
        ("2007-08-20-23:59:59", "2007-08-20"),
        ("2025-12-30T21:37:37+08:00", "2025-12-30"),
        ("20250310", "2025-03-10"),
    ],
)
def test_formats(text, expected):
    assert normalize_date(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", None, "无", "2025-13-01", "2025-02-30", "2023年2月29日", "第711号", "2025年", "12:30"],
)
def test_invalid_or_absent(text):
    assert normalize_date(text) is None


def test_skips_an_invalid_date_for_a_later_valid_one():
    assert normalize_date("2025-02-30 或 2025-03-01") == "2025-03-01"


def test_leap_day():
    assert normalize_date("2024年2月29日") == "2024-02-29"


@pytest.mark.parametrize(
    ("text", "value"),
    [("二〇二四", 2024), ("十", 10), ("十五", 15), ("二十", 20), ("三十一", 31), ("七", 7), ("", None)],
)
def test_chinese_numerals(text, value):
    assert chinese_numeral_to_int(text) == value
