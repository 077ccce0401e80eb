"""Which URLs a nightly crawl fetches: the revalidation policy (pure functions).

- List pages (and robots.txt, and anything else that is not a report page or an attachment)
  are fetched every run, conditionally when their last answer carried validators.
- A report page or attachment never archived before is fetched at once.
- A known report page or attachment is re-checked (a conditional GET) once per window of
  ``window_days`` nights, on the night its **slot** comes up: ``slot = stable hash of the URL mod
  window``, so a site's known pages are spread evenly over the nights and a silent edit is
  caught within one window. Nights are counted in days since the epoch of the policy clock.
- A URL not checked for a whole window is due whatever its slot (missed nights, a window
  shortened in the sites file), so no page goes longer than the window unchecked.
- Just-archived pages are fresh: a page first captured on the previous night is not re-checked
  on its slot night (at most ``window_days`` later it is due anyway). This keeps the night after
  a site's first full crawl cheap instead of re-checking a whole slot's worth of pages that were
  downloaded hours before.

A URL that is not due is served from the archive (its last payload), so the spider still sees
it, the document stays "seen", and nothing is counted as a failure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "REVALIDATED_KINDS",
    "Decision",
    "decide",
    "night_of",
    "slot_of",
]

DEFAULT_WINDOW_DAYS = 7
REVALIDATED_KINDS = frozenset({"report", "attachment"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Decision:
    """Fetch the URL now (``fetch``), and why (``new``, ``always``, ``slot``, ``overdue``, ``fresh``,
    ``not-due``)."""

    fetch: bool
    reason: str


def night_of(moment: datetime) -> int:
    """The night number of ``moment``: whole days since 1970-01-01 (UTC; naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH).days


def slot_of(url: str, window_days: int) -> int:
    """The URL's night within the window: stable across runs, machines and Python versions."""
    digest = hashlib.sha256(url.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % window_days


def decide(
    url: str,
    page_kind: str | None,
    *,
    now: datetime,
    first_seen_at: datetime | None,
    last_checked_at: datetime | None,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> Decision:
    """Whether to fetch ``url`` on the night of ``now`` (``first_seen_at`` None: never archived)."""
    if page_kind not in REVALIDATED_KINDS:
        return Decision(True, "always")
    if first_seen_at is None or last_checked_at is None:
        return Decision(True, "new")
    window = max(1, window_days)
    tonight = night_of(now)
    since_check = tonight - night_of(last_checked_at)
    if since_check >= window:
        return Decision(True, "overdue")
    if since_check <= 0:
        return Decision(False, "not-due")  # already checked tonight
    if tonight % window != slot_of(url, window):
        return Decision(False, "not-due")
    if tonight - night_of(first_seen_at) <= 1:
        return Decision(False, "fresh")
    return Decision(True, "slot")
