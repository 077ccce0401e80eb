"""Reading archived payloads back from their WARC records.

Used for conditional re-crawls (a ``304`` or a page not due tonight is answered from the archive)
and by ``nianbao show ID --raw``. A capture stored as a revisit points at the capture that holds
the bytes (``revisit_of_id``); :func:`payload_capture` follows that link.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from crawler.capture.warc import resolve
from crawler.errors import StorageError
from storage.models_capture import Capture

__all__ = ["ArchivedResponse", "payload_capture", "read_response"]

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
    from storage.models import Document, Version

    document = session.get(Document, document_id)
    if document is None:
        raise StorageError(f"no archived report with id {document_id}")
    version = session.get(Version, document.latest_version_id) if document.latest_version_id else None
    capture_id = getattr(version, "capture_id", None)
    if capture_id is None:
        raise StorageError(f"report {document_id}: its latest version has no archived capture")
    capture = payload_capture(session, capture_id)
    return read_response(directory, capture.warc_file, capture.warc_offset, decoded=True).body
