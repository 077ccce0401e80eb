"""The JSON API's shapes (pydantic): what every page shows, so /openapi.json documents it."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "AttachmentOut", "CoverageCellOut", "CoverageOut", "CrawlErrorOut", "DiffOut", "DiffRowOut",
    "HealthOut", "ReportOut", "SearchHitOut", "SearchOut", "SegmentOut", "SiteHealthOut",
    "StatsOut", "StatsRowOut", "VersionOut",
]


class SegmentOut(BaseModel):
    text: str
    hit: bool = Field(description="this part matches the query (shown highlighted)")


class SearchHitOut(BaseModel):
    id: int = Field(description="document id")
    version_id: int
    version: int = Field(description="version number")
    site: str
    site_name: str
    region: str
    report_year: int | None
    publisher: str | None
    pub_date: str | None
    title: str | None
    score: float | None
    url: str = Field(description="the report's address on its site (as archived; not a link on this app)")
    title_segments: list[SegmentOut]
    snippet: list[SegmentOut]


class SearchOut(BaseModel):
    query: str
    filters: dict[str, object]
    sort: str
    page: int
    per_page: int
    has_more: bool
    rank_window: int = Field(description="relevance ranks up to this many of the most recently published matches")
    hits: list[SearchHitOut]


class VersionOut(BaseModel):
    number: int
    id: int
    content_hash: str
    first_seen: str | None
    last_seen: str | None
    latest: bool
    characters: int


class SectionOut(BaseModel):
    key: str = Field(description="overview, proactive, requests, review, problems, other (post-2019) or part1 … "
                                 "(an earlier report's numbered parts)")
    heading: str = Field(description="the heading as the report writes it")
    start: int = Field(description="offset of the section's first character in body_text")
    end: int = Field(description="offset just after the section in body_text")
    topic: str | None = Field(None, description="an earlier report's part: the post-2019 section it corresponds to")
    anchor: str = Field(description="the id of the section in the report page's text")


class AttachmentOut(BaseModel):
    url: str
    link_text: str | None = None
    attachment_id: int | None = Field(None, description="download at /attachments/{attachment_id}")
    media_type: str | None = None
    size: int | None = None
    has_text: bool = False
    image_only: bool | None = None
    error: str | None = None


class CheckFailureOut(BaseModel):
    where: str = Field(description="the column, row or group that does not add up")
    left: int | None = None
    right: int | None = None
    text: str = Field(description="the failing numbers in words")


class CheckOut(BaseModel):
    name: str
    label: str = Field(description="what the check compares, in the form's words")
    status: str = Field(description="passed, failed or not_evaluated")
    failures: list[CheckFailureOut] = Field(default_factory=list)
    reason: str | None = Field(None, description="why it was not evaluated (missing rows, no earlier report)")
    previous_document_id: int | None = Field(None, description="cross-year check: last year's report")


class ReportOut(BaseModel):
    id: int
    site: str
    site_name: str
    region: str
    level: str
    url: str
    title: str | None
    report_year: int | None
    index_no: str | None
    publisher: str | None
    pub_date: str | None
    doc_no: str | None
    topic: str | None
    written_date: str | None
    missing_fields: list[str]
    first_seen: str | None
    last_seen: str | None
    version: int = Field(description="the version shown")
    versions: list[VersionOut]
    body_text: str
    sections: list[SectionOut] | None = Field(
        None, description="the shown version's sections in text order (None: the version was never split)")
    has_tables: bool | None
    image_only: bool | None
    tables: dict[str, object] | None = Field(description="parsed statistics tables (extraction JSON)")
    labelled_tables: dict[str, object] | None = Field(
        None, description="tables 2, 3 and 4 with the form's Chinese row and column labels, their "
                          "completeness and checks")
    checks: list[CheckOut] = Field(default_factory=list, description="every check of the shown version "
                                   "(the cross-year check for the latest version)")
    checks_flag: str | None = Field(None, description="ok, failed or incomplete (None: no form tables)")
    attachments: list[AttachmentOut]
    raw_available: bool = Field(description="the archived page can be downloaded at /reports/{id}/raw")


class DiffRowOut(BaseModel):
    kind: str = Field(description="equal, replace, delete, insert or skip (unchanged lines left out)")
    old_number: int | None
    old_text: str
    new_number: int | None
    new_text: str


class DiffOut(BaseModel):
    id: int
    title: str | None
    old: int
    new: int
    versions: list[int]
    changed: bool
    rows: list[DiffRowOut]
    unified: list[str]


class CoverageCellOut(BaseModel):
    site_key: str
    site_name: str
    report_year: int
    status: str = Field(description="on_time, late, missing, not_due or unknown")
    due: str
    published: str | None
    document_id: int | None
    detail: str


class CoverageOut(BaseModel):
    available: bool = Field(description="false when the coverage module is not installed")
    as_of: str
    years: list[int]
    sites: list[str]
    site_names: dict[str, str]
    cells: list[CoverageCellOut]
    counts: dict[str, int]


class StatsRowOut(BaseModel):
    site: str
    site_name: str
    region: str
    level: str
    report_year: int | None
    document_id: int
    version: int
    format: str | None
    row: str
    natural_person: int | None
    commercial: int | None
    research: int | None
    social_welfare: int | None
    legal_services: int | None
    other: int | None
    total: int | None
    checks: str | None = Field(None, description="the report's checks: ok, failed or incomplete")


class StatsOut(BaseModel):
    row: str
    years: list[int]
    series: dict[str, dict[str, int]] = Field(description="site -> year -> total of the row")
    rows: list[StatsRowOut]
    truncated: bool


class CrawlErrorOut(BaseModel):
    run_id: int
    url: str
    page_kind: str
    reason: str
    http_status: int | None
    created_at: str | None


class UnreadPageOut(BaseModel):
    page: str
    url: str | None
    reason: str


class SiteHealthOut(BaseModel):
    site: str
    name: str
    region: str
    level: str
    documents: int
    last_run_id: int | None
    last_status: str | None
    last_finish_reason: str | None
    last_finished_at: str | None
    last_pages: int | None
    last_failures: int | None
    # How the latest crawl read the column: complete or not, pages declared/read/failed, and
    # the pages it did not read (an incomplete listing keeps the monitor from saying missing).
    listing_complete: bool | None = None
    list_pages_expected: int | None = None
    list_pages_fetched: int | None = None
    list_pages_failed: int | None = None
    unread_pages: list[UnreadPageOut] = []
    recent_errors: list[CrawlErrorOut]


class HealthOut(BaseModel):
    sites: list[SiteHealthOut]
    page: int
    per_page: int
    has_more: bool
