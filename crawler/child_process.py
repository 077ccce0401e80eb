"""Helper processes of a crawl process (its archive writer): how they start, talk and end.

One is forked while the crawl process is still single-threaded, so it starts at once with
everything imported (spawn would import Scrapy, SQLAlchemy, lxml ... again: most of a second
of CPU); once other threads run, fork is unsafe and spawn is used. It dies with the crawl
process (``PR_SET_PDEATHSIG``), so a killed crawl cannot leave one running, and ignores the
signals that stop a crawl: the crawl process decides when its helpers stop.
"""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing
import os
import signal
import threading
from typing import Any


def start_context() -> Any:
    """The multiprocessing context a helper process is started with (see the module docstring)."""
    return multiprocessing.get_context("fork" if threading.active_count() == 1 else "spawn")


# A crawl has at most a few dozen pages in flight; with this much room in the pipe the crawl's
# event loop does not wait while the helper is busy (a default pipe holds 64 KiB: two pages).
PIPE_BYTES = 1024 * 1024


def one_way_pipe(context: Any) -> tuple[Any, Any]:
    """(receiving end, sending end) of a pipe to or from a helper, with a large buffer."""
    receiving, sending = context.Pipe(duplex=False)
    with contextlib.suppress(OSError):  # capped by /proc/sys/fs/pipe-max-size: keep the default
        fcntl.fcntl(sending.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    return receiving, sending


def become_helper_of(parent: int) -> None:
    """Called first in a helper process: die with ``parent``, leave Ctrl-C and SIGTERM to it."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
    # Ctrl-C reaches the whole process group: the crawl process decides when its helpers stop
    # (each one's queue ends after the crawl's last job).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
