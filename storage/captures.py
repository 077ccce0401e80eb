"""The capture tables: ``captures`` rows (WARC evidence of each exchange) and ``url_states``.

Functions take a session and never commit; the caller owns the transaction (the archive
writer's batch, committed only after the batch's WARC records are on disk). The ``*_many``
functions are the batch's set-based statements: one SELECT or one multi-row INSERT for the
whole batch instead of one round trip per page.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from storage.dialect import insert_statement
from storage.errors import storage_errors
from storage.models import Capture, Site, UrlState

__all__ = [
    "KnownUrl",
    "PayloadRef",
    "find_payloads",
    "insert_captures",
    "load_known_urls",
    "save_url_states",
    "site_id_of",
]


@dataclass(frozen=True)
class PayloadRef:
    """Where a payload was archived in full (a ``response`` capture)."""

    capture_id: int
    url: str
    fetched_at: datetime
    warc_file: str
    warc_record_id: str
    warc_offset: int
    sha256: str | None


@dataclass
class KnownUrl:
    """What the middleware keeps in memory about one URL of the site."""

    url: str
    page_kind: str | None
    first_seen_at: datetime
    last_checked_at: datetime
    etag: str | None
    last_modified: str | None
    payload: PayloadRef | None


@storage_errors
def site_id_of(session: Session, key: str) -> int | None:
    return session.scalar(select(Site.id).where(Site.key == key))


def _payload_ref(capture: Capture) -> PayloadRef:
    return PayloadRef(
        capture_id=capture.id,
        url=capture.url,
        fetched_at=capture.fetched_at,
        warc_file=capture.warc_file,
        warc_record_id=capture.warc_record_id,
        warc_offset=capture.warc_offset,
        sha256=capture.payload_sha256,
    )


@storage_errors
def load_known_urls(session: Session, site_id: int) -> dict[str, KnownUrl]:
    """Every URL state of the site, with the location of its current payload."""
    rows = session.execute(
        select(UrlState, Capture)
        .outerjoin(Capture, Capture.id == UrlState.payload_capture_id)
        .where(UrlState.site_id == site_id)
    ).all()
    return {
        state.url: KnownUrl(
            url=state.url,
            page_kind=state.page_kind,
            first_seen_at=state.first_seen_at,
            last_checked_at=state.last_checked_at,
            etag=state.etag,
            last_modified=state.last_modified,
            payload=_payload_ref(capture) if capture is not None else None,
        )
        for state, capture in rows
    }


@storage_errors
def find_payloads(session: Session, digests: Collection[str]) -> dict[str, PayloadRef]:
    """The first full capture of each payload digest that has one (one SELECT for a batch)."""
    found: dict[str, PayloadRef] = {}
    if not digests:
        return found
    captures = session.scalars(
        select(Capture)
        .where(Capture.payload_sha256.in_(sorted(set(digests))), Capture.record_type == "response")
        .order_by(Capture.id)
    )
    for capture in captures:
        if capture.payload_sha256 is not None:
            found.setdefault(capture.payload_sha256, _payload_ref(capture))
    return found


@storage_errors
def insert_captures(session: Session, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert capture rows with one multi-row INSERT … RETURNING; their ids, in the rows' order.

    The ids are matched back by WARC record id (unique per record), not by row order, which
    SQLite's driver cannot return for a multi-row INSERT.
    """
    if not rows:
        return []
    inserted = session.execute(insert(Capture).returning(Capture.id, Capture.warc_record_id), [dict(row) for row in rows])
    ids = {row.warc_record_id: row.id for row in inserted}
    return [ids[row["warc_record_id"]] for row in rows]


def _url_state_values(site_id: int, known: KnownUrl) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "url": known.url,
        "page_kind": known.page_kind,
        "first_seen_at": known.first_seen_at,
        "last_checked_at": known.last_checked_at,
        "etag": known.etag,
        "last_modified": known.last_modified,
        "payload_capture_id": known.payload.capture_id if known.payload else None,
    }


@storage_errors
def save_url_states(session: Session, states: Sequence[tuple[int, KnownUrl]]) -> None:
    """Insert or update many URL states at once; a URL given twice keeps its last state."""
    latest = {(site_id, known.url): _url_state_values(site_id, known) for site_id, known in states}
    if not latest:
        return
    statement = insert_statement(session, UrlState)
    changed = ("page_kind", "last_checked_at", "etag", "last_modified", "payload_capture_id")
    statement = statement.on_conflict_do_update(
        index_elements=["site_id", "url"], set_={name: statement.excluded[name] for name in changed}
    )
    session.execute(statement, list(latest.values()))
