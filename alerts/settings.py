"""Alert settings from the sites file: the ``[alerts]`` table and where each site's alerts go.

::

    [alerts]
    urls = ["mailto://user:pass@smtp.example.org?to=ops@example.org"]   # global receivers
    repeat_days = 7            # an open alert is repeated after this many days
    max_attempts = 8           # delivery attempts before a message is given up
    removed_after_nights = 3   # a listed report answering 404/410 this many crawls in a row is removed

    [regions."福建省"]
    alert_urls = ["dingtalk://token/"]     # sites whose region starts with 福建省

    [[sites]]
    key = "putian-tjj"
    alert_urls = ["json://hooks.example.org/nianbao"]    # this site only

The most specific setting wins: the site's ``alert_urls``, else its region group's (resolved
by :mod:`crawler.config` into ``SiteConfig.alert_urls``), else ``[alerts] urls``. The URLs are
apprise URLs (email, JSON webhooks, DingTalk, WeCom, Feishu, Slack …); they may contain
secrets and are never written to the archive.
"""

from __future__ import annotations

import logging
import re
import threading
import tomllib
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from crawler.config import SiteConfig, load_sites
from crawler.errors import ConfigError
from crawler.i18n import gettext as _

__all__ = ["AlertSettings", "check_alert_urls", "load_alert_settings", "mask_url", "parse_alert_settings"]

DEFAULT_REPEAT_DAYS = 7
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_REMOVED_AFTER_NIGHTS = 3
_KEYS = ("urls", "repeat_days", "max_attempts", "removed_after_nights")


@dataclass(frozen=True)
class AlertSettings:
    urls: tuple[str, ...] = ()
    repeat_days: int = DEFAULT_REPEAT_DAYS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    removed_after_nights: int = DEFAULT_REMOVED_AFTER_NIGHTS
    sites: tuple[SiteConfig, ...] = ()

    @property
    def repeat_interval(self) -> timedelta:
        return timedelta(days=self.repeat_days)

    def targets_for(self, site_key: str | None) -> tuple[str, ...]:
        """The apprise URLs for a site's messages: the most specific configured list."""
        for site in self.sites:
            if site.key == site_key and site.alert_urls:
                return site.alert_urls
        return self.urls


def parse_alert_settings(document: dict[str, Any], sites: list[SiteConfig], source: str = "<sites>") -> AlertSettings:
    table = document.get("alerts", {})
    if not isinstance(table, dict):
        raise ConfigError(_("%(source)s: [alerts] must be a table", source=source))
    unknown = set(table) - set(_KEYS)
    if unknown:
        raise ConfigError(_("%(source)s: [alerts]: unknown key(s): %(keys)s (allowed: %(allowed)s)", source=source,
                             keys=", ".join(sorted(unknown)), allowed=", ".join(_KEYS)))
    urls = table.get("urls", [])
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not all(isinstance(u, str) and "://" in u for u in urls):
        raise ConfigError(_("%(source)s: [alerts] urls must be a list of apprise URLs (scheme://...)", source=source))
    values = {}
    for name, low, high in (("repeat_days", 1, 365), ("max_attempts", 1, 100), ("removed_after_nights", 1, 60)):
        if name in table:
            value = table[name]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ConfigError(_("%(source)s: [alerts] %(name)s must be an integer between %(low)d and %(high)d",
                                     source=source, name=name, low=low, high=high))
            values[name] = value
    return AlertSettings(urls=tuple(urls), sites=tuple(sites), **values)


def load_alert_settings(path: str | Path) -> AlertSettings:
    """The sites file's alert settings (the file is validated as a whole first, every apprise
    URL included: one apprise cannot send to would otherwise be retried until it is given up)."""
    sites = load_sites(path)
    document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    settings = parse_alert_settings(document, sites, source=str(path))
    check_alert_urls(settings, source=str(path))
    return settings


_USERINFO_PASSWORD = re.compile(r"(://[^/@:?#]*:)[^/@?#]*@")
_SECRET_QUERY = re.compile(r"((?:pass|password|passwd|secret|token|key|apikey)=)[^&#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """``url`` with its password (``user:PASSWORD@``) and secret query values shown as ***."""
    return _SECRET_QUERY.sub(r"\1***", _USERINFO_PASSWORD.sub(r"\1***@", url))


# True while this thread (context) checks a URL: apprise's records of the check are dropped.
_CHECKING_URL: ContextVar[bool] = ContextVar("nianbao_checking_apprise_url", default=False)
_FILTER_LOCK = threading.Lock()


class _DropUrlCheckRecords(logging.Filter):
    """Drops the ``apprise`` logger's records made by a URL check, in the checking thread only.

    Setting ``disabled`` on the shared logger instead would silence every thread for the
    check's duration -- the scheduler's other job then loses the warning of a failing delivery
    -- and two checks saving and restoring the flag at once can leave it off for good.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not _CHECKING_URL.get()


def _drop_url_check_records(log: logging.Logger) -> None:
    with _FILTER_LOCK:  # installed once, never removed: no filter list changes while logging
        if not any(isinstance(f, _DropUrlCheckRecords) for f in log.filters):
            log.addFilter(_DropUrlCheckRecords())


def apprise_accepts(url: str) -> bool:
    """Whether apprise's own parser takes ``url`` (a known scheme with what it needs)."""
    import apprise

    _drop_url_check_records(logging.getLogger("apprise"))  # apprise logs its refusal; we raise one line
    checking = _CHECKING_URL.set(True)
    try:
        return bool(apprise.Apprise().add(url))
    finally:
        _CHECKING_URL.reset(checking)


def check_alert_urls(settings: AlertSettings, source: str = "<sites>") -> None:
    """Refuse an alert URL apprise cannot send to: one line naming the file, the site (or
    ``[alerts] urls``) and the URL with its password masked."""
    checked: dict[str, bool] = {}

    def accepted(url: str) -> bool:
        if url not in checked:
            checked[url] = apprise_accepts(url)
        return checked[url]

    for url in settings.urls:
        if not accepted(url):
            raise ConfigError(_("%(source)s: [alerts] urls: %(url)s is not an apprise URL nianbao can send to",
                                 source=source, url=mask_url(url)))
    for site in settings.sites:
        for url in site.alert_urls:
            if not accepted(url):
                raise ConfigError(_("%(source)s: site %(site)s: alert_urls: %(url)s is not an apprise URL nianbao can "
                                    "send to", source=source, site=repr(site.key), url=mask_url(url)))
