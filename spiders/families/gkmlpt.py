"""Guangdong's gkmlpt platform: the column is a JSON API, ``/gkmlpt/api/all/{cat}?page=N&sid=…``.

The answer carries ``articles`` (each with ``title`` and ``url``) and the totals ``total`` and
``page_size``-like fields; later pages are the same URL with ``page=N``.
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from spiders.families.base import ListedLink, ListPage, anchor_links, clean_title, with_page_number

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

    def next_pages(self, page: ListPage) -> list[str]:
        data = _json(page.text)
        if data is None:
            return []
        query = dict(parse_qsl(urlsplit(page.url).query))
        if query.get("page", "1") not in ("1", ""):
            return []
        total = _int(data.get("total"))
        size = _int(data.get("page_size") or data.get("pageSize") or data.get("size"))
        if not total or not size:
            return []
        pages = min(math.ceil(total / size), MAX_GENERATED_PAGES)
        return [with_page_number(page.url, n) for n in range(2, pages + 1)]


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

