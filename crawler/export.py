"""Exports of the archive: documents as JSONL or CSV, captures as a WARC file with a CDXJ index.

- :func:`document_rows` -- one row per document with its latest version, in the stable column
  order :data:`DOCUMENT_COLUMNS` (lists become ``;``-joined text in CSV, stay lists in JSONL);
- :func:`write_jsonl`, :func:`write_csv` -- UTF-8, CSV optionally with a BOM so Excel opens it
  as UTF-8;
- :func:`export_warc` -- copies the selected captures' WARC records (each a whole gzip member,
  byte for byte, with its request record, plus the full response any selected revisit refers
  to) into one new ``.warc.gz`` and writes a CDXJ index beside it (``FILE.cdxj``, SURT keys,
  sorted) that pywb can serve; ReplayWeb.page opens the WARC file itself.

``since`` selects documents with a version first seen on or after that date, and captures
fetched on or after it.
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from crawler.csvsafe import csv_writer
from crawler.errors import ConfigError, StorageError
from storage.evidence import resolve
from storage.models import Capture, Document, Site, Version

__all__ = [
    "DOCUMENT_COLUMNS",
    "WarcExport",
    "document_rows",
    "export_warc",
    "surt",
    "write_csv",
    "write_jsonl",
]

DOCUMENT_COLUMNS = (
    "id",
    "site",
    "site_name",
    "region",
    "url",
    "title",
    "report_year",
    "index_no",
    "publisher",
    "pub_date",
    "written_date",
    "doc_no",
    "topic",
    "missing_fields",
    "attachments",
    "first_seen",
    "last_seen",
    "versions",
    "latest_version",
    "content_hash",
    "version_first_seen",
    "captured_at",
    "http_status",
    "warc_file",
    "warc_record_id",
    "body_text",
)
_CHUNK = 1 << 16


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value is not None else None


def _since_moment(since: date | None) -> datetime | None:
    return datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None


def document_rows(
    session: Session, site_keys: Sequence[str] = (), since: date | None = None
) -> Iterator[dict[str, Any]]:
    """Documents with their latest version, ordered by site and id."""
    stmt = (
        select(Document, Version, Site)
        .join(Site, Site.id == Document.site_id)
        .join(Version, Version.id == Document.latest_version_id)
        .order_by(Site.key, Document.id)
    )
    if site_keys:
        stmt = stmt.where(Site.key.in_(list(site_keys)))
    moment = _since_moment(since)
    if moment is not None:
        changed = select(Version.document_id).where(Version.first_seen_at >= moment)
        stmt = stmt.where(Document.id.in_(changed))
    for document, version, site in session.execute(stmt):
        capture_id = getattr(version, "capture_id", None)
        capture = session.get(Capture, capture_id) if capture_id else None
        yield {
            "id": document.id,
            "site": site.key,
            "site_name": site.name,
            "region": site.region,
            "url": document.url,
            "title": document.title,
            "report_year": document.report_year,
            "index_no": document.index_no,
            "publisher": document.publisher,
            "pub_date": document.pub_date,
            "written_date": version.written_date,
            "doc_no": version.doc_no,
            "topic": version.topic,
            "missing_fields": list(document.missing_fields or []),
            "attachments": list(version.attachments or []),
            "first_seen": _iso(document.first_seen_at),
            "last_seen": _iso(document.last_seen_at),
            "versions": len(document.versions),
            "latest_version": version.number,
            "content_hash": version.content_hash,
            "version_first_seen": _iso(version.first_seen_at),
            "captured_at": _iso(capture.fetched_at) if capture else None,
            "http_status": capture.http_status if capture else None,
            "warc_file": capture.warc_file if capture else None,
            "warc_record_id": capture.warc_record_id if capture else None,
            "body_text": version.body_text,
        }


def write_jsonl(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One JSON object per line, keys in :data:`DOCUMENT_COLUMNS` order; the row count."""
    count = 0
    for row in rows:
        out.write(json.dumps({k: row[k] for k in DOCUMENT_COLUMNS}, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO, *, bom: bool = False) -> int:
    """A header and one line per row (lists joined with ``;``); the row count."""
    if bom:
        out.write("\ufeff")
    writer = csv_writer(out, lineterminator="\r\n")
    writer.writerow(DOCUMENT_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([_cell(row[k]) for k in DOCUMENT_COLUMNS])
        count += 1
    return count


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


# --- WARC -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarcExport:
    warc: Path
    cdxj: Path
    records: int
    captures: int


def surt(url: str) -> str:
    """The SURT form of ``url`` used as a CDXJ key (``com,example)/path?a=1``)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not _is_ip(host):
        host = ",".join(reversed(host.split(".")))
    default_port = {"http": 80, "https": 443}.get(parts.scheme.lower())
    if parts.port and parts.port != default_port:
        host += f":{parts.port}"
    path = (parts.path or "/").lower()
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True))).lower()
    return f"{host}){path}" + (f"?{query}" if query else "")


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _member_at(handle: BinaryIO, offset: int) -> bytes:
    """The whole gzip member (one WARC record) starting at ``offset``."""
    handle.seek(offset)
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    taken = bytearray()
    while not decompressor.eof:
        chunk = handle.read(_CHUNK)
        if not chunk:
            raise StorageError(f"truncated WARC record at offset {offset}")
        decompressor.decompress(chunk)
        taken += chunk
    return bytes(taken[: len(taken) - len(decompressor.unused_data)])


def _parse(member: bytes) -> Any:
    return next(iter(ArchiveIterator(io.BytesIO(member))))


def export_warc(
    session: Session,
    warc_dir: Path,
    output: Path,
    site_keys: Sequence[str] = (),
    since: date | None = None,
) -> WarcExport:
    """Write the selected captures' records to ``output`` and its CDXJ index beside it."""
    if not output.name.endswith(".warc.gz"):
        raise ConfigError(f"{output}: a WARC export must be named *.warc.gz")
    stmt = select(Capture).order_by(Capture.id)
    if site_keys:
        stmt = stmt.join(Site, Site.id == Capture.site_id).where(Site.key.in_(list(site_keys)))
    moment = _since_moment(since)
    if moment is not None:
        stmt = stmt.where(Capture.fetched_at >= moment)
    selected = list(session.scalars(stmt))
    wanted: dict[int, Capture] = {c.id: c for c in selected}
    for capture in selected:  # a revisit replays only with the response it refers to
        target = capture.revisit_of_id
        while target is not None and target not in wanted:
            referred = session.get(Capture, target)
            if referred is None:
                break
            wanted[target] = referred
            target = referred.revisit_of_id
    ordered = sorted(wanted.values(), key=lambda c: c.id)

    cdxj_path = output.with_name(output.name[: -len(".warc.gz")] + ".cdxj")
    entries: list[str] = []
    records = 0
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("wb") as out:
            info = WARCWriter(out, gzip=True, warc_version="1.1")
            info.write_record(info.create_warcinfo_record(
                output.name, {"software": "nianbao export (warcio)",
                              "format": "WARC File Format 1.1"}))
            handles: dict[str, BinaryIO] = {}
            try:
                for capture in ordered:
                    path = resolve(warc_dir, capture.warc_file)
                    handle = handles.get(str(path))
                    if handle is None:
                        handle = handles[str(path)] = path.open("rb")
                    main = _member_at(handle, capture.warc_offset)
                    offset = out.tell()
                    out.write(main)
                    records += 1
                    entries.append(_cdxj_line(_parse(main), output.name, offset, len(main)))
                    following = capture.warc_offset + len(main)
                    try:
                        request = _member_at(handle, following)
                    except StorageError:
                        continue
                    record = _parse(request)
                    if record.rec_type == "request" and record.rec_headers.get_header(
                        "WARC-Concurrent-To"
                    ) == capture.warc_record_id:
                        out.write(request)
                        records += 1
            finally:
                for handle in handles.values():
                    handle.close()
        entries.sort()
        cdxj_path.write_text("".join(entries), encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"cannot write the export {output}: {exc.strerror or exc}") from None
    return WarcExport(output, cdxj_path, records, len(ordered))


def _cdxj_line(record: Any, filename: str, offset: int, length: int) -> str:
    url = record.rec_headers.get_header("WARC-Target-URI")
    date_value = record.rec_headers.get_header("WARC-Date") or ""
    timestamp = "".join(ch for ch in date_value if ch.isdigit())[:14]
    fields: dict[str, Any] = {"url": url}
    if record.http_headers is not None:
        content_type = record.http_headers.get_header("Content-Type") or ""
        fields["mime"] = content_type.split(";")[0].strip() or "unk"
        fields["status"] = record.http_headers.get_statuscode()
    if record.rec_type == "revisit":
        fields["mime"] = "warc/revisit"
    digest = record.rec_headers.get_header("WARC-Payload-Digest")
    if digest:
        fields["digest"] = digest.split(":", 1)[-1]
    fields.update({"length": str(length), "offset": str(offset), "filename": filename})
    return f"{surt(url)} {timestamp} {json.dumps(fields, ensure_ascii=False)}\n"
