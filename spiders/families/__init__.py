"""Site-family adapters: how each CMS family lists items and paginates."""

from __future__ import annotations

from spiders.families.base import (
    FamilyAdapter,
    ListedLink,
    ListPage,
    ListPageRequest,
    Pagination,
    probe_url,
)
from spiders.families.generic import GenericAdapter
from spiders.families.gkmlpt import GkmlptAdapter
from spiders.families.hanweb import HanwebAdapter
from spiders.families.trs import TrsAdapter

ADAPTERS: dict[str, FamilyAdapter] = {
    "generic": GenericAdapter(),
    "trs": TrsAdapter(),
    "hanweb": HanwebAdapter(),
    "gkmlpt": GkmlptAdapter(),
}


def adapter_for(family: str) -> FamilyAdapter:
    """The adapter of a family named in the sites file (validated there)."""
    return ADAPTERS[family]


__all__ = [
    "ADAPTERS",
    "FamilyAdapter",
    "ListPage",
    "ListPageRequest",
    "ListedLink",
    "Pagination",
    "adapter_for",
    "probe_url",
]
