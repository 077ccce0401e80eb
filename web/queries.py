"""What the pages and the API show, read from the archive as plain data (pydantic models).

Each function takes a session and returns a model from :mod:`web.schemas`; the page and the
JSON endpoint of the same thing call the same function, so the API covers what a page shows.
Optional parts of the archive (attachments, captures, the coverage grid) are used when their
modules are installed.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.coverage import coverage_grid
from crawler.archive_checks import report_checks
from crawler.attachments.store import attachment_path
from crawler.extract.tables.checks import checks_flag, labelled_tables
from crawler.stats import table3_rows, yearly_totals
from storage.errors import StorageError
from storage.evidence import version_bytes, warc_directory
from storage.listing import listing_state
from storage.models import Attachment, AttachmentLink, CrawlError, Document, Site, SiteCrawl, Version
from storage.search import RANK_WINDOW, SearchFilters, search
from web.schemas import (
    AttachmentOut,
    CheckOut,
    CoverageCellOut,
    CoverageOut,
    CrawlErrorOut,
    HealthOut,
    ReportOut,
    SearchHitOut,
    SearchOut,
    SectionOut,
    SegmentOut,
    SiteHealthOut,
    StatsOut,
    StatsRowOut,
    UnreadPageOut,
    VersionOut,
)

__all__ = [
    "attachment_file", "coverage_view", "health_view", "raw_page", "report_view",
    "search_view", "site_keys", "stats_view",
]


def _iso(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _segments(parts: list[tuple[str, bool]]) -> list[SegmentOut]:
    return [SegmentOut(text=text, hit=hit) for text, hit in parts]


def site_keys(session: Session) -> list[tuple[str, str]]:
    """(key, name) of every site, for filter menus."""
    return [(row[0], row[1]) for row in session.execute(select(Site.key, Site.name).order_by(Site.key))]


def search_view(
    session: Session, query: str, filters: SearchFilters, sort: str, page: int, per_page: int, row_cap: int
) -> SearchOut:
    offset = (page - 1) * per_page
    if offset + per_page > row_cap:  # the row cap bounds how deep pagination goes
        result_hits, has_more = [], False
    else:
        result = search(session, query, filters, sort=sort, limit=per_page, offset=offset)
        result_hits, has_more = result.hits, result.has_more and offset + 2 * per_page <= row_cap
    hits = [
        SearchHitOut(
            id=h.document_id, version_id=h.version_id, version=h.version_number, site=h.site_key,
            site_name=h.site_name, region=h.region, report_year=h.report_year, publisher=h.publisher,
            pub_date=h.pub_date, title=h.title, score=h.score, url=h.url,
            title_segments=_segments(h.title_segments), snippet=_segments(h.snippet),
        )
        for h in result_hits
    ]
    return SearchOut(
        query=query, filters={k: v for k, v in filters.as_dict().items() if v not in (None, [], ())},
        sort=sort, page=page, per_page=per_page, has_more=has_more, rank_window=RANK_WINDOW, hits=hits,
    )


def _attachments(session: Session, version: Version) -> list[AttachmentOut]:
    rows = session.execute(
        select(AttachmentLink, Attachment)
        .outerjoin(Attachment, Attachment.id == AttachmentLink.attachment_id)
        .where(AttachmentLink.version_id == version.id)
        .order_by(AttachmentLink.id)
    ).all()
    if not rows:
        return [AttachmentOut(url=url) for url in version.attachments or []]
    return [
        AttachmentOut(
            url=link.url, link_text=link.link_text, attachment_id=attachment.id if attachment else None,
            media_type=attachment.media_type if attachment else None, size=attachment.size if attachment else None,
            has_text=bool(attachment and attachment.text), image_only=attachment.image_only if attachment else None,
            error=link.error or (attachment.error if attachment else None),
        )
        for link, attachment in rows
    ]


_ANCHOR_KEY = re.compile(r"[a-z0-9]{1,20}")


def _sections(stored: Any, length: int) -> list[SectionOut] | None:
    """The stored sections as shown: in text order, inside the text and not overlapping (the
    page slices the text by them), each with its anchor; None when the version was never split."""
    if stored is None:
        return None
    out: list[SectionOut] = []
    at = 0
    for section in stored if isinstance(stored, list) else []:
        if not isinstance(section, dict):
            continue
        start, end, key = section.get("start"), section.get("end"), section.get("key")
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(key, str)):
            continue
        if not at <= start < end <= length:
            continue
        out.append(SectionOut(key=key, heading=str(section.get("heading") or key), start=start, end=end,
                              topic=section.get("topic") if isinstance(section.get("topic"), str) else None,
                              anchor=f"section-{key}" if _ANCHOR_KEY.fullmatch(key) else f"section-{len(out) + 1}"))
        at = end
    return out


def report_view(session: Session, document_id: int, version_number: int | None = None) -> ReportOut | None:
    found = session.execute(
        select(Document, Site).join(Site, Site.id == Document.site_id).where(Document.id == document_id)
    ).one_or_none()
    if found is None:
        return None
    document, site = found
    versions = list(session.scalars(select(Version).where(Version.document_id == document_id).order_by(Version.number)))
    if not versions:
        return None
    shown: Version | None
    if version_number is None:
        shown = next((v for v in versions if v.id == document.latest_version_id), versions[-1])
    else:
        shown = next((v for v in versions if v.number == version_number), None)
        if shown is None:
            return None
    tables = getattr(shown, "tables", None)
    tables = tables if isinstance(tables, dict) else None
    is_latest = shown.id == document.latest_version_id
    checks = report_checks(session, document.id, tables or {}, latest=is_latest)
    cross = [c for c in checks if c.get("name") == "cross_year"]
    return ReportOut(
        id=document.id, site=site.key, site_name=site.name, region=site.region, level=site.level, url=document.url,
        title=shown.title or document.title, report_year=shown.report_year, index_no=shown.index_no,
        publisher=shown.publisher, pub_date=shown.pub_date, doc_no=shown.doc_no, topic=shown.topic,
        written_date=shown.written_date, missing_fields=list(shown.missing_fields or []),
        first_seen=_iso(document.first_seen_at), last_seen=_iso(document.last_seen_at), version=shown.number,
        versions=[
            VersionOut(number=v.number, id=v.id, content_hash=v.content_hash, first_seen=_iso(v.first_seen_at),
                       last_seen=_iso(v.last_seen_at), latest=v.id == document.latest_version_id,
                       characters=len(v.body_text or ""))
            for v in versions
        ],
        body_text=shown.body_text or "",
        sections=_sections(getattr(shown, "sections", None), len(shown.body_text or "")),
        has_tables=getattr(shown, "has_tables", None), image_only=getattr(shown, "image_only", None),
        tables=tables, labelled_tables=labelled_tables(tables),
        checks=[CheckOut(**{k: v for k, v in c.items() if k in CheckOut.model_fields}) for c in checks],
        checks_flag=checks_flag(tables, cross),
        attachments=_attachments(session, shown),
        raw_available=getattr(shown, "capture_id", None) is not None,
    )


def coverage_view(session: Session, as_of: date, sites: list[str], row_cap: int) -> CoverageOut:
    cells = coverage_grid(session, as_of, site_keys=sites or None)[: row_cap * 20]
    out = [CoverageCellOut(**cell.as_dict()) for cell in cells]
    counts: dict[str, int] = {}
    for cell in out:
        counts[cell.status] = counts.get(cell.status, 0) + 1
    return CoverageOut(
        available=True, as_of=as_of.isoformat(), years=sorted({c.report_year for c in out}),
        sites=list(dict.fromkeys(c.site_key for c in out)), site_names={c.site_key: c.site_name for c in out},
        cells=out, counts=counts,
    )


def stats_view(
    session: Session, row: str, sites: list[str], year_from: int | None, year_to: int | None, row_cap: int
) -> StatsOut:
    rows = table3_rows(session, sites, year_from, year_to, limit=row_cap + 1)
    truncated = len(rows) > row_cap
    rows = rows[:row_cap]
    series = yearly_totals(rows, row)
    years = sorted({year for by_year in series.values() for year in by_year})
    return StatsOut(
        row=row, years=years,
        series={site: {str(y): v for y, v in sorted(by_year.items())} for site, by_year in series.items()},
        rows=[StatsRowOut(**r.as_dict()) for r in rows], truncated=truncated,
    )


def health_view(session: Session, page: int, per_page: int, errors_per_site: int = 5) -> HealthOut:
    sites = list(session.scalars(select(Site).order_by(Site.key).limit(per_page + 1).offset((page - 1) * per_page)))
    has_more = len(sites) > per_page
    out = []
    for site in sites[:per_page]:
        latest = session.scalars(
            select(SiteCrawl).where(SiteCrawl.site_id == site.id).order_by(SiteCrawl.run_id.desc()).limit(1)
        ).one_or_none()
        errors = session.scalars(
            select(CrawlError).where(CrawlError.site_id == site.id).order_by(CrawlError.id.desc()).limit(errors_per_site)
        ).all()
        documents = session.scalar(select(func.count()).select_from(Document).where(Document.site_id == site.id)) or 0
        out.append(
            SiteHealthOut(
                site=site.key, name=site.name, region=site.region, level=site.level, documents=documents,
                last_run_id=latest.run_id if latest else None, last_status=latest.status if latest else None,
                last_finish_reason=latest.finish_reason if latest else None,
                last_finished_at=_iso(latest.finished_at) if latest else None,
                last_pages=latest.pages if latest else None, last_failures=latest.failures if latest else None,
                **_listing_fields(latest),
                recent_errors=[
                    CrawlErrorOut(run_id=e.run_id, url=e.url, page_kind=e.page_kind, reason=e.reason,
                                  http_status=e.http_status, created_at=_iso(e.created_at))
                    for e in errors
                ],
            )
        )
    return HealthOut(sites=out, page=page, per_page=per_page, has_more=has_more)


def _listing_fields(crawl: SiteCrawl | None) -> dict[str, Any]:
    if crawl is None:
        return {}
    state = listing_state("", crawl)
    return {
        "listing_complete": state.complete, "list_pages_expected": state.expected,
        "list_pages_fetched": state.fetched, "list_pages_failed": state.failed,
        "unread_pages": [UnreadPageOut(page=p.label, url=p.url, reason=p.reason) for p in state.unread],
    }


def attachment_file(session: Session, attachment_id: int) -> tuple[Path, str] | None:
    """(path, sha256) of a stored attachment, looked up by id only; None when absent."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        return None
    try:
        path = attachment_path(attachment.sha256)
    except ValueError:  # not a digest (a damaged or tampered row): never a path to serve
        return None
    return (path, attachment.sha256) if path.is_file() else None


def raw_page(session: Session, document_id: int) -> bytes | None:
    """The archived page of the document's latest version (from its WARC record), or None."""
    try:
        return version_bytes(session, warc_directory(), document_id)
    except (StorageError, OSError):
        return None
