"""When a report year's report is due: pure rules, no database.

The legal defaults:

- report years up to 2018 (2008 regulation, art. 31): 31 March of the next year, for everyone;
- from 2019 (2019 revision, art. 49): government departments by 31 January, a local
  government's own report by 31 March. Townships are not named by art. 49; local rules apply,
  and 31 March is the default here.

A site (or its region group, or ``[defaults]``) can set ``deadline = "MM-DD"`` -- a day in the
year after the report year -- and ``deadline_grace_days``, extra days the monitor waits before
it calls a report missing or late (listing lag, weekends).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["DeadlineRule", "legal_deadline", "report_deadline"]

REVISION_YEAR = 2019  # first report year under the 2019 revision


def legal_deadline(report_year: int, level: str) -> date:
    """The default deadline for ``report_year``'s report of a body at ``level``."""
    if report_year >= REVISION_YEAR and level == "department":
        return date(report_year + 1, 1, 31)
    return date(report_year + 1, 3, 31)


def _month_day(report_year: int, month_day: str) -> date:
    month, day = (int(part) for part in month_day.split("-"))
    # "02-29" in a non-leap year means the last day of February.
    day = min(day, calendar.monthrange(report_year + 1, month)[1])
    return date(report_year + 1, month, day)


@dataclass(frozen=True)
class DeadlineRule:
    """A site's deadline rule: its level, an optional MM-DD override and a grace period."""

    level: str
    override: str | None = None
    grace_days: int = 0

    def deadline(self, report_year: int) -> date:
        """The publication deadline (the rule, before any grace)."""
        if self.override:
            return _month_day(report_year, self.override)
        return legal_deadline(report_year, self.level)

    def due(self, report_year: int) -> date:
        """The last day a report still counts as on time: deadline plus grace."""
        return self.deadline(report_year) + timedelta(days=self.grace_days)

    @classmethod
    def from_config(cls, config: dict) -> DeadlineRule:
        """The rule stored with a site (``Site.config``, i.e. ``SiteConfig.as_dict()``)."""
        return cls(
            level=str(config.get("level") or "department"),
            override=config.get("deadline") or None,
            grace_days=int(config.get("deadline_grace_days") or 0),
        )


def report_deadline(report_year: int, level: str, override: str | None = None, grace_days: int = 0) -> date:
    """Shortcut: the due date (deadline plus grace) of one report year."""
    return DeadlineRule(level, override, grace_days).due(report_year)
