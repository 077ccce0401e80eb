"""Hanweb JCMS (大汉) columns.

The first page embeds its items as XML inside ``<script type="text/xml">``::

    <datastore>
      <nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&columnid=…&unitid=…&webid=…"></a>]]></nextgroup>
      <recordset><record><![CDATA[<li><a href="/art/2024/1/20/art_1001_5001.html">…</a></li>]]></record>…</recordset>
    </datastore>

with the totals either as ``<totalrecord>``/``<totalpage>`` elements or in the jpage call
(``totalRecord: 42, perPage: 15``). Further pages come from ``dataproxy.jsp`` in one of two ways:

- GET with ``page=N`` (the ``nextgroup`` link is its template), which answers the same
  ``<datastore>`` XML without the script wrapper;
- POST, as the jpage plugin itself does: ``dataproxy.jsp?startrecord=S&endrecord=E&perpage=P``
  with the call's ``ajaxParam`` fields as the form, each answer holding ``groupSize`` pages of
  records. Used when the page has the jpage call but no ``nextgroup`` template.

Hanweb pages that are plain HTML (no datastore) fall back to ordinary anchors.
"""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from lxml import html as lxml_html

from spiders.families.base import (
    ListedLink,
    ListPage,
    ListPageRequest,
    Pagination,
    anchor_links,
    clean_title,
    with_next_links,
    with_page_number,
)

_RECORD_RE = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
_NEXTGROUP_RE = re.compile(r"<nextgroup>\s*<!\[CDATA\[(.*?)\]\]>\s*</nextgroup>", re.S | re.I)
_HREF_RE = re.compile(r"""href\s*=\s*['"]([^'"]+)['"]""", re.I)
_TOTAL_PAGE_RE = re.compile(r"<totalpage>\s*(\d+)\s*</totalpage>|\btotalPage\s*[:=]\s*['\"]?(\d+)", re.I)
_TOTAL_RECORD_RE = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>|\btotalRecord\s*[:=]\s*['\"]?(\d+)", re.I)
_PER_PAGE_RE = re.compile(r"<perpage>\s*(\d+)\s*</perpage>|\bperPage\s*[:=]\s*['\"]?(\d+)", re.I)
_PROXY_URL_RE = re.compile(r"""\bproxyUrl\s*:\s*['"]([^'"]+)['"]""")
_GROUP_SIZE_RE = re.compile(r"\bgroupSize\s*:\s*['\"]?(\d+)")
_AJAX_PARAM_RE = re.compile(r"\bajaxParam\s*:\s*\{(.*?)\}", re.S)
_PARAM_RE = re.compile(r"""(\w+)\s*:\s*(?:'([^']*)'|"([^"]*)"|([^,\s}]+))""")
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

    def pagination(self, page: ListPage) -> Pagination:
        if _RECORD_RE.search(page.text):
            return hanweb_pagination(page)
        return with_next_links(Pagination(), page)


def hanweb_pagination(page: ListPage) -> Pagination:
    """The column's further pages from the datastore's totals: GET ``page=N`` when the page
    gives the proxy template, else the jpage plugin's POST groups."""
    proxy = _proxy_url(page)
    total = _total_pages(page.text)
    if proxy is not None and total is not None:
        if _current_page(proxy, page.url) > 1:
            # A dataproxy page itself: the first page generated every sibling already.
            return Pagination(expected=total)
        last = min(total, MAX_GENERATED_PAGES)
        pages = tuple(ListPageRequest(with_page_number(proxy, n), n) for n in range(2, last + 1))
        return Pagination(pages, expected=max(total, 1))
    if "dataproxy" in urlsplit(page.url).path:
        return Pagination()  # an answer to a POST group: the column page planned every group
    return _post_groups(page)


def hanweb_page_urls(page: ListPage) -> list[str]:
    """dataproxy.jsp URLs for pages 2..N of the column, when the page states its totals."""
    return hanweb_pagination(page).urls


def _post_groups(page: ListPage) -> Pagination:
    """The jpage plugin's POST requests for the records after those embedded in the page.

    ``expected`` counts list requests (the column page and one per group), since each answer
    holds ``groupSize`` pages of records.
    """
    proxy = _PROXY_URL_RE.search(page.text)
    records = _TOTAL_RECORD_RE.search(page.text)
    per_page = _PER_PAGE_RE.search(page.text)
    params = _AJAX_PARAM_RE.search(page.text)
    if not (proxy and records and per_page and params):
        return Pagination()
    total = int(records.group(1) or records.group(2))
    per = int(per_page.group(1) or per_page.group(2))
    group_match = _GROUP_SIZE_RE.search(page.text)
    group = per * (int(group_match.group(1)) if group_match else 3)
    if per <= 0 or group <= 0:
        return Pagination()
    form = tuple(
        (match.group(1), next(v for v in match.groups()[1:] if v is not None))
        for match in _PARAM_RE.finditer(params.group(1))
    )
    base = urljoin(page.base_url, proxy.group(1))
    embedded = len(_RECORD_RE.findall(page.text))
    pages: list[ListPageRequest] = []
    for start in range(embedded + 1, total + 1, group):
        if len(pages) >= MAX_GENERATED_PAGES:
            break
        end = min(start + group - 1, total)
        query = urlencode({"startrecord": start, "endrecord": end, "perpage": per})
        pages.append(ListPageRequest(f"{base}?{query}", len(pages) + 2, form))
    return Pagination(tuple(pages), expected=len(pages) + 1)


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

