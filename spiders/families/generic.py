"""The generic family: plain anchors and a "下一页" (next page) link."""

from __future__ import annotations

from spiders.families.base import ListedLink, ListPage, Pagination, anchor_links, with_next_links


class GenericAdapter:
    name = "generic"

    def links(self, page: ListPage) -> list[ListedLink]:
        return anchor_links(page)

    def pagination(self, page: ListPage) -> Pagination:
        return with_next_links(Pagination(), page)
