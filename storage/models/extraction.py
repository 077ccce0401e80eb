"""Models of what extraction adds to the archive: attachments and their links to versions.

An :class:`Attachment` is one file's content, identified by its sha256 (the bytes themselves live
under ``<data dir>/attachments/ab/cd/<sha256>``, see :mod:`crawler.attachments.store`); the same
PDF linked from two reports, or from two versions of one report, is stored and extracted once.
An :class:`AttachmentLink` says that a version of a document linked to a URL, with the link text,
and which content that URL gave (none when the download failed or the file was refused before
its content was known: ``error`` then says why).

The statistics tables of a version live on the version itself (``versions.tables``,
``versions.has_tables``, ``versions.image_only``, see :class:`storage.models.core.Version`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, IdType, utcnow
from storage.models.core import Version

__all__ = ["Attachment", "AttachmentLink"]


class Attachment(Base):
    """One attachment file's content (unique by sha256) and the text extracted from it."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(128))  # the detected kind, e.g. application/pdf
    text: Mapped[str | None] = mapped_column(Text)  # None when extraction failed
    image_only: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)  # why there is no text: a limit, corruption
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    if TYPE_CHECKING:
        # The column is added in storage.models.capture (the capture feature's columns live
        # there); declared here for the type checker only, so the mapping is unchanged.
        capture_id: Mapped[int | None]

    def __repr__(self) -> str:
        return f"<Attachment {self.id} {self.sha256[:12]} {self.media_type}>"


class AttachmentLink(Base):
    """A version's link to an attachment URL, and the content it gave (if any)."""

    __tablename__ = "attachment_links"
    __table_args__ = (UniqueConstraint("version_id", "url"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int] = mapped_column(IdType, ForeignKey("versions.id", ondelete="CASCADE"))
    attachment_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("attachments.id", ondelete="SET NULL"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    link_text: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)  # the download failed or was refused
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    attachment: Mapped[Attachment | None] = relationship()
    version: Mapped[Version] = relationship()

    def __repr__(self) -> str:
        return f"<AttachmentLink version={self.version_id} {self.url!r}>"
