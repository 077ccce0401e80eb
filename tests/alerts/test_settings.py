"""Monitoring keys of the sites file: grace days, cron, region groups, [alerts]."""

from __future__ import annotations

import pytest

from alerts.settings import parse_alert_settings
from crawler.config import parse_sites
from crawler.errors import ConfigError

SITE = {"key": "a", "name": "A", "region": "福建省莆田市", "level": "department", "family": "trs",
        "list_urls": ["http://a/"]}


def test_region_group_sets_deadline_grace_and_cron_unless_the_site_does():
    document = {
        "defaults": {"deadline_grace_days": 2},
        "regions": {"福建省": {"deadline": "02-28", "deadline_grace_days": 5, "cron": "0 4 * * *"}},
        "sites": [SITE, {**SITE, "key": "b", "deadline_grace_days": 0, "cron": "15 1 * * *"},
                  {**SITE, "key": "c", "region": "广东省"}],
    }
    a, b, c = parse_sites(document)
    assert (a.deadline, a.deadline_grace_days, a.cron) == ("02-28", 5, "0 4 * * *")
    assert (b.deadline, b.deadline_grace_days, b.cron) == ("02-28", 0, "15 1 * * *")
    assert (c.deadline, c.deadline_grace_days, c.cron) == (None, 2, None)
    assert a.as_dict()["deadline_grace_days"] == 5  # stored with the site: the monitor reads it


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cron": "every night"}, "site 'a': cron must be a crontab expression"),
        ({"deadline_grace_days": -1}, "site 'a': deadline_grace_days must be an integer between 0 and 366"),
        ({"alert_urls": ["not a url"]}, "site 'a': alert_urls must be a list of apprise URLs"),
    ],
)
def test_bad_monitoring_keys_are_one_line_errors(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_sites({"sites": [{**SITE, **change}]}, source="f")


def test_bad_region_and_alerts_tables():
    with pytest.raises(ConfigError, match="region '福建省': unknown key"):
        parse_sites({"regions": {"福建省": {"max_pages": 3}}, "sites": [SITE]}, source="f")
    with pytest.raises(ConfigError, match=r"\[alerts\] repeat_days must be"):
        parse_alert_settings({"alerts": {"repeat_days": 0}}, [], source="f")
    with pytest.raises(ConfigError, match=r"\[alerts\]: unknown key"):
        parse_alert_settings({"alerts": {"url": "x"}}, [], source="f")
