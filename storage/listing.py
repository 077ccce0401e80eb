"""How a site crawl read its annual-report column: the record the monitor's verdicts rest on.

A column is read page by page. :class:`ListingRecord` keeps, for one site crawl, every list page
the crawl planned to read (the column's own pages, found from its pager or its next links), which
of them were fetched and which failed (with why), the pages the column says it has but that no
static URL serves, the page count the column declared, and the report years its links named.

The listing is **complete** when every planned page was fetched, none failed, no declared page
was out of reach, and the crawl was not stopped early (page budget, interruption). Only a
complete listing is evidence that a report is absent (see :mod:`alerts.coverage`).

The record is plain data: the spider builds it while it reads the column and hands it over
through the crawl's stats as JSON; distributed workers that each read part of a column merge
theirs (:meth:`ListingRecord.merge`) when they close.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.models import SiteCrawl

__all__ = ["ListingRecord", "ListingState", "UnreadPage", "listing_state"]


@dataclass(frozen=True)
class UnreadPage:
    """A list page of the column that was not read, and why."""

    label: str  # "list page 3", or the URL when the page's position is unknown
    url: str | None
    reason: str

    def describe(self) -> str:
        return f"{self.label} not read ({self.reason})"


@dataclass
class ListingRecord:
    # Column start URL -> the page count that column declared (only columns that declare one).
    declared: dict[str, int] = field(default_factory=dict)
    # Every column (start URL) the crawl read.
    columns: set[str] = field(default_factory=set)
    # Page key -> [column, 1-based page number or None, URL]: every list page planned.
    pages: dict[str, list[Any]] = field(default_factory=dict)
    fetched: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)  # page key -> reason
    # "column#N" -> why: pages the column declares that no static URL serves.
    unreachable: dict[str, str] = field(default_factory=dict)
    years: set[int] = field(default_factory=set)
    # The crawl's finish reason when it was not "finished" (the budget ran out, interrupted).
    stopped: str | None = None

    # --- building ---------------------------------------------------------------------------

    def add_column(self, column: str) -> None:
        self.columns.add(column)

    def plan(self, key: str, column: str, number: int | None, url: str) -> bool:
        """Note a list page to read; False when it was planned before (do not fetch it again)."""
        if key in self.pages:
            if number is not None and self.pages[key][1] is None:
                self.pages[key][1] = number
            return False
        self.pages[key] = [column, number, url]
        return True

    def drop(self, key: str) -> None:
        """Forget a planned page that turned out not to be part of the column (a probe past its end)."""
        self.pages.pop(key, None)
        self.failed.pop(key, None)
        self.fetched.discard(key)

    def declare(self, column: str, count: int) -> None:
        """The column says (or its end showed) that it has ``count`` pages."""
        self.declared[column] = max(count, self.declared.get(column, 0))

    def mark_fetched(self, key: str) -> None:
        self.fetched.add(key)
        self.failed.pop(key, None)

    def mark_failed(self, key: str, reason: str) -> None:
        if key not in self.fetched:
            self.failed[key] = reason

    def mark_unreachable(self, column: str, number: int, reason: str) -> None:
        self.unreachable[f"{column}#{number}"] = reason

    def add_year(self, year: int) -> None:
        self.years.add(year)

    # --- reading ----------------------------------------------------------------------------

    @property
    def expected(self) -> int | None:
        """List pages the columns declared, or None when a column did not say."""
        if not self.columns or any(column not in self.declared for column in self.columns):
            return None
        return sum(self.declared[column] for column in self.columns)

    @property
    def fetched_count(self) -> int:
        return len(self.fetched & self.pages.keys())

    @property
    def failed_count(self) -> int:
        return len(self.failed)

    def unread(self) -> list[UnreadPage]:
        """Every page of the column that was not read, in page order, with why."""
        unread: list[tuple[tuple[str, int], UnreadPage]] = []
        for key, (column, number, url) in self.pages.items():
            if key in self.fetched:
                continue
            reason = self.failed.get(key) or (
                f"crawl stopped: {self.stopped}" if self.stopped else "not fetched"
            )
            unread.append(((column, number or 0), UnreadPage(_label(number, url), url, reason)))
        for where, reason in self.unreachable.items():
            column, _, number = where.rpartition("#")
            unread.append(((column, int(number)), UnreadPage(_label(int(number), None), None, reason)))
        return [page for _, page in sorted(unread, key=lambda pair: pair[0])]

    @property
    def complete(self) -> bool:
        return bool(self.columns) and self.stopped is None and not self.unread()

    @property
    def oldest_year(self) -> int | None:
        return min(self.years) if self.years else None

    @property
    def newest_year(self) -> int | None:
        return max(self.years) if self.years else None

    def problem(self) -> str | None:
        """One line on what keeps the listing from being complete; None when it is complete."""
        if self.complete:
            return None
        unread = self.unread()
        if unread:
            shown = "; ".join(page.describe() for page in unread[:3])
            more = f"; and {len(unread) - 3} more" if len(unread) > 3 else ""
            return shown + more
        if self.stopped:
            return f"crawl stopped before the listing was read ({self.stopped})"
        return "no list page was read"

    # --- merging and storage ----------------------------------------------------------------

    def merge(self, other: ListingRecord) -> ListingRecord:
        """Both records together: what two workers of one distributed crawl read between them."""
        merged = copy.deepcopy(self)
        merged.columns |= other.columns
        for column, count in other.declared.items():
            merged.declare(column, count)
        for key, (column, number, url) in other.pages.items():
            merged.plan(key, column, number, url)
        merged.fetched |= other.fetched
        for key, reason in other.failed.items():
            merged.failed.setdefault(key, reason)
        for key in merged.fetched:
            merged.failed.pop(key, None)
        merged.unreachable.update(other.unreachable)
        merged.years |= other.years
        merged.stopped = merged.stopped or other.stopped
        return merged

    def to_json(self) -> dict[str, Any]:
        return {
            "declared": dict(self.declared),
            "columns": sorted(self.columns),
            "pages": {key: list(value) for key, value in self.pages.items()},
            "fetched": sorted(self.fetched),
            "failed": dict(self.failed),
            "unreachable": dict(self.unreachable),
            "years": sorted(self.years),
            "stopped": self.stopped,
            # Derived, for readers of the stored JSON (the web app, exports).
            "unread": [
                {"label": page.label, "url": page.url, "reason": page.reason}
                for page in self.unread()
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ListingRecord:
        data = data or {}
        return cls(
            declared={str(k): int(v) for k, v in (data.get("declared") or {}).items()},
            columns=set(data.get("columns") or ()),
            pages={str(k): list(v) for k, v in (data.get("pages") or {}).items()},
            fetched=set(data.get("fetched") or ()),
            failed={str(k): str(v) for k, v in (data.get("failed") or {}).items()},
            unreachable={str(k): str(v) for k, v in (data.get("unreachable") or {}).items()},
            years={int(y) for y in data.get("years") or ()},
            stopped=data.get("stopped"),
        )


def _label(number: int | None, url: str | None) -> str:
    return f"list page {number}" if number else (url or "a list page")


@dataclass(frozen=True)
class ListingState:
    """How the site's latest crawl that ran to its end read the column."""

    site_key: str
    run_id: int
    complete: bool | None  # None: recorded before crawls kept their listing
    expected: int | None
    fetched: int
    failed: int
    unread: tuple[UnreadPage, ...]
    problem: str | None

    def summary(self) -> str:
        """``complete 2/2`` or ``INCOMPLETE 1/2`` (pages read / pages the column declares)."""
        if self.complete is None:
            return "-"
        of = f"/{self.expected}" if self.expected is not None else ""
        return f"{'complete' if self.complete else 'INCOMPLETE'} {self.fetched}{of}"


def listing_state(site_key: str, crawl: SiteCrawl) -> ListingState:
    """The listing record of one site crawl, for display."""
    record = ListingRecord.from_json(crawl.listing) if crawl.listing is not None else None
    unread = tuple(record.unread()) if record is not None else ()
    return ListingState(
        site_key=site_key,
        run_id=crawl.run_id,
        complete=crawl.listing_complete,
        expected=crawl.list_pages_expected,
        fetched=crawl.list_pages_fetched,
        failed=crawl.list_pages_failed,
        unread=unread,
        problem=record.problem() if record is not None else None,
    )
