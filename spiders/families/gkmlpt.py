"""Guangdong's gkmlpt platform: the column is a JSON API, ``/gkmlpt/api/all/{cat}?page=N&sid=…``.

The answer carries ``articles`` (each with ``title`` and ``url``), ``total`` (articles in the
column) and ``page`` (this answer's page number); some deployments add a ``page_size``-like
field, otherwise the first page's article count is the page size. Later pages are the same URL
with ``page=N``.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from spiders.families.base import (
    ListedLink,
    ListPage,
    ListPageRequest,
    Pagination,
    anchor_links,
    clean_title,
    with_page_number,
)

MAX_GENERATED_PAGES = 200


class GkmlptAdapter:
    name = "gkmlpt"

    def links(self, page: ListPage) -> list[ListedLink]:
        data = _json(page.text)
        if data is None:
            return anchor_links(page)
        found: list[ListedLink] = []
        seen: set[str] = set()
        for article in data.get("articles") or []:
            if not isinstance(article, dict):
                continue
            url = page.absolute(str(article.get("url") or ""))
            title = clean_title(str(article.get("title") or ""))
            if url and title and url not in seen:
                seen.add(url)
                found.append(ListedLink(url=url, title=title))
        return found

    def pagination(self, page: ListPage) -> Pagination:
        data = _json(page.text)
        if data is None:
            return Pagination()
        total = _int(data.get("total"))
        articles = data.get("articles") or []
        size = _int(data.get("page_size") or data.get("pageSize") or data.get("size"))
        current = _int(data.get("page")) or _int(dict(parse_qsl(urlsplit(page.url).query)).get("page")) or 1
        if total is None:
            return Pagination()
        if current != 1:
            # The first page generated its siblings; a later page's article count (the last
            # page is short) says nothing about the page size.
            return Pagination(expected=math.ceil(total / size) if size else None)
        # Without a page-size field, the first page is full unless the column is shorter.
        size = size or len(articles) or None
        expected = max(1, math.ceil(total / size)) if size else 1
        last = min(expected, MAX_GENERATED_PAGES)
        pages = tuple(ListPageRequest(with_page_number(page.url, n), n) for n in range(2, last + 1))
        return Pagination(pages, expected=expected)


def _json(text: str) -> dict[str, Any] | None:
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

