"""The web app's settings: each a (name, default, meaning), as Datasette lists its own."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SETTINGS_HELP", "WebSettings"]

SETTINGS_HELP = {
    "database_url": "the archive (SQLAlchemy URL), opened read-only",
    "row_cap": "most rows any page, API answer or download returns",
    "page_size": "rows per page when the request does not say",
    "time_limit": "seconds one database query may run before it is cancelled",
}


@dataclass(frozen=True)
class WebSettings:
    database_url: str
    row_cap: int = 1000
    page_size: int = 20
    time_limit: float = 5.0

    def per_page(self, requested: int | None) -> int:
        """The page size to use: the request's, within 1..min(100, row_cap)."""
        ceiling = max(1, min(100, self.row_cap))
        return max(1, min(ceiling, requested or self.page_size))
