"""Python's cycle collector, set for the way nianbao's processes allocate.

CPython starts a collection of its youngest generation every 700 net allocations of container
objects, and every tenth one also walks the middle generation, every hundredth the whole heap.
A crawl allocates millions of short-lived containers (requests, responses, headers, Deferreds,
extraction results) on top of a large heap that lives as long as the process (Scrapy, Twisted,
SQLAlchemy and our modules: several hundred thousand objects), and the older-generation passes
walk that heap again and again. Measured with ``bench/crawl.py`` (BENCHMARKS.md): with the
defaults, about a fifth of a crawl process's CPU went to the collector.

Two remedies, both standard for throughput-bound CPython services:

* :func:`tune_for_throughput` raises the youngest generation's threshold (the older ones keep
  their ratios), so collections are rarer and each finds more garbage; cyclic garbage lives a
  little longer, which costs a few MiB, not more;
* :func:`heap_frozen` moves every object that exists when a crawl starts into the permanent
  generation (``gc.freeze``), so no collection walks the start-up heap again; a helper process
  forked from the crawl (the archive writer) also shares those pages with it instead of copying
  them when the collector touches them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["GEN0_THRESHOLD", "heap_frozen", "tune_for_throughput"]

GEN0_THRESHOLD = 20_000  # CPython's default is 700


def tune_for_throughput() -> None:
    """Collect the youngest generation every GEN0_THRESHOLD allocations (older ratios unchanged)."""
    youngest, middle, oldest = gc.get_threshold()
    if youngest < GEN0_THRESHOLD:
        gc.set_threshold(GEN0_THRESHOLD, middle, oldest)


@contextmanager
def heap_frozen() -> Iterator[None]:
    """Leave the objects that exist now out of every collection until the block ends."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
