"""The sites file: which bureau columns to crawl and how.

Sites come from a TOML file (see ``sites.example.toml`` and the README for the schema)::

    [defaults]                      # optional, applies to every site
    max_pages = 200
    depth_limit = 6

    [[sites]]
    key = "putian-tjj"              # unique, lower-case letters, digits, - and _
    name = "莆田市统计局"
    region = "福建省莆田市"
    level = "department"            # department | government | township
    family = "trs"                  # trs | hanweb | gkmlpt | generic
    list_urls = ["https://www.putian.gov.cn/.../zfxxgknb/"]
    # optional overrides
    report_link_pattern = "年报|年度报告"   # regex a link title must match (plus a year)
    encoding = "gb18030"            # force the page encoding
    first_report_year = 2008
    deadline = "03-31"              # month-day in the year after the report year
    max_pages = 50
    depth_limit = 4
    revalidate_days = 7             # re-check known reports/attachments once per 7 nights
    [sites.selectors]               # CSS selectors, each optional
    list_links = "ul.list a"
    body = "div.TRS_Editor"
    metadata = "table.xxgk"
    # monitoring (also under [defaults] and [regions."<region prefix>"], most specific wins)
    deadline_grace_days = 7         # days the monitor waits after the deadline
    cron = "0 3 * * *"              # the scheduler's crawl time (default 02:00 Asia/Shanghai)
    alert_urls = ["mailto://…"]     # apprise URLs (global ones: [alerts] urls, see alerts.settings)

Loading validates everything up front and raises :class:`ConfigError` with one line naming the
file, the site key and the problem.
"""

from __future__ import annotations

import codecs
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.errors import ConfigError

LEVELS = ("department", "government", "township")
FAMILIES = ("trs", "hanweb", "gkmlpt", "generic")
SELECTOR_NAMES = ("list_links", "body", "metadata")

DEFAULT_REPORT_LINK_PATTERN = r"年报|年度报告|年度工作报告"
DEFAULT_MAX_PAGES = 500
DEFAULT_DEPTH_LIMIT = 8
DEFAULT_REVALIDATE_DAYS = 7

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DEADLINE_RE = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")

_REQUIRED = ("key", "name", "region", "level", "family", "list_urls")
_OPTIONAL = (
    "report_link_pattern",
    "encoding",
    "first_report_year",
    "deadline",
    "max_pages",
    "depth_limit",
    "selectors",
    "deadline_grace_days",
    "cron",
    "alert_urls",
    "revalidate_days",
)
_DEFAULTABLE: tuple[str, ...] = ("report_link_pattern", "encoding", "max_pages", "depth_limit", "deadline")
# Monitoring keys (issue 5): also settable for every site and per region group.
_MONITOR_KEYS = ("deadline", "deadline_grace_days", "cron", "alert_urls")
_DEFAULTABLE += ("deadline_grace_days", "cron")
_DEFAULTABLE += ("revalidate_days",)  # re-check window of known pages (issue 4)


@dataclass(frozen=True)
class SiteConfig:
    """One bureau's annual-report column, as configured."""

    key: str
    name: str
    region: str
    level: str
    family: str
    list_urls: tuple[str, ...]
    report_link_pattern: str = DEFAULT_REPORT_LINK_PATTERN
    encoding: str | None = None
    first_report_year: int | None = None
    deadline: str | None = None
    max_pages: int = DEFAULT_MAX_PAGES
    depth_limit: int = DEFAULT_DEPTH_LIMIT
    selectors: dict[str, str] = field(default_factory=dict)
    # Known report pages and attachments are re-checked once per this many nights.
    revalidate_days: int = DEFAULT_REVALIDATE_DAYS
    deadline_grace_days: int = 0
    cron: str | None = None  # crontab schedule override for the scheduler
    # Apprise URLs for this site's alerts (its own, else its region group's). They can hold
    # secrets, so they are left out of as_dict() and never stored in the archive.
    alert_urls: tuple[str, ...] = ()

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """Hosts of the list URLs: the crawl never leaves them (attachments excepted)."""
        return frozenset(urlsplit(u).hostname or "" for u in self.list_urls)

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for storing the configuration with the site row."""
        return {
            "key": self.key,
            "name": self.name,
            "region": self.region,
            "level": self.level,
            "family": self.family,
            "list_urls": list(self.list_urls),
            "report_link_pattern": self.report_link_pattern,
            "encoding": self.encoding,
            "first_report_year": self.first_report_year,
            "deadline": self.deadline,
            "max_pages": self.max_pages,
            "depth_limit": self.depth_limit,
            "selectors": dict(self.selectors),
            "revalidate_days": self.revalidate_days,
            "deadline_grace_days": self.deadline_grace_days,
            "cron": self.cron,
        }


def load_sites(path: str | Path) -> list[SiteConfig]:
    """Read and validate a sites file; raise :class:`ConfigError` on the first problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: sites file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read sites file ({exc.strerror})") from None
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: sites file is not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse_sites(document, source=str(path))


def parse_sites(document: dict[str, Any], source: str = "<sites>") -> list[SiteConfig]:
    """Validate an already-parsed sites document."""
    _check_control_characters(document, source)
    # [alerts] is read by alerts.settings; [regions."福建省"] groups sites by region prefix.
    unknown_top = set(document) - {"defaults", "sites", "alerts", "regions"}
    if unknown_top:
        raise ConfigError(f"{source}: unknown top-level key(s): {', '.join(sorted(unknown_top))}")
    defaults = document.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"{source}: [defaults] must be a table")
    bad_defaults = set(defaults) - set(_DEFAULTABLE)
    if bad_defaults:
        raise ConfigError(
            f"{source}: [defaults] cannot set {', '.join(sorted(bad_defaults))}"
            f" (allowed: {', '.join(_DEFAULTABLE)})"
        )
    entries = document.get("sites", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{source}: sites must be written as [[sites]] tables")
    if not entries:
        raise ConfigError(f"{source}: no [[sites]] defined")
    sites: list[SiteConfig] = []
    seen: set[str] = set()
    regions = _parse_regions(document.get("regions", {}), source)
    problems: list[str] = []
    for number, entry in enumerate(entries, start=1):
        try:
            site = _parse_site({**defaults, **_region_for(regions, entry), **entry}, source, number)
        except ConfigError as exc:  # go on: a file's problems are reported all at once
            problems.append(str(exc))
            continue
        if site.key in seen:
            problems.append(f"{source}: site '{site.key}': key is defined twice")
            continue
        seen.add(site.key)
        sites.append(site)
    if problems:
        raise SitesFileProblems(source, problems)
    return sites


class SitesFileProblems(ConfigError):
    """Every problem of the sites' entries in a file (``problems``, one line each); the message
    is the first, with how many more there are (``nianbao sites check FILE`` lists them all)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        more = len(problems) - 1
        suffix = f" (and {more} more: run `nianbao sites check {source}`)" if more else ""
        super().__init__(problems[0] + suffix)


# Control characters (C0, DEL, C1: U+0000-U+001F, U+007F-U+009F), line and paragraph separators
# and bidirectional overrides have no place in a sites file: a NUL breaks every PostgreSQL write
# of the string, the others garble or disguise one-line output.
_FORBIDDEN_EXTRA = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _forbidden_character(text: str) -> str | None:
    for char in text:
        if unicodedata.category(char) == "Cc" or char in _FORBIDDEN_EXTRA:
            return char
    return None


def _check_control_characters(document: dict[str, Any], source: str) -> None:
    """Every string of the file (values and key names, at any depth) is free of control
    characters; the first one found is a ConfigError naming the file, the site and the key."""

    def walk(value: Any, label: str, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                char = _forbidden_character(key) if isinstance(key, str) else None
                if char is not None:
                    under = f" under {_safe(path)}" if path else ""
                    raise ConfigError(
                        f"{source}: {label}: the key name '{_safe(key)}'{under}"
                        f" contains {_describe_character(char)}"
                    )
                walk(item, label, name)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, label, f"{path}[{index}]")
        elif isinstance(value, str):
            char = _forbidden_character(value)
            if char is not None:
                raise ConfigError(f"{source}: {label}: {_safe(path)} contains {_describe_character(char)}")

    for top, value in document.items():
        if top == "sites" and isinstance(value, list):
            for number, entry in enumerate(value, start=1):
                key = entry.get("key") if isinstance(entry, dict) else None
                clean = isinstance(key, str) and key and _forbidden_character(key) is None
                walk(entry, f"site '{key}'" if clean else f"site #{number}", "")
        elif top == "regions" and isinstance(value, dict):
            for name, table in value.items():
                char = _forbidden_character(str(name))
                if char is not None:
                    raise ConfigError(
                        f"{source}: the region name '{_safe(name)}' contains {_describe_character(char)}"
                    )
                walk(table, f"region '{name}'", "")
        elif top in ("defaults", "alerts"):
            walk(value, f"[{top}]", "")
        else:
            walk({top: value}, "top level", "")


def _describe_character(char: str) -> str:
    kind = "a control character" if unicodedata.category(char) == "Cc" else "a layout control character"
    return f"{kind} (U+{ord(char):04X})"


def _safe(text: str) -> str:
    """``text`` with control characters shown as escapes (for one-line messages)."""
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) == "Cc" or c in _FORBIDDEN_EXTRA else c
        for c in str(text)
    )


def _parse_site(entry: dict[str, Any], source: str, number: int) -> SiteConfig:
    key = entry.get("key")
    label = f"site '{key}'" if isinstance(key, str) and key else f"site #{number}"

    def fail(problem: str) -> ConfigError:
        return ConfigError(f"{source}: {label}: {problem}")

    unknown = set(entry) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise fail(f"unknown key(s): {', '.join(sorted(unknown))}")
    for name in _REQUIRED:
        if name not in entry:
            raise fail(f"missing required key '{name}'")
    for name in ("key", "name", "region", "level", "family"):
        if not isinstance(entry[name], str) or not entry[name].strip():
            raise fail(f"'{name}' must be a non-empty string")
    if not _KEY_RE.match(entry["key"]):
        raise fail("key must be lower-case letters, digits, '-' or '_' (at most 64)")
    if entry["level"] not in LEVELS:
        raise fail(f"level must be one of {', '.join(LEVELS)} (got '{entry['level']}')")
    if entry["family"] not in FAMILIES:
        raise fail(f"family must be one of {', '.join(FAMILIES)} (got '{entry['family']}')")

    list_urls = entry["list_urls"]
    if isinstance(list_urls, str):
        list_urls = [list_urls]
    if not isinstance(list_urls, list) or not list_urls:
        raise fail("list_urls must be a non-empty list of URLs")
    for url in list_urls:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise fail(f"list_urls: not an http(s) URL: {url!r}")

    options: dict[str, Any] = {}
    if "report_link_pattern" in entry:
        pattern = entry["report_link_pattern"]
        if not isinstance(pattern, str) or not pattern:
            raise fail("report_link_pattern must be a non-empty string")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise fail(f"report_link_pattern is not a valid regular expression ({exc})") from None
        options["report_link_pattern"] = pattern
    if "encoding" in entry:
        encoding = entry["encoding"]
        try:
            codecs.lookup(encoding)
        except (LookupError, TypeError):
            raise fail(f"unknown encoding {encoding!r}") from None
        options["encoding"] = encoding
    if "first_report_year" in entry:
        year = entry["first_report_year"]
        if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
            raise fail("first_report_year must be a year between 2000 and 2100")
        options["first_report_year"] = year
    if "deadline" in entry:
        deadline = entry["deadline"]
        if not isinstance(deadline, str) or not _DEADLINE_RE.match(deadline):
            raise fail("deadline must be 'MM-DD' (a day in the year after the report year)")
        options["deadline"] = deadline
    for name, upper in (("max_pages", 100_000), ("depth_limit", 100), ("revalidate_days", 365)):
        if name in entry:
            value = entry[name]
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= upper:
                raise fail(f"{name} must be an integer between 1 and {upper}")
            options[name] = value
    if "selectors" in entry:
        options["selectors"] = _parse_selectors(entry["selectors"], fail)
    options.update(_parse_monitor_keys(entry, fail))

    return SiteConfig(
        key=entry["key"],
        name=entry["name"].strip(),
        region=entry["region"].strip(),
        level=entry["level"],
        family=entry["family"],
        list_urls=tuple(list_urls),
        **options,
    )


def _parse_monitor_keys(entry: dict[str, Any], fail: Any) -> dict[str, Any]:
    """deadline_grace_days, cron and alert_urls (deadline is checked with the other keys)."""
    options: dict[str, Any] = {}
    if "deadline_grace_days" in entry:
        days = entry["deadline_grace_days"]
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 366:
            raise fail("deadline_grace_days must be an integer between 0 and 366")
        options["deadline_grace_days"] = days
    if "cron" in entry:
        cron = entry["cron"]
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(cron)
        except (ValueError, TypeError, AttributeError) as exc:
            raise fail(f"cron must be a crontab expression like '0 2 * * *' ({exc})") from None
        options["cron"] = cron
    if "alert_urls" in entry:
        urls = entry["alert_urls"]
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not all(isinstance(u, str) and "://" in u for u in urls):
            raise fail("alert_urls must be a list of apprise URLs (scheme://...)")
        options["alert_urls"] = tuple(urls)
    return options


def _parse_regions(regions: Any, source: str) -> dict[str, dict[str, Any]]:
    """``[regions."福建省"]`` tables: monitoring keys shared by the sites whose region starts so."""
    if not isinstance(regions, dict) or not all(isinstance(v, dict) for v in regions.values()):
        raise ConfigError(f'{source}: regions must be written as [regions."<region>"] tables')
    for name, table in regions.items():
        unknown = set(table) - set(_MONITOR_KEYS)
        if unknown:
            raise ConfigError(
                f"{source}: region '{name}': unknown key(s): {', '.join(sorted(unknown))}"
                f" (allowed: {', '.join(_MONITOR_KEYS)})"
            )
    return regions


def _region_for(regions: dict[str, dict[str, Any]], entry: dict[str, Any]) -> dict[str, Any]:
    """The most specific (longest) region group that the site's region starts with."""
    region = entry.get("region")
    if not isinstance(region, str):
        return {}
    matches = [name for name in regions if region.strip().startswith(name)]
    return dict(regions[max(matches, key=len)]) if matches else {}


def _parse_selectors(selectors: Any, fail: Any) -> dict[str, str]:
    from cssselect import GenericTranslator, SelectorError

    if not isinstance(selectors, dict):
        raise fail("selectors must be a table")
    unknown = set(selectors) - set(SELECTOR_NAMES)
    if unknown:
        raise fail(
            f"unknown selector(s): {', '.join(sorted(unknown))} (allowed: {', '.join(SELECTOR_NAMES)})"
        )
    for name, css in selectors.items():
        if not isinstance(css, str) or not css.strip():
            raise fail(f"selectors.{name} must be a non-empty CSS selector")
        try:
            GenericTranslator().css_to_xpath(css)
        except SelectorError as exc:
            raise fail(f"selectors.{name} is not a valid CSS selector ({exc})") from None
    return dict(selectors)


def select_sites(sites: list[SiteConfig], keys: list[str] | tuple[str, ...], source: str) -> list[SiteConfig]:
    """The sites named by ``keys`` (all when empty); an unknown key is a ConfigError."""
    if not keys:
        return list(sites)
    by_key = {s.key: s for s in sites}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise ConfigError(f"{source}: no site with key {', '.join(repr(k) for k in unknown)}")
    return [by_key[k] for k in keys]
