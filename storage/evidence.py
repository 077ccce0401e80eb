"""Reading archived payloads back from their WARC records, and where those records live.

The crawler writes the WARC files (``crawler.capture.warc``); reading them back is the
archive's job: used for conditional re-crawls (a ``304`` or a page not due tonight is answered
from the archive), by ``nianbao show ID --raw`` and by the web app's per-version download and
sandboxed replay. A capture stored as a revisit points at the capture that holds the bytes
(``revisit_of_id``); :func:`payload_capture` follows that link.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from storage.errors import StorageError
from storage.models import Capture, Document, Version
from storage.paths import data_dir
from storage.settings import environment_value

__all__ = [
    "OPEN_SUFFIX",
    "ArchivedResponse",
    "payload_capture",
    "read_response",
    "resolve",
    "version_bytes",
    "version_response",
    "warc_directory",
]

WARC_DIR_SETTING = "NIANBAO_WARC_DIR"
# A WARC file being written carries this suffix until it is closed (crawler.capture.warc).
OPEN_SUFFIX = ".open"


def warc_directory(configured: str | None = None) -> Path:
    """The WARC folder: ``configured`` (a crawl's setting), else ``NIANBAO_WARC_DIR`` from the
    environment, else ``<data dir>/warc``."""
    chosen = configured or environment_value(WARC_DIR_SETTING)
    return Path(chosen) if chosen else data_dir() / "warc"


def resolve(directory: Path, name: str) -> Path:
    """The path of a WARC file by its final name, also while it is still being written."""
    path = directory / name
    if path.exists():
        return path
    open_path = directory / (name + OPEN_SUFFIX)
    return open_path if open_path.exists() else path

_MAX_HOPS = 8


@dataclass(frozen=True)
class ArchivedResponse:
    """An archived HTTP response: status, headers and body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def read_response(
    directory: Path, warc_file: str, offset: int, *, decoded: bool = False
) -> ArchivedResponse:
    """The response record at ``offset`` of ``warc_file``; StorageError when it is unreadable.

    The body is as the server sent it (any Content-Encoding still applied), or with its
    Content-Encoding removed when ``decoded``.
    """
    path = resolve(directory, warc_file)
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            record = next(iter(ArchiveIterator(handle)))
            if record.rec_type != "response" or record.http_headers is None:
                raise StorageError(f"{warc_file}@{offset}: not a response record")
            body = record.content_stream().read() if decoded else record.raw_stream.read()
            status = int(record.http_headers.get_statuscode() or 0)
            headers = list(record.http_headers.headers)
    except (OSError, StopIteration, ValueError) as exc:
        raise StorageError(f"cannot read archived record {warc_file}@{offset}: {exc}") from None
    return ArchivedResponse(status, headers, body)


def payload_capture(session: Session, capture_id: int) -> Capture:
    """The capture holding the payload of ``capture_id`` (itself, or what its revisit refers to)."""
    capture = session.get(Capture, capture_id)
    for _ in range(_MAX_HOPS):
        if capture is None:
            break
        if capture.record_type == "response":
            return capture
        if capture.revisit_of_id is None:
            break
        capture = session.get(Capture, capture.revisit_of_id)
    raise StorageError(f"capture {capture_id} has no archived payload")


def version_bytes(session: Session, directory: Path, document_id: int) -> bytes:
    """The archived page of a document's latest version, as served (Content-Encoding removed)."""
    document = session.get(Document, document_id)
    if document is None:
        raise StorageError(f"no archived report with id {document_id}")
    version = session.get(Version, document.latest_version_id) if document.latest_version_id else None
    capture_id = getattr(version, "capture_id", None)
    if capture_id is None:
        raise StorageError(f"report {document_id}: its latest version has no archived capture")
    capture = payload_capture(session, capture_id)
    return read_response(directory, capture.warc_file, capture.warc_offset, decoded=True).body


def version_response(session: Session, directory: Path, document_id: int, number: int) -> ArchivedResponse:
    """The archived response of version ``number`` of a document (Content-Encoding removed),
    whichever version it is: a citation names one version, so its evidence must stay readable
    after the page changed again. StorageError when the version or its record is not there."""
    version = session.scalars(
        select(Version).where(Version.document_id == document_id, Version.number == number)
    ).one_or_none()
    capture_id = getattr(version, "capture_id", None)
    if version is None or capture_id is None:
        raise StorageError(f"report {document_id} has no archived capture of version {number}")
    capture = payload_capture(session, capture_id)
    return read_response(directory, capture.warc_file, capture.warc_offset, decoded=True)
