"""The words of the alerts, in the reader's language (``NIANBAO_LANG``, Chinese by default).

Every subject and body the monitor writes to the outbox is built here, through ``_()`` with
the English text as message id (the Chinese is in ``crawler/locale/zh_CN/LC_MESSAGES/
alerts.po``). A message is worded once, when it is queued, in the language set then.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from alerts.changes import changed_places
from crawler.i18n import gettext as _
from storage.models import Site
from storage.settings import environment_value

__all__ = ["MAX_PLACES_SHOWN", "alert_title", "changed_report_message", "diff_link", "event_subjects", "headline"]

MAX_PLACES_SHOWN = 5  # changed places spelled out in one message; the diff page has them all


def headline(kind: str) -> str:
    """What happened, in a few words (the start of the subject)."""
    return {
        "report_missing": _("Report missing"),
        "report_late": _("Report published late"),
        "site_unreachable": _("Site unreachable"),
        "listing_broken": _("Listing broken"),
        "report_changed": _("Report changed after publication"),
        "report_removed": _("Report removed"),
        "report_checks": _("Report tables do not add up"),
    }[kind]


def alert_title(kind: str, site: Site, report_year: int | None = None) -> str:
    """The alert's title: ``Report missing: 示例市统计局 (tjj) 2023``."""
    if report_year is None:
        return _("%(headline)s: %(site)s (%(key)s)", headline=headline(kind), site=site.name, key=site.key)
    return _("%(headline)s: %(site)s (%(key)s) %(year)s", headline=headline(kind), site=site.name, key=site.key,
             year=report_year)


def event_subjects() -> Mapping[str, str]:
    """The subject of each event from the alert's title (``%(title)s`` filled in by storage)."""
    return {
        "opened": "%(title)s",
        "repeated": _("Still open: %(title)s"),
        "resolved": _("Resolved: %(title)s"),
        "notice": "%(title)s",
    }


def diff_link(document_id: int, old: int, new: int) -> str | None:
    """The web app's diff page of the two versions, when ``NIANBAO_PUBLIC_URL`` says where it is."""
    base = environment_value("NIANBAO_PUBLIC_URL")
    if not base:
        return None
    return f"{base.rstrip('/')}/reports/{document_id}/diff?{urlencode({'old': old, 'new': new})}"


def changed_report_message(report_title: str, url: str, document_id: int, old_number: int, new_number: int,
                           old_text: str, new_text: str) -> str:
    """How many places changed, each one (up to :data:`MAX_PLACES_SHOWN`) in context with the
    change marked ``申请【218→219】件``, and the link to the diff page."""
    places = changed_places(old_text, new_text)
    lines = [_("%(title)s (%(url)s) changed (version %(number)d): %(count)d changed place(s)",
               title=report_title, url=url, number=new_number, count=len(places))]
    if not places:
        lines.append(_("The text is the same; the page's other content changed (attachments, tables or markup)."))
    lines += [f"{n}. {place.render()}" for n, place in enumerate(places[:MAX_PLACES_SHOWN], start=1)]
    if len(places) > MAX_PLACES_SHOWN:
        rest = len(places) - MAX_PLACES_SHOWN
        lines.append(_("… and %(count)d more changed place(s)", count=rest))
    link = diff_link(document_id, old_number, new_number)
    if link:
        lines.append(_("Diff: %(url)s", url=link))
    return "\n".join(lines)
