"""The cycle collector's settings for crawl processes (crawler/collector.py)."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from crawler.collector import GEN0_THRESHOLD, heap_frozen, tune_for_throughput

ROOT = Path(__file__).resolve().parents[2]


def test_the_command_line_collects_less_often_from_its_first_import():
    # `nianbao crawl` and `nianbao worker` are processes of the command line: the threshold is
    # raised before the CLI imports Scrapy and SQLAlchemy, so start-up benefits too.
    program = "import gc, crawler.cli; print(gc.get_threshold())"
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    # CPython starts at (700, 10, 10): the youngest generation's threshold is raised, the
    # older generations keep their ratios.
    assert result.stdout.strip() == f"({GEN0_THRESHOLD}, 10, 10)"


def test_tuning_keeps_the_older_generations_ratios_and_never_lowers_a_threshold():
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        tune_for_throughput()
        assert gc.get_threshold() == (GEN0_THRESHOLD, 10, 10)
        gc.set_threshold(GEN0_THRESHOLD * 2, 5, 7)
        tune_for_throughput()
        assert gc.get_threshold() == (GEN0_THRESHOLD * 2, 5, 7)
    finally:
        gc.set_threshold(*before)


def test_the_heap_is_frozen_for_the_crawl_and_released_after():
    gc.unfreeze()
    start_up_objects = [[i] for i in range(1000)]  # stands for the modules and settings of a crawl
    with heap_frozen():
        assert gc.get_freeze_count() >= len(start_up_objects)
        # Objects made during the crawl are collected as usual.
        made_during = [[i] for i in range(10)]
        assert all(gc.is_tracked(item) for item in made_during)
    # After the crawl (a test process runs many), the frozen objects are collectable again.
    assert gc.get_freeze_count() == 0


def test_a_failing_crawl_still_unfreezes_the_heap():
    gc.unfreeze()
    try:
        with heap_frozen():
            raise RuntimeError("the crawl failed")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0
