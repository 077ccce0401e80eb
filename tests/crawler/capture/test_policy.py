"""The revalidation policy: list pages always, new pages at once, known pages once per window."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.capture.policy import decide, night_of, slot_of

NIGHT0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def _night(n: int) -> datetime:
    return NIGHT0 + timedelta(days=n)


def test_list_pages_and_unknown_kinds_are_fetched_every_run() -> None:
    for kind in ("list", None, "robots"):
        decision = decide("http://x/list.html", kind, now=_night(1),
                          first_seen_at=_night(0), last_checked_at=_night(0))
        assert decision.fetch and decision.reason == "always"


def test_new_report_pages_and_attachments_are_fetched_at_once() -> None:
    for kind in ("report", "attachment"):
        decision = decide("http://x/a.htm", kind, now=_night(0),
                          first_seen_at=None, last_checked_at=None)
        assert decision.fetch and decision.reason == "new"


def test_a_page_checked_tonight_is_not_fetched_again_tonight() -> None:
    decision = decide("http://x/a.htm", "report", now=_night(3) + timedelta(hours=1),
                      first_seen_at=_night(0), last_checked_at=_night(3))
    assert not decision.fetch


def test_the_night_after_a_first_crawl_rechecks_nothing() -> None:
    urls = [f"http://x/{n}.htm" for n in range(500)]
    fetched = [u for u in urls if decide(u, "report", now=_night(1), first_seen_at=_night(0),
                                         last_checked_at=_night(0)).fetch]
    assert fetched == []


def test_slots_are_stable_and_spread_evenly() -> None:
    assert slot_of("http://x/a.htm", 7) == slot_of("http://x/a.htm", 7)
    counts = Counter(slot_of(f"http://x/{n}.htm", 7) for n in range(7000))
    assert set(counts) == set(range(7))
    assert max(counts.values()) < 1.15 * min(counts.values())


def test_steady_state_checks_each_page_once_per_window_spread_over_nights() -> None:
    urls = [f"http://x/{n}.htm" for n in range(700)]
    last = {u: _night(0) for u in urls}
    per_night = []
    for n in range(1, 29):
        due = [u for u in urls if decide(u, "report", now=_night(n), first_seen_at=_night(0),
                                         last_checked_at=last[u]).fetch]
        for u in due:
            last[u] = _night(n)
        per_night.append(len(due))
    steady = per_night[14:]
    assert sum(steady) == len(urls) * 2  # two windows: every page exactly twice
    assert max(steady) < 2 * len(urls) / 7


@settings(max_examples=60, deadline=None)
@given(
    window=st.integers(min_value=1, max_value=30),
    first=st.integers(min_value=0, max_value=400),
    skipped=st.sets(st.integers(min_value=0, max_value=120), max_size=40),
    url=st.text(min_size=1, max_size=40),
)
def test_no_page_goes_longer_than_the_window_unchecked(
    window: int, first: int, skipped: set[int], url: str
) -> None:
    """Whatever nights the crawler misses, a page is re-checked on the first run after its
    window has passed, so an edit is caught within one window of crawls."""
    first_seen = _night(first)
    last = first_seen
    for n in range(first + 1, first + 121):
        if n - first in skipped:
            continue  # no crawl that night
        decision = decide(url, "report", now=_night(n), first_seen_at=first_seen,
                          last_checked_at=last, window_days=window)
        if night_of(_night(n)) - night_of(last) >= window:
            assert decision.fetch
        if decision.fetch:
            last = _night(n)
