"""The report page's reads (issue 15): a version with its provenance and citation, the diff
with changed characters marked, and a version's archived response for download and replay.

The provenance of a version is its row of the captures table (when and with which status the
page was fetched, the WARC file, record id and offset, the payload's sha256); the raw download
and the replay read the payload back from that WARC record through :mod:`storage.evidence`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.i18n import gettext as _
from storage.errors import StorageError
from storage.evidence import payload_capture, version_response, warc_directory
from storage.history import Segment, pick_versions, side_by_side, unified_diff
from storage.models import Capture, Document, Version
from storage.settings import environment_value
from web import queries
from web.schemas import CitationOut, DiffOut, DiffRowOut, DiffSegmentOut, ProvenanceOut, ReportOut

__all__ = [
    "REPLAYED_MEDIA_TYPES", "Replay", "diff_view", "permanent_url", "provenance_view", "public_base",
    "raw_version", "replay_view", "report_view", "utc_iso", "version_title",
]

PUBLIC_URL_SETTING = "NIANBAO_PUBLIC_URL"
# Archived media types the replay serves as themselves (inside the sandbox); any other payload
# is served as opaque bytes. The charset parameter is kept: a GBK page stays GBK.
REPLAYED_MEDIA_TYPES = frozenset({
    "text/html", "application/xhtml+xml", "text/plain", "application/pdf",
    "image/png", "image/jpeg", "image/gif", "image/webp",
})
_MEDIA_TYPE = re.compile(r"\s*([A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+)\s*(?:;(.*))?", re.S)
_CHARSET = re.compile(r"""(?:^|;)\s*charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})["']?\s*(?:;|$)""", re.I)


def utc_iso(value: datetime | None) -> str | None:
    """A capture time as ISO 8601 in UTC without an offset (the pages add "UTC"): SQLite gives
    the stored time back with its offset, PostgreSQL's timestamp column without one."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds")


def public_base(request_base: str) -> str:
    """The app's public address: ``NIANBAO_PUBLIC_URL`` when set, else the request's base URL."""
    return (environment_value(PUBLIC_URL_SETTING) or request_base).rstrip("/")


def permanent_url(base: str, document_id: int, number: int) -> str:
    return f"{base}/reports/{document_id}/versions/{number}"


def _version(session: Session, document_id: int, number: int) -> Version | None:
    return session.scalars(
        select(Version).where(Version.document_id == document_id, Version.number == number)
    ).one_or_none()


def _provenance(capture: Capture, payload: Capture | None, document_id: int, number: int) -> ProvenanceOut:
    return ProvenanceOut(
        capture_id=capture.id, url=capture.url, fetched_at=utc_iso(capture.fetched_at), http_status=capture.http_status,
        content_type=capture.content_type, record_type=capture.record_type, warc_file=capture.warc_file,
        warc_record_id=capture.warc_record_id, warc_offset=capture.warc_offset, warc_length=capture.warc_length,
        payload_sha256=capture.payload_sha256 or (payload.payload_sha256 if payload else None),
        payload_bytes=capture.payload_bytes, revisit_of_id=capture.revisit_of_id,
        raw_url=f"/reports/{document_id}/versions/{number}/raw",
        replay_url=f"/reports/{document_id}/versions/{number}/view",
    )


def _payload_of(session: Session, capture: Capture) -> Capture | None:
    """The capture holding the bytes (a 304 revisit's sha256 is that of what it repeats)."""
    try:
        return payload_capture(session, capture.id)
    except StorageError:
        return None


def _provenances(session: Session, document_id: int) -> dict[int, ProvenanceOut]:
    """Provenance of every version of a document that has a capture, by version number."""
    # capture_id is declared by the capture models onto Version (storage.models.capture): reached
    # through the table so type checkers see a column.
    rows = session.execute(
        select(Version.number, Capture).join(Capture, Capture.id == Version.__table__.c.capture_id)
        .where(Version.document_id == document_id)
    ).all()
    return {
        number: _provenance(capture, None if capture.payload_sha256 else _payload_of(session, capture), document_id, number)
        for number, capture in rows
    }


def provenance_view(session: Session, document_id: int, number: int) -> ProvenanceOut | None:
    """The provenance of one version; None when the version or its capture is not there."""
    return _provenances(session, document_id).get(number)


def _citation(report: ReportOut, provenance: ProvenanceOut | None, url: str) -> CitationOut:
    # Archived at: when the version's page was captured; for a version archived before captures
    # were kept, when the archive first saw that text.
    shown = next((v for v in report.versions if v.number == report.version), None)
    first_seen = datetime.fromisoformat(shown.first_seen) if shown and shown.first_seen else None
    archived_at = provenance.fetched_at if provenance else utc_iso(first_seen)
    sha256 = provenance.payload_sha256 if provenance else None
    parts = [
        f"「{report.title}」" if report.title else _("(untitled)"),
        report.site_name,
        _("published %(date)s", date=report.pub_date) if report.pub_date else _("publication date unknown"),
        _("archived at %(time)s UTC", time=archived_at) if archived_at else _("archive time unknown"),
        url,
    ]
    if sha256:
        parts.append(f"SHA-256 {sha256}")
    return CitationOut(title=report.title, bureau=report.site_name, pub_date=report.pub_date, archived_at=archived_at,
                       permanent_url=url, sha256=sha256, text=_(", ").join(parts))


def report_view(session: Session, document_id: int, number: int | None, base: str) -> ReportOut | None:
    """The report at a version (default: the latest) with each version's provenance and
    permanent address, and the citation of the version shown."""
    report = queries.report_view(session, document_id, number)
    if report is None:
        return None
    provenances = _provenances(session, document_id)
    for version in report.versions:
        version.provenance = provenances.get(version.number)
        version.permanent_url = permanent_url(base, document_id, version.number)
    report.citation = _citation(report, provenances.get(report.version), permanent_url(base, document_id, report.version))
    return report


def _segments(runs: tuple[Segment, ...]) -> list[DiffSegmentOut]:
    return [DiffSegmentOut(text=text, changed=changed) for text, changed in runs]


def diff_view(session: Session, document_id: int, old: int | None, new: int | None) -> DiffOut | None:
    """The two versions' texts side by side (changed characters marked) and as a unified diff."""
    pair = pick_versions(session, document_id, old, new)
    if pair is None:
        return None
    before, after = pair
    document = session.get(Document, document_id)
    numbers = list(session.scalars(select(Version.number).where(Version.document_id == document_id).order_by(Version.number)))
    rows = side_by_side(before.body_text or "", after.body_text or "")
    unified = unified_diff(before.body_text or "", after.body_text or "", f"version {before.number}", f"version {after.number}")
    return DiffOut(
        id=document_id, title=document.title if document else None, old=before.number, new=after.number,
        versions=numbers, changed=bool(unified),
        rows=[
            DiffRowOut(kind=r.kind, old_number=r.old_number, old_text=r.old_text, new_number=r.new_number,
                       new_text=r.new_text, old_segments=_segments(r.old_segments), new_segments=_segments(r.new_segments))
            for r in rows
        ],
        unified=unified,
    )


def raw_version(session: Session, document_id: int, number: int) -> bytes | None:
    """The archived payload of one version (Content-Encoding removed), or None."""
    try:
        return version_response(session, warc_directory(), document_id, number).body
    except (StorageError, OSError):
        return None


@dataclass(frozen=True)
class Replay:
    """What the replay serves: the archived body and a Content-Type safe to send with it."""

    body: bytes
    content_type: str


def replay_content_type(archived: str | None) -> str:
    """The archived Content-Type reduced to a known media type and its charset (nothing else of
    the archived header is repeated); opaque bytes for anything else."""
    found = _MEDIA_TYPE.fullmatch(archived or "")
    media_type = found.group(1).lower() if found else ""
    if media_type not in REPLAYED_MEDIA_TYPES:
        return "application/octet-stream"
    charset = _CHARSET.search(found.group(2) or "") if found else None
    return f"{media_type}; charset={charset.group(1)}" if charset else media_type


def replay_view(session: Session, document_id: int, number: int) -> Replay | None:
    """The archived response of one version, for the sandboxed replay; None when absent."""
    try:
        response = version_response(session, warc_directory(), document_id, number)
    except (StorageError, OSError):
        return None
    archived_type = next((value for name, value in response.headers if name.lower() == "content-type"), None)
    return Replay(body=response.body, content_type=replay_content_type(archived_type))


def version_title(session: Session, document_id: int, number: int) -> str | None:
    """The title of one version (its document's when the version has none)."""
    version = _version(session, document_id, number)
    if version is None:
        return None
    document = session.get(Document, document_id)
    return version.title or (document.title if document else None)
