"""The JSON API's shapes (pydantic): what every page shows, so /openapi.json documents it."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "AttachmentOut",
    "CitationOut",
    "CoverageCellOut",
    "CoverageOut",
    "CrawlErrorOut",
    "DiffOut",
    "DiffRowOut",
    "DiffSegmentOut",
    "HealthOut",
    "ProvenanceOut",
    "ReportOut",
    "SearchHitOut",
    "SearchOut",
    "SegmentOut",
    "SiteHealthOut",
    "StatsOut",
    "StatsRowOut",
    "VersionOut",
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
    total: int | None = Field(default=None, description="without a query: how many reports the filters keep (the "
                                                "hits are then every report, newest published first)")


class VersionOut(BaseModel):
    number: int
    id: int
    content_hash: str
    first_seen: str | None
    last_seen: str | None
    latest: bool
    characters: int
    permanent_url: str | None = Field(default=None, description="this version's lasting address (/reports/{id}/versions/{n})")
    provenance: ProvenanceOut | None = Field(default=None, description="the capture this version's text came from "
                                             "(None: archived before captures were kept)")


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
    attachment_id: int | None = Field(default=None, description="download at /attachments/{attachment_id}")
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
    citation: CitationOut | None = Field(default=None, description="how to cite the version shown")


class DiffRowOut(BaseModel):
    kind: str = Field(description="equal, replace, delete, insert or skip (unchanged lines left out)")
    old_number: int | None
    old_text: str
    new_number: int | None
    new_text: str
    old_segments: list[DiffSegmentOut] = Field(default_factory=list, description="old_text in runs; the runs "
                                               "that differ from the new line are marked changed")
    new_segments: list[DiffSegmentOut] = Field(default_factory=list, description="new_text in runs; the runs "
                                               "that differ from the old line are marked changed")


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


# --- browse: the home page, regions and sites (web/routes/browse.py) -------------------------


class ReportRowOut(BaseModel):
    """A report in a list: its latest version, not its text."""

    id: int = Field(description="document id (the page is /reports/{id})")
    version_id: int
    version: int = Field(description="the latest version's number")
    versions: int | None = Field(default=None, description="how many versions are archived (site page)")
    site: str
    site_name: str
    region: str
    level: str
    title: str | None
    report_year: int | None
    publisher: str | None
    pub_date: str | None
    url: str = Field(description="the report's address on its site (as archived; not a link on this app)")
    first_seen: str | None = Field(description="when the report was first archived")
    version_seen: str | None = Field(description="when its latest version was first archived")


class ReportListOut(BaseModel):
    reports: list[ReportRowOut]
    total: int = Field(description="every report the list stands for, not only those shown")


class AlertRowOut(BaseModel):
    id: int
    kind: str = Field(description="report_missing, report_late, site_unreachable, listing_broken, …")
    site: str
    site_name: str
    report_year: int | None
    document_id: int | None
    title: str
    message: str
    opened_at: str | None


class AlertSummaryOut(BaseModel):
    open: int = Field(description="alerts whose condition holds now")
    by_kind: dict[str, int]
    newest: list[AlertRowOut]
    outbox_pending: int = Field(description="alert messages waiting for delivery")
    outbox_failed: int = Field(description="alert messages whose delivery gave up")


class CoverageCountsOut(BaseModel):
    as_of: str
    counts: dict[str, int] = Field(description="cells per state: on_time, late, missing, not_due, unknown")


class HomeOut(BaseModel):
    sites: int
    reports: int
    latest: list[ReportRowOut] = Field(description="newest archived first")
    changed_since: str
    changed: ReportListOut = Field(description="reports that got a new version since changed_since")
    alerts: AlertSummaryOut
    coverage: CoverageCountsOut


class SiteSummaryOut(BaseModel):
    site: str
    name: str
    region: str
    level: str
    reports: int


class RegionSummaryOut(BaseModel):
    region: str
    sites: list[SiteSummaryOut]
    reports: int


class RegionsOut(BaseModel):
    regions: list[RegionSummaryOut]


class RegionOut(BaseModel):
    region: str
    sites: list[SiteSummaryOut]
    latest: ReportListOut
    coverage: CoverageCountsOut


class SiteYearOut(BaseModel):
    report_year: int | None
    coverage: str | None = Field(default=None, description="the coverage grid's state of the year")
    reports: list[ReportRowOut]


class SiteStateOut(BaseModel):
    state: str = Field(description="ok, unreachable, broken or unknown (never assessed)")
    reason: str | None
    since: str | None
    checked_at: str | None
    run_id: int | None


class ListingOut(BaseModel):
    run_id: int
    complete: bool | None
    expected: int | None
    fetched: int
    failed: int
    problem: str | None
    unread_pages: list[UnreadPageOut]


class SiteOut(BaseModel):
    site: str
    name: str
    region: str
    level: str
    family: str
    list_urls: list[str]
    reports: int
    years: list[SiteYearOut] = Field(description="the site's reports by report year, newest year first")
    truncated: bool = Field(description="more reports than the row cap: the oldest are left out")
    health: SiteStateOut
    listing: ListingOut | None = Field(description="how the latest crawl that ran to its end read the column")
    alerts: list[AlertRowOut] = Field(description="the site's open alerts, newest first")


# --- report page (issue 15): provenance, citation, character-level diff ---------------------


class DiffSegmentOut(BaseModel):
    text: str
    changed: bool = Field(description="these characters differ between the two versions (shown highlighted)")


class ProvenanceOut(BaseModel):
    """Where a version's text came from: its row of the captures table and its WARC record."""

    capture_id: int
    url: str
    fetched_at: str | None = Field(description="when the page was fetched (UTC)")
    http_status: int
    content_type: str | None
    record_type: str = Field(description="response, or revisit (the payload is in an earlier record)")
    warc_file: str
    warc_record_id: str
    warc_offset: int
    warc_length: int
    payload_sha256: str | None = Field(description="sha256 of the payload (of the record it revisits for a 304)")
    payload_bytes: int
    revisit_of_id: int | None = None
    raw_url: str = Field(description="download of the archived payload: /reports/{id}/versions/{n}/raw")
    replay_url: str = Field(description="the archived page as captured, sandboxed: /reports/{id}/versions/{n}/view")


class CitationOut(BaseModel):
    title: str | None
    bureau: str = Field(description="the publishing site's name")
    pub_date: str | None
    archived_at: str | None = Field(description="capture time of the version (None: no capture kept)")
    permanent_url: str
    sha256: str | None = Field(description="payload sha256 of the version's capture")
    text: str = Field(description="the citation as one line, in the request's language")


for _model in (VersionOut, ReportOut, DiffRowOut):
    _model.model_rebuild()


# --- watch: alerts (web/routes/watch.py) ------------------------------------------------------


class AlertOut(BaseModel):
    id: int
    key: str = Field(description="kind:site[:year][:docN][:extra], the alert's identity")
    kind: str = Field(description="report_missing, report_late, site_unreachable, listing_broken, "
                                  "report_changed, report_removed, report_checks")
    kind_label: str = Field(description="the kind in the request's language")
    state: str = Field(description="open, resolved, or notice (one-off news that neither repeats nor resolves)")
    state_label: str
    site: str
    site_name: str
    region: str
    report_year: int | None
    document_id: int | None
    title: str
    message: str
    resolution: str | None
    opened_at: str
    last_notified_at: str | None
    resolved_at: str | None
    updated_at: str = Field(description="the latest event: resolved_at when resolved, else opened_at")
    report_path: str | None = Field(description="the report page on this app, when the alert is about a document")
    diff_path: str | None = Field(description="the diff page of the change, for report_changed")


class AlertsOut(BaseModel):
    state: str
    kind: str | None
    site: str | None
    region: str | None
    page: int
    per_page: int
    total: int = Field(description="how many alerts match the filters")
    has_more: bool
    alerts: list[AlertOut]
