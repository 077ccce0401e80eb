"""The archive's core tables: reports and the bookkeeping of crawls.

Site -> Document (one report of a site, at one or more URLs) -> Version (one distinct normalized
body), and the bookkeeping of crawls: CrawlRun -> SiteCrawl (per site) and CrawlError (per failed
page).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, IdType, check_in, utcnow

__all__ = [
    "COUNTERS",
    "PAGE_KINDS",
    "RUN_STATUSES",
    "SITE_CRAWL_STATUSES",
    "CrawlError",
    "CrawlRun",
    "Document",
    "Site",
    "SiteCrawl",
    "Version",
]

# interrupted: stopped by Ctrl-C/SIGTERM; abandoned: its process died (closed by a later start).
RUN_STATUSES = ("running", "finished", "failed", "interrupted", "abandoned")
# A site crawl that was interrupted or abandoned is not evidence about the site.
SITE_CRAWL_STATUSES = ("running", "ok", "failed", "interrupted", "abandoned")
# attachment: an attachment link the crawl refused to fetch (crawler/guard.py; 0009).
PAGE_KINDS = ("list", "report", "attachment")


class Site(Base):
    """One bureau's annual-report column, with the configuration it was last crawled with."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    region: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(32))
    family: Mapped[str] = mapped_column(String(32))
    list_urls: Mapped[list[str]] = mapped_column(default=list)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    documents: Mapped[list[Document]] = relationship(back_populates="site")

    def __repr__(self) -> str:
        return f"<Site {self.id} {self.key!r}>"


class Document(Base):
    """One annual report of a site. Its content lives in :class:`Version` rows; ``url`` is where it
    was fetched most recently, and every URL it was found at is a
    :class:`~storage.models.identity.DocumentUrl` (which report a fetch is: :mod:`storage.identity`).

    The metadata columns mirror the latest fetch; each version keeps the metadata it was first
    seen with.
    """

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("site_id", "url"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    site_id: Mapped[int] = mapped_column(IdType, ForeignKey("sites.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    index_no: Mapped[str | None] = mapped_column(Text, index=True)
    title: Mapped[str | None] = mapped_column(Text)
    report_year: Mapped[int | None] = mapped_column(Integer, index=True)
    publisher: Mapped[str | None] = mapped_column(Text)
    pub_date: Mapped[str | None] = mapped_column(String(10))
    missing_fields: Mapped[list[str]] = mapped_column(default=list)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_run_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )
    latest_version_id: Mapped[int | None] = mapped_column(
        IdType,
        ForeignKey(
            "versions.id",
            use_alter=True,
            name="fk_documents_latest_version_id_versions",
            ondelete="SET NULL",
        ),
    )

    site: Mapped[Site] = relationship(back_populates="documents")
    versions: Mapped[list[Version]] = relationship(
        back_populates="document",
        foreign_keys="Version.document_id",
        order_by="Version.number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    latest_version: Mapped[Version | None] = relationship(
        foreign_keys=[latest_version_id], post_update=True
    )

    def __repr__(self) -> str:
        return f"<Document {self.id} {self.url!r}>"


class Version(Base):
    """One distinct normalized body of a document (unique per document and content hash)."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("document_id", "content_hash"),
        UniqueConstraint("document_id", "number"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    document_id: Mapped[int] = mapped_column(IdType, ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    index_no: Mapped[str | None] = mapped_column(Text)
    publisher: Mapped[str | None] = mapped_column(Text)
    pub_date: Mapped[str | None] = mapped_column(String(10))
    written_date: Mapped[str | None] = mapped_column(String(10))
    doc_no: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(Text)
    report_year: Mapped[int | None] = mapped_column(Integer)
    body_text: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[str]] = mapped_column(default=list)
    missing_fields: Mapped[list[str]] = mapped_column(default=list)
    encoding: Mapped[str | None] = mapped_column(String(64))
    # Statistics tables parsed from the body (crawler.extract.tables.parse_report_tables JSON),
    # whether any were found, and whether the report is only images (no text to read).
    tables: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    has_tables: Mapped[bool] = mapped_column(Boolean, default=False)
    image_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # The body's sections (storage.sectioning): [{key, heading, start, end}] with character
    # offsets into body_text, keys overview … other (post-2019) or part1 … (earlier reports, with
    # a topic where one applies); [] when the text has no headings, None when never computed.
    sections: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_run_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )
    last_run_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("crawl_runs.id", ondelete="SET NULL")
    )

    document: Mapped[Document] = relationship(back_populates="versions", foreign_keys=[document_id])

    def __repr__(self) -> str:
        return f"<Version {self.id} document={self.document_id} #{self.number}>"


COUNTERS = ("pages", "reports_found", "new_documents", "new_versions", "unchanged", "failures")


class CrawlRun(Base):
    """One crawl of one or more sites, with totals summed from its :class:`SiteCrawl` rows."""

    __tablename__ = "crawl_runs"
    __table_args__ = (CheckConstraint(check_in("status", RUN_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")
    site_keys: Mapped[list[str]] = mapped_column(default=list)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    reports_found: Mapped[int] = mapped_column(Integer, default=0)
    new_documents: Mapped[int] = mapped_column(Integer, default=0)
    new_versions: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)

    site_crawls: Mapped[list[SiteCrawl]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<CrawlRun {self.id} {self.status}>"


class SiteCrawl(Base):
    """One site's part of a crawl run."""

    __tablename__ = "site_crawls"
    __table_args__ = (
        UniqueConstraint("run_id", "site_id"),
        CheckConstraint(check_in("status", SITE_CRAWL_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    run_id: Mapped[int] = mapped_column(IdType, ForeignKey("crawl_runs.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="running")
    finish_reason: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]
    pages: Mapped[int] = mapped_column(Integer, default=0)
    reports_found: Mapped[int] = mapped_column(Integer, default=0)
    new_documents: Mapped[int] = mapped_column(Integer, default=0)
    new_versions: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # How the annual-report column was read (spiders.listing.ListingTracker): the list pages
    # the column said it has (None when it does not say), those fetched and failed, whether
    # every page was read, the oldest and newest report year it listed, and the detail (the
    # pages not read, with why) as JSON. listing_complete is None for a crawl that never
    # recorded its listing (before migration 0007).
    list_pages_expected: Mapped[int | None] = mapped_column(Integer)
    list_pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    list_pages_failed: Mapped[int] = mapped_column(Integer, default=0)
    listing_complete: Mapped[bool | None] = mapped_column(Boolean)
    listed_oldest_year: Mapped[int | None] = mapped_column(Integer)
    listed_newest_year: Mapped[int | None] = mapped_column(Integer)
    listing: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    run: Mapped[CrawlRun] = relationship(back_populates="site_crawls")
    site: Mapped[Site] = relationship()

    def __repr__(self) -> str:
        return f"<SiteCrawl run={self.run_id} site={self.site_id} {self.status}>"


class CrawlError(Base):
    """A page that could not be fetched or used during a run."""

    __tablename__ = "crawl_errors"
    __table_args__ = (CheckConstraint(check_in("page_kind", PAGE_KINDS), name="page_kind"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("crawl_runs.id", ondelete="CASCADE"), index=True
    )
    site_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    page_kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    # The report year the listing gave for a failed report link (from its title), so the
    # monitor knows which year the failure leaves unknown.
    report_year: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    run: Mapped[CrawlRun] = relationship()
    site: Mapped[Site] = relationship()

    def __repr__(self) -> str:
        return f"<CrawlError run={self.run_id} {self.url!r} {self.reason!r}>"
