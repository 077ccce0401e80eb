"""The archive writer's guard: an item that could not be recorded never leaves the crawl 'ok'."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.settings import Settings

from crawler import stopping
from crawler.errors import StorageError


class _Pipeline:
    """Stands for the archive pipeline of one site's crawler; ``error`` is what recording the
    item raises."""

    def __init__(self, error: Exception | None, stops: stopping.StopState) -> None:
        self.crawler = Crawler(Spider, Settings({stopping.STOP_STATE_SETTING: stops}))
        self.error = error
        self.recorded: list[Any] = []

    @stopping.archive_writer
    async def process_item(self, item: Any) -> Any:
        if self.error is not None:
            raise self.error
        self.recorded.append(item)
        return item

    def record(self, item: Any) -> Any:
        """What Scrapy does with the pipeline's coroutine: run it to its end."""
        return asyncio.run(self.process_item(item))


@pytest.fixture
def stops() -> stopping.StopState:
    return stopping.StopState()


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        # A bug in the write path (a refactor that broke an import) used to be logged by Scrapy
        # and the crawl ended "ok" with the report missing from the archive.
        (NameError("name 'or_' is not defined"), "internal error NameError: name 'or_' is not defined"),
        (StorageError("record report failed: disk I/O error"), "record report failed: disk I/O error"),
    ],
    ids=["bug", "archive-error"],
)
def test_an_item_that_was_not_recorded_stops_the_crawl_with_the_reason(
    error: Exception, reason: str, stops: stopping.StopState
) -> None:
    pipeline = _Pipeline(error, stops)
    with pytest.raises(type(error)):
        pipeline.record({"url": "http://a/1"})
    assert stops.archive_failure == reason
    pipeline.error = None  # later items are dropped, not written after the failure
    with pytest.raises(DropItem):
        pipeline.record({"url": "http://a/2"})
    assert pipeline.recorded == []


def test_the_state_is_shared_by_every_site_of_the_run(stops: stopping.StopState) -> None:
    """A site's settings are a deep copy of the run's: the stop state stays one object, so a
    failure in one site's pipeline stops the others too."""
    first, second = _Pipeline(NameError("x"), stops), _Pipeline(None, stops)
    assert first.crawler.settings.copy().get(stopping.STOP_STATE_SETTING) is stops
    with pytest.raises(NameError):
        first.record({"url": "http://a/1"})
    with pytest.raises(DropItem):
        second.record({"url": "http://b/1"})


def test_items_are_written_while_nothing_failed(stops: stopping.StopState) -> None:
    pipeline = _Pipeline(None, stops)
    assert pipeline.record({"url": "http://a/1"}) == {"url": "http://a/1"}
    assert pipeline.recorded == [{"url": "http://a/1"}] and stops.archive_failure is None
