"""Declared setting defaults with their real types, for Scrapy's typed getters.

:func:`storage.settings.default_of` returns any setting's default (``str | int | float | bool |
None``); ``Settings.getint``/``getfloat``/``getbool`` want the one type they return. These read
the declaration and check its type once, so a wrongly declared default fails loudly instead of
being converted silently.
"""

from __future__ import annotations

from storage.settings import default_of

__all__ = ["bool_default", "float_default", "int_default"]


def int_default(name: str) -> int:
    """The declared integer default of setting ``name``."""
    value = default_of(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"setting {name} does not declare an integer default: {value!r}")
    return value


def float_default(name: str) -> float:
    """The declared numeric default of setting ``name`` (an integer default counts)."""
    value = default_of(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"setting {name} does not declare a numeric default: {value!r}")
    return value


def bool_default(name: str) -> bool:
    """The declared on/off default of setting ``name``."""
    value = default_of(name)
    if not isinstance(value, bool):
        raise TypeError(f"setting {name} does not declare an on/off default: {value!r}")
    return value
