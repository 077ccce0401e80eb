"""The archive's errors, and the one wrapper that turns database failures into them.

:class:`NianbaoError` is the root of every exception the project raises on purpose; it lives
here, on the ground floor, so the archive can raise :class:`StorageError` without reaching up
into the crawler. The crawler adds its own kinds (``crawler.errors``) on top of this root, and
the edges (the CLI, the web app) turn any of them into one readable line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import SQLAlchemyError

P = ParamSpec("P")
R = TypeVar("R")


class NianbaoError(Exception):
    """Base class; ``exit_status`` is what the CLI exits with."""

    exit_status = 2


class StorageError(NianbaoError):
    """The archive database could not be opened, migrated or written."""

    exit_status = 2


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (drivers append SQL and hints)."""
    for line in str(exc).splitlines():
        line = line.strip()
        if line:
            return line
    return type(exc).__name__


def describe_error(exc: BaseException) -> str:
    """One line saying what the database driver reported, without SQL or traceback text."""
    orig = getattr(exc, "orig", None)
    return first_line(orig if orig is not None else exc)


def storage_errors(function: Callable[P, R]) -> Callable[P, R]:
    """Turn driver and ORM errors into a one-line StorageError naming the operation."""
    what = function.__name__.replace("_", " ")

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except SQLAlchemyError as exc:
            raise StorageError(f"{what} failed: {describe_error(exc)}") from exc

    return wrapper
