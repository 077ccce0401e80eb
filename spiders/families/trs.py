"""TRS WCM (拓尔思) columns: ``index.html``, ``index_1.html`` … ``index_{N-1}.html``.

The pager says how many pages the column has, in one of two templates:

- the classic one prints ``createPageHTML(N, current, "index", "html")`` or ``var countPage = N``;
  every page of the column can be generated from the first, so a broken "next" link does not
  hide later pages;
- the newer ``list2.trsapi`` template ("动静结合") configures ``listModel({maxStaticIndex: M,
  pagebar: {prepage: P, recordCount: 'R', …}})``: the column has ceil(R / P) pages, of which
  ``index.html`` … ``index_M.html`` are static files and the rest are answered by TRS's search
  API from the browser. Those later pages have no static URL: they are reported as unreachable,
  so the listing is known to be incomplete instead of silently short.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urljoin

from spiders.families.base import (
    ListedLink,
    ListPage,
    ListPageRequest,
    Pagination,
    anchor_links,
    with_next_links,
)

_CREATE_PAGE_RE = re.compile(
    r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([\w-]+)['\"]\s*,\s*['\"](\w+)['\"]"
)
_COUNT_PAGE_RE = re.compile(r"\bcountPage\s*=\s*['\"]?(\d+)")
_LIST2_RE = re.compile(r"list2\.trsapi")
_MAX_STATIC_RE = re.compile(r"\bmaxStaticIndex\s*:\s*['\"]?(\d+)")
_RECORD_COUNT_RE = re.compile(r"\brecordCount\s*:\s*['\"]?(\d+)")
_PREPAGE_RE = re.compile(r"\bprepage\s*:\s*['\"]?(\d+)")
# A generous cap: a TRS column of annual reports never has hundreds of pages; a bigger
# number is a broken template, and the per-site page budget applies anyway.
MAX_GENERATED_PAGES = 200
SEARCH_API_REASON = "served only by the TRS search API (list2.trsapi), no static page"


class TrsAdapter:
    name = "trs"

    def links(self, page: ListPage) -> list[ListedLink]:
        return anchor_links(page)

    def pagination(self, page: ListPage) -> Pagination:
        return with_next_links(trs_pagination(page.text, page.url), page)


def trs_pagination(text: str, url: str) -> Pagination:
    """The column's pages after the first, from whichever pager template the page uses."""
    if _LIST2_RE.search(text) and _MAX_STATIC_RE.search(text):
        return _list2_pagination(text, url)
    match = _CREATE_PAGE_RE.search(text)
    if match:
        count, stem, ext = int(match.group(1)), match.group(3), match.group(4)
    else:
        count_match = _COUNT_PAGE_RE.search(text)
        if not count_match:
            return Pagination()
        count, stem, ext = int(count_match.group(1)), "index", "html"
    count = max(1, min(count, MAX_GENERATED_PAGES))
    pages = tuple(ListPageRequest(urljoin(url, f"{stem}_{n}.{ext}"), n + 1) for n in range(1, count))
    return Pagination(pages, expected=count)


def _list2_pagination(text: str, url: str) -> Pagination:
    max_static = int(_MAX_STATIC_RE.search(text).group(1))  # type: ignore[union-attr]
    records, per_page = _RECORD_COUNT_RE.search(text), _PREPAGE_RE.search(text)
    expected: int | None = None
    if records and per_page and int(per_page.group(1)) > 0:
        expected = max(1, math.ceil(int(records.group(1)) / int(per_page.group(1))))
    # Without the record count the static pages are all we know of (and all we can read).
    last_static = max_static if expected is None else min(max_static, expected - 1)
    last_static = min(last_static, MAX_GENERATED_PAGES - 1)
    pages = tuple(ListPageRequest(urljoin(url, f"index_{n}.html"), n + 1) for n in range(1, last_static + 1))
    unreachable: tuple[tuple[int, str], ...] = ()
    if expected is not None and expected > last_static + 1:
        unreachable = tuple(
            (n + 1, SEARCH_API_REASON) for n in range(last_static + 1, min(expected, MAX_GENERATED_PAGES))
        )
    return Pagination(pages, expected=expected, unreachable=unreachable)


def trs_page_urls(text: str, url: str) -> list[str]:
    """Every static page of the column after the first, from the pager script (empty if none)."""
    return trs_pagination(text, url).urls
