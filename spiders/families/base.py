"""What every site-family adapter works on and returns.

An adapter knows how one CMS family lays out its annual-report column: where the item links
are and how the column paginates. Adapters are pure: they take a :class:`ListPage` (a fetched
list page, decoded, parsed once) and return plain values, so each is unit-tested on saved HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import html as lxml_html

from crawler.extract.page import base_url_of, parse_html

# Anchor texts that mean "the next page of this list" on Chinese government sites.
NEXT_PAGE_TEXTS = frozenset({"下一页", "下页", "后一页", "下一頁", "next", ">", "›", "»", ">>"})

_SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "#")


@dataclass(frozen=True)
class ListedLink:
    """A link on a list page: absolute URL and the title shown for it."""

    url: str
    title: str


@dataclass
class ListPage:
    """A fetched list page: its URL, decoded text, and (parsed on first use) its tree."""

    url: str
    text: str
    selectors: dict[str, str] = field(default_factory=dict)

    @cached_property
    def tree(self) -> lxml_html.HtmlElement:
        return parse_html(self.text, self.url)

    @cached_property
    def base_url(self) -> str:
        return base_url_of(self.tree, self.url)

    def absolute(self, href: str) -> str | None:
        """``href`` resolved against the page, or None for script/mail/fragment links."""
        href = (href or "").strip()
        if not href or href.lower().startswith(_SKIP_SCHEMES):
            return None
        url = urljoin(self.base_url, href)
        if urlsplit(url).scheme not in ("http", "https"):
            return None
        return url.split("#", 1)[0]


@dataclass(frozen=True)
class ListPageRequest:
    """A further page of the column: where it is, its place in the column, and how to ask.

    ``number`` is the page's 1-based position when the pager says it (None for a page reached
    by a next link); ``form`` holds the fields of a POST (Hanweb's grouped dataproxy requests).
    """

    url: str
    number: int | None = None
    form: tuple[tuple[str, str], ...] | None = None

    @property
    def key(self) -> str:
        """Identifies the page within a crawl (a POST's fields are part of it)."""
        if self.form is None:
            return self.url
        return f"POST {self.url} {urlencode(self.form)}"


@dataclass(frozen=True)
class Pagination:
    """What one list page says about the rest of its column.

    - ``pages``: further list pages to read;
    - ``expected``: how many pages the column has, when the page says;
    - ``unreachable``: (page number, why) for pages the column has but no static URL serves
      (TRS ``list2.trsapi`` pages past ``maxStaticIndex`` come from a search API);
    - ``declares_nothing``: the page shows no pager at all, so the spider may probe
      ``index_N.html`` (the fallback for templates no adapter knows).
    """

    pages: tuple[ListPageRequest, ...] = ()
    expected: int | None = None
    unreachable: tuple[tuple[int, str], ...] = ()

    @property
    def urls(self) -> list[str]:
        return [page.url for page in self.pages]

    @property
    def declares_nothing(self) -> bool:
        return not self.pages and self.expected is None and not self.unreachable


class FamilyAdapter(Protocol):
    """How one CMS family lists its items and paginates."""

    name: str

    def links(self, page: ListPage) -> list[ListedLink]:
        """Every item link on the page (filtering to annual reports is the spider's job)."""
        ...

    def pagination(self, page: ListPage) -> Pagination:
        """The further pages of the column this page shows, and its page count if it says."""
        ...


def clean_title(text: str) -> str:
    """Collapse whitespace (NBSP and U+3000 included) in a link title."""
    return re.sub(r"[\s\u00a0\u3000]+", " ", text or "").strip()


def anchor_links(page: ListPage, root: lxml_html.HtmlElement | None = None) -> list[ListedLink]:
    """All ``<a href>`` links under ``root`` (or the site's ``list_links`` selector), deduplicated.

    The ``title`` attribute wins over the anchor text because list pages often truncate long
    report titles with an ellipsis in the visible text.
    """
    selector = page.selectors.get("list_links")
    scope = root if root is not None else page.tree
    if selector:
        anchors = [a for el in scope.cssselect(selector) for a in _anchors_in(el)]
    else:
        anchors = scope.iter("a")
    seen: set[str] = set()
    found: list[ListedLink] = []
    for anchor in anchors:
        url = page.absolute(anchor.get("href", ""))
        if url is None or url in seen:
            continue
        title = clean_title(anchor.get("title") or "") or clean_title(anchor.text_content())
        if not title:
            continue
        seen.add(url)
        found.append(ListedLink(url=url, title=title))
    return found


def _anchors_in(element: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    if element.tag == "a":
        return [element]
    return list(element.iter("a"))


def next_page_links(page: ListPage) -> list[str]:
    """URLs of anchors whose text says "next page"."""
    urls: list[str] = []
    for anchor in page.tree.iter("a"):
        text = clean_title(anchor.text_content()).lower()
        if text in NEXT_PAGE_TEXTS or (anchor.get("title") or "").strip() in NEXT_PAGE_TEXTS:
            url = page.absolute(anchor.get("href", ""))
            if url and url != page.url and url not in urls:
                urls.append(url)
    return urls


def with_next_links(pagination: Pagination, page: ListPage) -> Pagination:
    """``pagination`` plus the page's "next page" anchors it does not list already."""
    known = set(pagination.urls)
    extra = tuple(ListPageRequest(url) for url in next_page_links(page) if url not in known)
    if not extra:
        return pagination
    return Pagination(pagination.pages + extra, pagination.expected, pagination.unreachable)


_INDEX_FILE_RE = re.compile(r"^(?P<stem>[A-Za-z]+)(?:_(?P<n>\d+))?\.(?P<ext>s?html?)$")


def probe_url(url: str, number: int) -> str | None:
    """The ``index_N.html`` sibling of a column page (``number`` 0 is the page itself), or None
    when the URL is not a column page of that shape (``…/``, ``…/index.html``, ``…/list.shtml``)."""
    parts = urlsplit(url)
    folder, _, name = parts.path.rpartition("/")
    if not name:
        stem, ext = "index", "html"
    else:
        match = _INDEX_FILE_RE.match(name)
        if match is None:
            return None
        stem, ext = match.group("stem"), match.group("ext")
    file_name = f"{stem}.{ext}" if number == 0 else f"{stem}_{number}.{ext}"
    return urlunsplit(parts._replace(path=f"{folder}/{file_name}", query="", fragment=""))


def with_page_number(url: str, number: int) -> str:
    """``url`` with its ``page`` query parameter set to ``number`` (other parameters kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    query.insert(0, ("page", str(number)))
    return urlunsplit(parts._replace(query=urlencode(query)))
