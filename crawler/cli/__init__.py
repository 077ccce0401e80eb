"""The ``nianbao`` command line: a thin layer over the library.

:mod:`crawler.cli.app` holds the root group and :func:`main` (the console script
``nianbao = "crawler.cli:main"`` and ``python -m crawler``); each other module defines one
command or command group without importing the root (:mod:`~crawler.cli.crawl`,
:mod:`~crawler.cli.demo`, :mod:`~crawler.cli.sites`, :mod:`~crawler.cli.extract`,
:mod:`~crawler.cli.archive`, :mod:`~crawler.cli.db`, :mod:`~crawler.cli.export`,
:mod:`~crawler.cli.monitor`, :mod:`~crawler.cli.worker`); :mod:`~crawler.cli.context` is
what they share.
"""

from crawler.collector import tune_for_throughput

# Before the imports below: a crawl process's start-up alone made the default collector walk
# its growing heap some 400 times (crawler/collector.py).
tune_for_throughput()

from crawler.cli.app import cli, main  # noqa: E402

__all__ = ["cli", "main"]
