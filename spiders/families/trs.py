"""TRS WCM (拓尔思) columns: ``index.html``, ``index_1.html`` … ``index_{N-1}.html``.

The page count is printed into the pager script as ``createPageHTML(N, current, "index",
"html")`` or ``var countPage = N``; every page of the column can be generated from the first,
so a broken "next" link does not hide later pages.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from spiders.families.base import ListedLink, ListPage, anchor_links, next_page_links

_CREATE_PAGE_RE = re.compile(
    r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([\w-]+)['\"]\s*,\s*['\"](\w+)['\"]"
)
_COUNT_PAGE_RE = re.compile(r"\bcountPage\s*=\s*['\"]?(\d+)")
# A generous cap: a TRS column of annual reports never has hundreds of pages; a bigger
# number is a broken template, and the per-site page budget applies anyway.
MAX_GENERATED_PAGES = 200


class TrsAdapter:
    name = "trs"

    def links(self, page: ListPage) -> list[ListedLink]:
        return anchor_links(page)

    def next_pages(self, page: ListPage) -> list[str]:
        urls = list(trs_page_urls(page.text, page.url))
        for url in next_page_links(page):
            if url not in urls:
                urls.append(url)
        return urls


def trs_page_urls(text: str, url: str) -> list[str]:
    """Every page of the column after the first, from the pager script (empty if none)."""
    match = _CREATE_PAGE_RE.search(text)
    if match:
        count, stem, ext = int(match.group(1)), match.group(3), match.group(4)
    else:
        count_match = _COUNT_PAGE_RE.search(text)
        if not count_match:
            return []
        count, stem, ext = int(count_match.group(1)), "index", "html"
    count = min(count, MAX_GENERATED_PAGES)
    return [urljoin(url, f"{stem}_{n}.{ext}") for n in range(1, count)]
