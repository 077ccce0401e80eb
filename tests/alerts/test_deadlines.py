"""The deadline rules (pure)."""

from __future__ import annotations

from datetime import date

from alerts.deadlines import DeadlineRule, legal_deadline, report_deadline


def test_legal_defaults_before_and_after_the_2019_revision():
    assert legal_deadline(2018, "department") == date(2019, 3, 31)
    assert legal_deadline(2018, "government") == date(2019, 3, 31)
    assert legal_deadline(2019, "department") == date(2020, 1, 31)
    assert legal_deadline(2019, "government") == date(2020, 3, 31)
    assert legal_deadline(2023, "township") == date(2024, 3, 31)


def test_override_and_grace():
    rule = DeadlineRule("department", override="02-15", grace_days=10)
    assert rule.deadline(2023) == date(2024, 2, 15)
    assert rule.due(2023) == date(2024, 2, 25)
    assert report_deadline(2023, "department", grace_days=3) == date(2024, 2, 3)


def test_february_29_in_a_common_year_is_the_last_day_of_february():
    assert DeadlineRule("government", override="02-29").deadline(2022) == date(2023, 2, 28)
    assert DeadlineRule("government", override="02-29").deadline(2023) == date(2024, 2, 29)


def test_rule_from_a_stored_site_configuration():
    rule = DeadlineRule.from_config({"level": "government", "deadline": None, "deadline_grace_days": 5})
    assert rule.due(2020) == date(2021, 4, 5)
