"""``python -m crawler``: the ``nianbao`` command line."""

from crawler.cli import main

main()
