"""The listing record: when a column counts as read completely, and what was not read."""

from __future__ import annotations

from storage.listing import ListingRecord

COLUMN = "http://x.gov.cn/zfxxgknb/"


def two_page_column() -> ListingRecord:
    record = ListingRecord()
    record.add_column(COLUMN)
    record.plan(COLUMN, COLUMN, 1, COLUMN)
    record.plan(COLUMN + "index_1.html", COLUMN, 2, COLUMN + "index_1.html")
    record.declare(COLUMN, 2)
    return record


def test_every_planned_page_read_is_complete():
    record = two_page_column()
    record.mark_fetched(COLUMN)
    record.mark_fetched(COLUMN + "index_1.html")
    for year in (2016, 2024, 2011):
        record.add_year(year)
    assert record.complete and record.problem() is None
    assert (record.expected, record.fetched_count, record.failed_count) == (2, 2, 0)
    assert (record.oldest_year, record.newest_year) == (2011, 2024)


def test_a_failed_page_makes_it_incomplete_and_says_which_page():
    record = two_page_column()
    record.mark_fetched(COLUMN)
    record.mark_failed(COLUMN + "index_1.html", "HTTP 404")
    assert not record.complete
    assert record.problem() == "list page 2 not read (HTTP 404)"
    assert [(p.label, p.url, p.reason) for p in record.unread()] == [
        ("list page 2", COLUMN + "index_1.html", "HTTP 404")
    ]


def test_a_page_never_answered_and_a_crawl_stopped_early():
    """The page budget ran out before page 2 was fetched: no failure, but not read either."""
    record = two_page_column()
    record.mark_fetched(COLUMN)
    record.stopped = "closespider_pagecount"
    assert record.problem() == "list page 2 not read (crawl stopped: closespider_pagecount)"


def test_pages_only_a_search_api_serves_are_unread():
    record = two_page_column()
    record.mark_fetched(COLUMN)
    record.mark_fetched(COLUMN + "index_1.html")
    record.mark_unreachable(COLUMN, 3, "served only by the TRS search API")
    assert not record.complete
    assert record.problem() == "list page 3 not read (served only by the TRS search API)"


def test_a_column_that_declares_nothing_has_no_expected_count():
    record = ListingRecord()
    record.add_column(COLUMN)
    record.plan(COLUMN, COLUMN, 1, COLUMN)
    record.mark_fetched(COLUMN)
    assert record.expected is None and record.complete


def test_json_round_trip_and_merging_two_workers():
    """Distributed workers each read part of the column; together they read all of it."""
    first, second = two_page_column(), two_page_column()
    first.mark_fetched(COLUMN)
    first.add_year(2024)
    second.mark_failed(COLUMN, "timeout")  # the other worker's retry failed; this one read it
    second.mark_fetched(COLUMN + "index_1.html")
    second.add_year(2011)
    merged = ListingRecord.from_json(first.to_json()).merge(ListingRecord.from_json(second.to_json()))
    assert merged.complete
    assert (merged.oldest_year, merged.newest_year, merged.fetched_count) == (2011, 2024, 2)
    assert ListingRecord.from_json(merged.to_json()).to_json() == merged.to_json()


def test_no_column_read_is_not_complete():
    assert not ListingRecord().complete
