"""report_year_from_title: the year the report covers."""

from __future__ import annotations

import pytest

from crawler.extract.years import report_year_from_title


@pytest.mark.parametrize(
    ("title", "year"),
    [
        ("XX市XX局2023年政府信息公开工作年度报告", 2023),
        ("平潭综合实验区2024年度政府信息公开工作年度报告", 2024),
        ("莆田市统计局2008年度政府信息公开工作年度报告", 2008),
        ("XX区2017年度政府信息公开年报", 2017),
        ("XX局２０１８年政府信息公开工作年度报告", 2018),
        ("XX县人民政府二〇二三年政府信息公开工作年度报告", 2023),
        ("XX局2022年政府信息公开工作年度报告（图片版）", 2022),
        ("XX局2021年度政府信息公开工作年度报告（文字版）", 2021),
        ("XX局 2019 年政府信息公开工作年度报告", 2019),
        ("XX局2020政府信息公开工作年度报告", 2020),
        ("关于XX局2022年度政府信息公开工作年度报告的更正（2023年5月）", 2022),
        ("XX局2023年政府信息公开工作年度报告（2024年1月修订）", 2023),
        ("XX局政府信息公开工作年度报告（2023年）", 2023),
        ("XX局政府信息公开2016年度报告", 2016),
    ],
)
def test_years(title, year):
    assert report_year_from_title(title) == year


@pytest.mark.parametrize(
    "title",
    [
        "",
        None,
        "XX局政府信息公开工作年度报告",
        "平潭综合实验区管委会关于废止部分规范性文件的通知",
        "关于印发2024年工作要点的通知",  # not a report title
        "XX局1998年政府信息公开工作年度报告",  # outside the plausible range
        "岚综管综〔2016〕266号 政府信息公开",
    ],
)
def test_no_year(title):
    assert report_year_from_title(title) is None
