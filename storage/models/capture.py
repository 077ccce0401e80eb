"""Models of the raw evidence: one :class:`Capture` per HTTP exchange, and what revalidation knows.

A **capture** is one fetch as it happened: when, which URL, the HTTP status, the validators the
server sent (ETag, Last-Modified), the sha256 of the payload, and where its WARC record is
(file name under the WARC folder, record id, offset and length of the gzip member). A capture
whose payload equals one already archived is written as a ``revisit`` record and points at
the capture that holds the bytes (``revisit_of_id``); a ``304 Not Modified`` is a revisit too.

A **URL state** is what the revalidation policy needs about one URL of one site: when it was
first seen and last checked (on the policy clock, so nights can be simulated), the validators
to send with a conditional GET, and the capture whose payload stands for the URL's current
content (replayed when the server answers 304 or when the URL is not due for a re-check).

Versions and attachments point at the capture their content came from. Those tables belong to
other modules; their ``capture_id`` columns are declared here, next to the table they reference,
so the capture feature stays in one place (migration 0003 adds them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, IdType, utcnow
from storage.models.core import Version
from storage.models.extraction import Attachment

__all__ = ["CAPTURE_RECORD_TYPES", "Capture", "UrlState"]

CAPTURE_RECORD_TYPES = ("response", "revisit")


class Capture(Base):
    """One HTTP exchange and the WARC record that holds its evidence."""

    __tablename__ = "captures"
    __table_args__ = (Index("ix_captures_url", "url"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("crawl_runs.id", ondelete="SET NULL"), index=True
    )
    site_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("sites.id", ondelete="SET NULL"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    page_kind: Mapped[str | None] = mapped_column(String(16))  # list | report | attachment ...
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    http_status: Mapped[int] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(Text)
    # sha256 of the payload as transferred; None for a 304 (no payload).
    payload_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    payload_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    record_type: Mapped[str] = mapped_column(String(16))  # response | revisit
    revisit_of_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("captures.id", ondelete="SET NULL")
    )
    warc_file: Mapped[str] = mapped_column(Text)  # file name inside the WARC folder
    warc_record_id: Mapped[str] = mapped_column(String(64))
    warc_offset: Mapped[int] = mapped_column(BigInteger)
    warc_length: Mapped[int] = mapped_column(BigInteger)

    def __repr__(self) -> str:
        return f"<Capture {self.id} {self.http_status} {self.url!r}>"


class UrlState(Base):
    """Revalidation state of one URL of one site."""

    __tablename__ = "url_states"
    __table_args__ = (UniqueConstraint("site_id", "url"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    site_id: Mapped[int] = mapped_column(IdType, ForeignKey("sites.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    page_kind: Mapped[str | None] = mapped_column(String(16))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    # The capture whose payload is the URL's current content (None until a 200 was archived).
    payload_capture_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("captures.id", ondelete="SET NULL")
    )

    def __repr__(self) -> str:
        return f"<UrlState {self.id} {self.url!r}>"


# The capture a version's body came from (None for versions archived before captures existed).
Version.capture_id = mapped_column(
    IdType, ForeignKey("captures.id", ondelete="SET NULL"), nullable=True
)


# The capture an attachment's content was first downloaded in.
Attachment.capture_id = mapped_column(
    IdType, ForeignKey("captures.id", ondelete="SET NULL"), nullable=True
)
