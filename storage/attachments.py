"""Archive writes and reads for attachments (models in :mod:`storage.models`).

Same rules as :mod:`storage.archive`: functions take a session and never commit; writes are
idempotent (``INSERT … ON CONFLICT DO NOTHING`` then select), so a re-crawl or two workers
storing the same file never make a second row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.dialect import insert_ignore
from storage.errors import storage_errors
from storage.models import Attachment, AttachmentLink, Document, DocumentUrl, Site, utcnow
from storage.search import refresh_attachments

__all__ = [
    "Attachment",
    "attachments_of_version",
    "find_attachment",
    "link_attachment",
    "link_capture",
    "record_attachment",
]


@storage_errors
def find_attachment(session: Session, sha256: str) -> Attachment | None:
    """The stored content with this digest, or None."""
    return session.scalars(select(Attachment).where(Attachment.sha256 == sha256)).one_or_none()


@storage_errors
def record_attachment(
    session: Session,
    *,
    sha256: str,
    size: int,
    media_type: str,
    text: str | None,
    image_only: bool = False,
    error: str | None = None,
) -> Attachment:
    """Insert the content row for ``sha256`` unless it exists, and return it."""
    insert_ignore(
        session,
        Attachment,
        sha256=sha256,
        size=size,
        media_type=media_type,
        text=text,
        image_only=image_only,
        error=error,
        created_at=utcnow(),
    )
    return session.scalars(
        select(Attachment).where(Attachment.sha256 == sha256).execution_options(populate_existing=True)
    ).one()


def record_attachment_id(session: Session, **values: Any) -> int:
    """:func:`record_attachment`, returning the row's id (what the archive writer sends back)."""
    return record_attachment(session, **values).id


@storage_errors
def link_attachment(
    session: Session,
    *,
    site_key: str,
    report_url: str,
    url: str,
    link_text: str | None,
    attachment_id: int | None,
    error: str | None = None,
) -> AttachmentLink | None:
    """Link the latest version of the report at ``report_url`` to an attachment URL.

    Returns None when that report is not archived (it could not be recorded). A link that
    exists is updated when the URL now gives other content (or now fails)."""
    # Attachments of one report are linked from several threads (and workers) at once, and each
    # link re-indexes the report's search entry: taking the document row first (FOR NO KEY
    # UPDATE, which the links' foreign-key checks do not conflict with) makes them take turns.
    document = session.scalars(
        select(Document)
        .join(Site, Document.site_id == Site.id)
        # any of the document's URLs: a report found at two URLs is one document (storage.identity)
        .join(DocumentUrl, DocumentUrl.document_id == Document.id)
        .where(Site.key == site_key, DocumentUrl.url == report_url)
        .with_for_update(of=Document, key_share=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if document is None or document.latest_version_id is None:
        return None
    values = {"attachment_id": attachment_id, "link_text": link_text, "error": error}
    insert_ignore(
        session,
        AttachmentLink,
        document_id=document.id,
        version_id=document.latest_version_id,
        url=url,
        created_at=utcnow(),
        **values,
    )
    link = session.scalars(
        select(AttachmentLink)
        .where(AttachmentLink.version_id == document.latest_version_id, AttachmentLink.url == url)
        .execution_options(populate_existing=True)
    ).one()
    # Keep a good link when a later download of the same URL failed; take new content.
    if attachment_id is not None and link.attachment_id != attachment_id:
        link.attachment_id, link.error = attachment_id, None
    elif attachment_id is None and link.attachment_id is None and link.error != error:
        link.error = error
    if link_text and not link.link_text:
        link.link_text = link_text
    session.flush()
    refresh_attachments(session, link.version_id)  # attachment text into the search index
    return link


@storage_errors
def attachments_of_version(session: Session, version_id: int) -> list[AttachmentLink]:
    """A version's attachment links (with their content loaded), in the order they were seen."""
    return list(
        session.scalars(
            select(AttachmentLink)
            .where(AttachmentLink.version_id == version_id)
            .order_by(AttachmentLink.id)
        ).all()
    )


@storage_errors
def link_capture(session: Session, attachment_id: int, capture_id: int) -> None:
    """Point a stored content row at the capture its bytes came from, the first time only
    (the earliest evidence stays the evidence)."""
    session.execute(
        update(Attachment)
        .where(Attachment.id == attachment_id, Attachment.capture_id.is_(None))
        .values(capture_id=capture_id)
    )
