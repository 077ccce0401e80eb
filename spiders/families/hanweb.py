"""Hanweb JCMS (大汉) columns.

The first page embeds its items as XML inside ``<script type="text/xml">``::

    <datastore>
      <nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&columnid=…&unitid=…&webid=…"></a>]]></nextgroup>
      <recordset><record><![CDATA[<li><a href="/art/2024/1/20/art_1001_5001.html">…</a></li>]]></record>…</recordset>
    </datastore>

with the totals either as ``<totalrecord>``/``<totalpage>`` elements or in the jpage call
(``totalRecord: 42, perPage: 15``). Further pages come from the ``dataproxy.jsp`` URL with
``page=N``, which answers the same ``<datastore>`` XML without the script wrapper. Hanweb pages
that are plain HTML (no datastore) fall back to ordinary anchors.
"""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qsl, urlsplit

from lxml import html as lxml_html

from spiders.families.base import (
    ListedLink,
    ListPage,
    anchor_links,
    clean_title,
    next_page_links,
    with_page_number,
)

_RECORD_RE = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
_NEXTGROUP_RE = re.compile(r"<nextgroup>\s*<!\[CDATA\[(.*?)\]\]>\s*</nextgroup>", re.S | re.I)
_HREF_RE = re.compile(r"""href\s*=\s*['"]([^'"]+)['"]""", re.I)
_TOTAL_PAGE_RE = re.compile(r"<totalpage>\s*(\d+)\s*</totalpage>|\btotalPage\s*[:=]\s*['\"]?(\d+)", re.I)
_TOTAL_RECORD_RE = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>|\btotalRecord\s*[:=]\s*['\"]?(\d+)", re.I)
_PER_PAGE_RE = re.compile(r"<perpage>\s*(\d+)\s*</perpage>|\bperPage\s*[:=]\s*['\"]?(\d+)", re.I)
MAX_GENERATED_PAGES = 200


class HanwebAdapter:
    name = "hanweb"

    def links(self, page: ListPage) -> list[ListedLink]:
        records = _RECORD_RE.findall(page.text)
        if not records:
            return anchor_links(page)
        seen: set[str] = set()
        found: list[ListedLink] = []
        for record in records:
            fragment = lxml_html.fragment_fromstring(record, create_parent="div")
            for anchor in fragment.iter("a"):
                url = page.absolute(anchor.get("href", ""))
                title = clean_title(anchor.get("title") or "") or clean_title(anchor.text_content())
                if url and title and url not in seen:
                    seen.add(url)
                    found.append(ListedLink(url=url, title=title))
        return found

    def next_pages(self, page: ListPage) -> list[str]:
        urls = hanweb_page_urls(page)
        for url in next_page_links(page) if not _RECORD_RE.search(page.text) else []:
            if url not in urls:
                urls.append(url)
        return urls


def hanweb_page_urls(page: ListPage) -> list[str]:
    """dataproxy.jsp URLs for pages 2..N of the column, when the page states its totals."""
    proxy = _proxy_url(page)
    total = _total_pages(page.text)
    if proxy is None or total is None:
        return []
    current = _current_page(proxy, page.url)
    if current > 1:
        # A dataproxy page itself: the first page generated every sibling already.
        return []
    return [with_page_number(proxy, n) for n in range(2, min(total, MAX_GENERATED_PAGES) + 1)]


def _proxy_url(page: ListPage) -> str | None:
    nextgroup = _NEXTGROUP_RE.search(page.text)
    if nextgroup:
        href = _HREF_RE.search(nextgroup.group(1))
        if href:
            return page.absolute(href.group(1).replace("&amp;", "&"))
    if "dataproxy" in urlsplit(page.url).path:
        return page.url
    return None


def _total_pages(text: str) -> int | None:
    match = _TOTAL_PAGE_RE.search(text)
    if match:
        return int(match.group(1) or match.group(2))
    records = _TOTAL_RECORD_RE.search(text)
    per_page = _PER_PAGE_RE.search(text)
    if records and per_page:
        per = int(per_page.group(1) or per_page.group(2))
        if per > 0:
            return math.ceil(int(records.group(1) or records.group(2)) / per)
    return None


def _current_page(proxy: str, page_url: str) -> int:
    if "dataproxy" not in urlsplit(page_url).path:
        return 1
    query = dict(parse_qsl(urlsplit(page_url).query))
    try:
        return int(query.get("page", "1"))
    except ValueError:
        return 1

