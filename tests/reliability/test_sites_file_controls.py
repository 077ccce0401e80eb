"""Control characters in the sites file are refused when it is read.

The attack: a sites file (edited by hand, generated from a spreadsheet, or contributed) with
``name = "…\\u0000…"``. It used to pass ``nianbao sites check`` and then break every PostgreSQL
crawl (PostgreSQL text cannot hold NUL); escape sequences (ESC, CSI) in names would also reach
the terminal through ``sites list`` and crawl summaries.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config import parse_sites
from crawler.errors import ConfigError
from tests.crawler.harness import run_nianbao

SITE = ('[[sites]]\nkey = "demo-tjj"\nname = {name}\nregion = "示范市"\nlevel = "department"\n'
        'family = "trs"\nlist_urls = ["http://127.0.0.1:8765/tjj/"]\n')
BASE = {"key": "demo-tjj", "name": "示范市统计局", "region": "示范市", "level": "department",
        "family": "trs", "list_urls": ["http://127.0.0.1:8765/tjj/"]}


def test_sites_check_rejects_a_nul_in_one_line(tmp_path: Path):
    sites = tmp_path / "sites.toml"
    sites.write_text(SITE.format(name='"示范市\\u0000统计局"'), encoding="utf-8")
    result = run_nianbao("sites", "check", str(sites), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "\x00" not in result.stderr
    assert str(sites) in lines[0] and "site 'demo-tjj'" in lines[0]
    assert "name contains a control character (U+0000)" in lines[0]


def test_a_crawl_with_such_a_file_stops_before_touching_the_archive(tmp_path: Path, database_url: str):
    sites = tmp_path / "sites.toml"
    sites.write_text(SITE.format(name='"示范市\\u0000统计局"'), encoding="utf-8")
    result = run_nianbao("--db", database_url, "--sites", str(sites), "crawl", "-q", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "control character (U+0000)" in result.stderr


@pytest.mark.parametrize("document, message", [
    ({"sites": [{**BASE, "name": "示范\x00局"}]}, "site 'demo-tjj': name contains a control character (U+0000)"),
    ({"sites": [{**BASE, "region": "示范\x1b[2J市"}]}, "site 'demo-tjj': region contains a control character (U+001B)"),
    ({"sites": [{**BASE, "key": "demo\x85"}]}, "site #1: key contains a control character (U+0085)"),
    ({"sites": [{**BASE, "list_urls": ["http://a.cn/", "http://a.cn/\x7f"]}]},
     "site 'demo-tjj': list_urls[1] contains a control character (U+007F)"),
    ({"sites": [{**BASE, "selectors": {"body": "div\x9b"}}]},
     "site 'demo-tjj': selectors.body contains a control character (U+009B)"),
    ({"sites": [{**BASE, "alert_urls": ["mailto://a@b.cn\n"]}]},
     "site 'demo-tjj': alert_urls[0] contains a control character (U+000A)"),
    ({"sites": [{**BASE, "report_link_pattern": "年报\t"}]},
     "site 'demo-tjj': report_link_pattern contains a control character (U+0009)"),
    ({"sites": [{**BASE, "name": "示范\u202e局"}]},
     "site 'demo-tjj': name contains a layout control character (U+202E)"),
    ({"sites": [{**BASE, "na\x00me": "x"}]},
     "site 'demo-tjj': the key name 'na\\u0000me' contains a control character (U+0000)"),
    ({"sites": [BASE], "defaults": {"cron": "0 2 * * *\x00"}},
     "[defaults]: cron contains a control character (U+0000)"),
    ({"sites": [BASE], "alerts": {"urls": ["json://x\x00"]}}, "[alerts]: urls[0] contains a control character (U+0000)"),
    ({"sites": [BASE], "regions": {"福建省": {"deadline": "03-31\x00"}}},
     "region '福建省': deadline contains a control character (U+0000)"),
    ({"sites": [BASE], "regions": {"福建\x00省": {}}}, "the region name '福建\\u0000省' contains a control character (U+0000)"),
])
def test_every_string_and_key_is_checked(document, message):
    with pytest.raises(ConfigError) as error:
        parse_sites(document, source="sites.toml")
    assert str(error.value) == f"sites.toml: {message}"
    assert "\n" not in str(error.value) and "\x00" not in str(error.value)


def test_ordinary_chinese_text_passes():
    sites = parse_sites({"sites": [{**BASE, "name": "示范市统计局（政务公开）·年报", "region": "福建省 莆田市"}]})
    assert sites[0].name == "示范市统计局（政务公开）·年报"
