import tomllib

import pytest

from crawler.config import DEFAULT_MAX_PAGES, load_sites, parse_sites, select_sites
from crawler.errors import ConfigError

VALID = """
[defaults]
max_pages = 50

[[sites]]
key = "putian-tjj"
name = "莆田市统计局"
region = "福建省莆田市"
level = "department"
family = "trs"
list_urls = ["https://www.putian.gov.cn/zfxxgk/bmzfxxgk/ptstjj/zfxxgk/zfxxgknb/"]
first_report_year = 2008
deadline = "01-31"

[sites.selectors]
body = "div.TRS_Editor"

[[sites]]
key = "pingtan"
name = "平潭综合实验区"
region = "福建省平潭综合实验区"
level = "government"
family = "trs"
list_urls = "https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/"
max_pages = 10
"""


def write(tmp_path, text):
    path = tmp_path / "sites.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_with_defaults_and_overrides(tmp_path):
    putian, pingtan = load_sites(write(tmp_path, VALID))
    assert putian.key == "putian-tjj" and putian.level == "department" and putian.family == "trs"
    assert putian.max_pages == 50 and pingtan.max_pages == 10
    assert putian.selectors == {"body": "div.TRS_Editor"}
    assert putian.first_report_year == 2008 and putian.deadline == "01-31"
    assert pingtan.list_urls == ("https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/",)
    assert pingtan.allowed_hosts == frozenset({"www.pingtan.gov.cn"})
    assert pingtan.as_dict()["list_urls"] == ["https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/"]


@pytest.mark.parametrize(
    "change, message",
    [
        (
            ('family = "trs"', 'family = "wordpress"', 1),
            "site 'putian-tjj': family must be one of trs, hanweb, gkmlpt, generic (got 'wordpress')",
        ),
        (('level = "department"', 'level = "ministry"', 1), "site 'putian-tjj': level must be one of"),
        (
            ('list_urls = ["https://www.putian', 'list_urls = ["ftp://www.putian', 1),
            "site 'putian-tjj': list_urls: not an http(s) URL",
        ),
        (("first_report_year = 2008", "first_report_year = 1850", 1), "site 'putian-tjj': first_report_year must be a year"),
        (('deadline = "01-31"', 'deadline = "31/01"', 1), "site 'putian-tjj': deadline must be 'MM-DD'"),
        (('body = "div.TRS_Editor"', 'body = "div[["', 1), "site 'putian-tjj': selectors.body is not a valid CSS selector"),
        (('key = "pingtan"', 'key = "putian-tjj"', 1), "site 'putian-tjj': key is defined twice"),
        (('key = "pingtan"', 'key = "Ping Tan"', 1), "site 'Ping Tan': key must be lower-case"),
        (("max_pages = 10", "max_pages = 0", 1), "site 'pingtan': max_pages must be an integer"),
        (("max_pages = 10", 'colour = "red"', 1), "site 'pingtan': unknown key(s): colour"),
        (('name = "平潭综合实验区"\n', "", 1), "site 'pingtan': missing required key 'name'"),
    ],
)
def test_problems_name_the_file_the_site_and_the_problem(tmp_path, change, message):
    old, new, count = change
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, count))
    with pytest.raises(ConfigError) as caught:
        load_sites(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text


def test_toml_syntax_error_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"invalid TOML"):
        load_sites(write(tmp_path, "[[sites]\nkey="))
    with pytest.raises(ConfigError, match="sites file not found"):
        load_sites(tmp_path / "nope.toml")


def test_empty_file_and_bad_defaults():
    with pytest.raises(ConfigError, match="no \\[\\[sites\\]\\] defined"):
        parse_sites({})
    with pytest.raises(ConfigError, match="cannot set key"):
        parse_sites({"defaults": {"key": "x"}, "sites": [{}]})


def test_defaults_apply_when_not_set():
    (site,) = parse_sites(
        {"sites": [{"key": "a", "name": "A", "region": "R", "level": "township", "family": "generic", "list_urls": ["http://a.gov.cn/"]}]}
    )
    assert site.max_pages == DEFAULT_MAX_PAGES
    assert site.encoding is None and site.selectors == {}


def test_select_sites_by_key(tmp_path):
    sites = load_sites(write(tmp_path, VALID))
    assert [s.key for s in select_sites(sites, ("pingtan",), "f")] == ["pingtan"]
    assert len(select_sites(sites, (), "f")) == 2
    with pytest.raises(ConfigError, match="no site with key 'nope'"):
        select_sites(sites, ("nope",), "f")


def test_example_sites_file_is_valid_and_carries_the_demo_and_real_columns():
    from crawler.demo.site import DEMO_SITE_KEYS, demo_sites_toml
    from tests.conftest import REPO_ROOT

    sites = {s.key: s for s in load_sites(REPO_ROOT / "sites.example.toml")}
    demo_sites = {s.key: s for s in parse_sites(tomllib.loads(demo_sites_toml("http://127.0.0.1:8765")))}
    for key in DEMO_SITE_KEYS:
        assert sites[key] == demo_sites[key]
    assert sites["putian-tjj"].list_urls == ("https://www.putian.gov.cn/zfxxgk/bmzfxxgk/ptstjj/zfxxgk/zfxxgknb/",)
    assert sites["pingtan"].list_urls == ("https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/",)
