"""The generic family: plain anchors and a "下一页" (next page) link."""

from __future__ import annotations

from spiders.families.base import ListedLink, ListPage, anchor_links, next_page_links


class GenericAdapter:
    name = "generic"

    def links(self, page: ListPage) -> list[ListedLink]:
        return anchor_links(page)

    def next_pages(self, page: ListPage) -> list[str]:
        return next_page_links(page)
