"""Every URL a report was found at (issue 11: one document per report, wherever it moves).

A document is one report; sites move reports (a reorganised column path, a new domain, a page
re-published by a new CMS). :class:`DocumentUrl` keeps each URL a document was fetched at, with
when it was first and last seen there; ``documents.url`` is the one it was fetched at most
recently. A URL belongs to one document of its site. The rules that decide which document a
fetched report is are in :mod:`storage.identity`; migration 0008 creates the table, fills it and
merges the duplicates that archives made before it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, IdType, utcnow

__all__ = ["DocumentUrl"]


class DocumentUrl(Base):
    """One URL of one document, unique per site."""

    __tablename__ = "document_urls"
    __table_args__ = (UniqueConstraint("site_id", "url"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    site_id: Mapped[int] = mapped_column(IdType, ForeignKey("sites.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<DocumentUrl document={self.document_id} {self.url!r}>"
