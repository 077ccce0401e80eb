"""Recording fetched reports a batch at a time, with set-based statements.

:func:`record_reports` is what :func:`storage.archive.record_report` does for one report, done
for a whole batch of the archive writer (:mod:`crawler.writer`) in the caller's transaction: the
reports' URLs are looked up in one SELECT, the documents, versions and version numbers they need
in a few more, new documents, versions, URLs and search entries are inserted with multi-row
INSERTs, updates go out as executemany, and the run's counters get one UPDATE per site. The
result is the same as recording the reports one after another in the order given: a report
later in the batch sees the documents and versions an earlier one created.

Concurrency is handled as for one report: a report with a URL the archive does not know is
matched to a document (:class:`storage.identity.Candidates`) only after its site is locked
(:func:`storage.identity.lock_sites`), and documents that get a new version are locked (``FOR
UPDATE`` on PostgreSQL, in id order) before their version numbers are chosen, so two writers
never make two documents of one report or give two bodies one number.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session, load_only

from storage import identity
from storage.dialect import insert_statement
from storage.errors import StorageError, storage_errors
from storage.models import COUNTERS, CrawlRun, Document, DocumentUrl, Site, SiteCrawl, Version, utcnow
from storage.normalize import normalize_text
from storage.records import ReportRecord
from storage.search import index_new_versions, mark_latest

__all__ = ["RecordOutcome", "as_utc", "check_date", "increment", "record_reports", "require_run", "site_by_key"]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class RecordOutcome(enum.StrEnum):
    """What recording a fetched report did."""

    NEW_DOCUMENT = "new_document"  # first version of a document not archived before
    NEW_VERSION = "new_version"  # the body changed: another version of a known document
    UNCHANGED = "unchanged"  # the normalized body matches a version already archived

    @property
    def counter(self) -> str:
        """The SiteCrawl / CrawlRun counter this outcome increments."""
        return {
            RecordOutcome.NEW_DOCUMENT: "new_documents",
            RecordOutcome.NEW_VERSION: "new_versions",
            RecordOutcome.UNCHANGED: "unchanged",
        }[self]


@dataclass(eq=False)
class _Report:
    """One report of the batch, and what the batch has decided about it so far."""

    item: ReportRecord
    site_id: int
    seen_at: datetime
    digest: str
    metadata: dict[str, Any]
    written_date: str | None
    who: identity.ReportIdentity
    document: Document | None = None
    version: Version | None = None
    outcome: RecordOutcome = RecordOutcome.UNCHANGED


@dataclass
class _UrlSeen:
    """A (site, URL) of the batch: its row, or the document a new row is for."""

    row_id: int | None
    document_id: int | None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    new_for: _NewDocument | None = None
    seen: list[datetime] = field(default_factory=list)


@storage_errors
def record_reports(session: Session, run_id: int, items: Sequence[ReportRecord]) -> list[RecordOutcome]:
    """Archive fetched reports, in order; each one's :class:`RecordOutcome`.

    Per report, as :func:`storage.archive.record_report` describes: the document is found by URL,
    else by :mod:`storage.identity`'s rules, else created; a body the document already has is
    ``UNCHANGED`` (an older version becomes the latest again), another body is the next version;
    the document's metadata and canonical URL follow its most recent fetch.
    """
    if not items:
        return []
    require_run(session, run_id)
    site_ids = _site_ids(session, {item.site_key for item in items})
    reports = [_prepare(item, site_ids[item.site_key]) for item in items]
    locked: set[int] = set()
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has one writer at a time anyway: take the write lock before reading, so every
        # read of the batch sees what the writers before it committed (version numbers included).
        locked = {r.site_id for r in reports}
        identity.lock_sites(session, locked)

    urls = _urls_seen(session, {(r.site_id, r.item.url) for r in reports})
    _find_documents(session, run_id, reports, urls, locked)
    _choose_versions(session, run_id, reports)
    _update_documents(session, run_id, reports, urls)

    counters: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for report in reports:
        counters[report.site_id]["reports_found"] += 1
        counters[report.site_id][report.outcome.counter] += 1
    increment_sites(session, run_id, counters)
    return [report.outcome for report in reports]


# --- steps --------------------------------------------------------------------------------------


def _prepare(item: ReportRecord, site_id: int) -> _Report:
    """Check a report's dates and compute what it is compared by (no database)."""
    seen_at = as_utc(item.fetched_at) or utcnow()
    title = item.title or item.list_title
    normalized = normalize_text(item.body_text or "")
    digest = hashlib.sha256(normalized.encode("utf-8")).hexdigest()  # storage.normalize.content_hash
    metadata: dict[str, Any] = {
        "title": title,
        "index_no": item.index_no,
        "publisher": item.publisher,
        "pub_date": check_date(item.pub_date, "pub_date", item.url),
        "report_year": item.report_year,
        "missing_fields": list(item.missing_fields),
    }
    who = identity.ReportIdentity(
        url=item.url,
        index_no=identity.meaningful_index_no(item.index_no),
        report_year=item.report_year,
        title=title,
        content_hash=digest,
        substantial=identity.substantial_normalized(normalized),
    )
    return _Report(item, site_id, seen_at, digest, metadata,
                   check_date(item.written_date, "written_date", item.url), who)


def _urls_seen(session: Session, keys: set[tuple[int, str]]) -> dict[tuple[int, str], _UrlSeen]:
    """The batch's URLs the archive knows: their rows (or, for a document written without its
    URL row, the document whose own ``url`` it is)."""
    found: dict[tuple[int, str], _UrlSeen] = {}
    if not keys:
        return found
    site_ids = sorted({site_id for site_id, _ in keys})
    url_list = sorted({url for _, url in keys})
    for row in session.execute(
        select(DocumentUrl.id, DocumentUrl.site_id, DocumentUrl.url, DocumentUrl.document_id,
               DocumentUrl.first_seen_at, DocumentUrl.last_seen_at)
        .where(DocumentUrl.site_id.in_(site_ids), DocumentUrl.url.in_(url_list))
    ):
        key = (row.site_id, row.url)
        if key in keys:
            found[key] = _UrlSeen(row.id, row.document_id, as_utc(row.first_seen_at), as_utc(row.last_seen_at))
    missing = keys - found.keys()
    if missing:
        for own in session.execute(
            select(Document.id, Document.site_id, Document.url).where(
                Document.site_id.in_(sorted({s for s, _ in missing})),
                Document.url.in_(sorted({u for _, u in missing})),
            )
        ):
            key = (own.site_id, own.url)
            if key in missing:
                found[key] = _UrlSeen(None, own.id)
    return found


@dataclass(eq=False)
class _NewDocument:
    """A document the batch creates, until its INSERT gives it an id."""

    values: dict[str, Any]
    id: int | None = None


def _find_documents(session: Session, run_id: int, reports: list[_Report],
                    urls: dict[tuple[int, str], _UrlSeen], locked: set[int]) -> None:
    """Give every report its document: by URL, by the identity rules under the site's lock, or new."""
    new_url = [r for r in reports if (r.site_id, r.item.url) not in urls]
    if new_url:
        identity.lock_sites(session, {r.site_id for r in new_url} - locked)
        # A writer that held the lock before us may have added some of these URLs.
        urls.update(_urls_seen(session, {(r.site_id, r.item.url) for r in new_url}))
        new_url = [r for r in new_url if (r.site_id, r.item.url) not in urls]
    candidates = identity.Candidates.load(session, [(r.site_id, r.who) for r in new_url])

    created: list[_NewDocument] = []
    for report in reports:  # in order: a report sees what the reports before it did
        key = (report.site_id, report.item.url)
        seen = urls.get(key)
        if seen is None:
            match = candidates.match(report.site_id, report.who)
            if match is None:
                document = _NewDocument({
                    "site_id": report.site_id, "url": report.item.url, "first_seen_at": report.seen_at,
                    "last_seen_at": report.seen_at, "last_run_id": run_id, **report.metadata,
                })
                created.append(document)
                seen = urls[key] = _UrlSeen(None, None, new_for=document)
            elif isinstance(match.document_id, _NewDocument):
                seen = urls[key] = _UrlSeen(None, None, new_for=match.document_id)
            else:
                seen = urls[key] = _UrlSeen(None, match.document_id)
        if new_url:
            # After this report its document has the report's metadata and a version with its
            # body: what a later report of the batch at a new URL is compared with.
            candidates.seen(
                seen.new_for if seen.new_for is not None else seen.document_id, report.site_id,
                index_no=report.item.index_no, title=report.metadata["title"],
                report_year=report.item.report_year, content_hash=report.digest,
            )

    if created:
        # One multi-row INSERT; ids matched back by (site, url), unique among documents.
        inserted = session.execute(
            insert(Document).returning(Document.id, Document.site_id, Document.url),
            [document.values for document in created],
        )
        ids = {(row.site_id, row.url): row.id for row in inserted}
        for document in created:
            document.id = ids[(document.values["site_id"], document.values["url"])]
    for seen in urls.values():
        if seen.new_for is not None:
            seen.document_id = seen.new_for.id
    wanted = sorted({seen.document_id for seen in urls.values() if seen.document_id is not None})
    documents = {
        document.id: document
        for document in session.scalars(
            select(Document).where(Document.id.in_(wanted)).execution_options(populate_existing=True)
        )
    } if wanted else {}
    for report in reports:
        seen = urls[(report.site_id, report.item.url)]
        loaded = documents.get(seen.document_id) if seen.document_id is not None else None
        if loaded is None:  # only possible above READ COMMITTED isolation
            raise StorageError(f"report {report.item.url}: the document row could not be read back")
        report.document = loaded


def _choose_versions(session: Session, run_id: int, reports: list[_Report]) -> None:
    """Find each report's version by content, or add the next one (numbers chosen under a lock)."""
    # Documents created by this batch have no versions yet; the others may have this content.
    older = sorted({r.document.id for r in reports if r.document is not None and r.document.latest_version_id is not None})
    digests = {r.digest for r in reports}
    versions = _versions(session, older, digests)
    wanting = sorted({r.document.id for r in reports if r.document is not None and r.document.id in set(older)
                      and (r.document.id, r.digest) not in versions})
    numbers: dict[int, int] = {}
    if wanting:
        # New content for known documents: lock them (PostgreSQL; SQLite serializes writers anyway),
        # in id order, then look again -- the writer before us may have stored these very bodies.
        session.execute(select(Document.id).where(Document.id.in_(wanting)).order_by(Document.id).with_for_update())
        versions.update(_versions(session, wanting, digests))
        for document_id, number in session.execute(
            select(Version.document_id, func.max(Version.number))
            .where(Version.document_id.in_(wanting)).group_by(Version.document_id)
        ):
            numbers[document_id] = int(number or 0)

    added: list[tuple[_Report, dict[str, Any]]] = []
    new_versions: dict[tuple[int, str], dict[str, Any]] = {}  # this batch's, by (document, content)
    for report in reports:
        document = report.document
        assert document is not None
        key = (document.id, report.digest)
        version = versions.get(key)
        if version is not None or key in new_versions:  # archived before, or added earlier in the batch
            report.version = version
            report.outcome = RecordOutcome.UNCHANGED
            continue
        number = numbers[document.id] = numbers.get(document.id, 0) + 1
        item = report.item
        values = new_versions[key] = {
            "document_id": document.id,
            "number": number,
            "content_hash": report.digest,
            **report.metadata,
            "written_date": report.written_date,
            "doc_no": item.doc_no,
            "topic": item.topic,
            "body_text": item.body_text or "",
            "attachments": list(item.attachments),
            "encoding": item.encoding,
            # statistics tables (crawler.extract.tables) and image-only marking
            "tables": item.tables,
            "has_tables": bool(item.tables and item.tables.get("format") in ("2019", "2021")),
            "image_only": bool(item.image_only),
            # the body's sections as the extraction found them (offsets into body_text)
            "sections": list(item.sections) if item.sections is not None else None,
            "capture_id": item.capture_id,  # the WARC evidence of this content
            "first_seen_at": report.seen_at,
            "last_seen_at": report.seen_at,
            "first_run_id": run_id,
            "last_run_id": run_id,
        }
        report.outcome = RecordOutcome.NEW_DOCUMENT if number == 1 else RecordOutcome.NEW_VERSION
        added.append((report, values))
    if added:
        # One multi-row INSERT; ids matched back by (document, content hash), unique among
        # versions, then the rows read once (the search index and the documents need them).
        inserted = session.execute(
            insert(Version).returning(Version.id, Version.document_id, Version.content_hash),
            [values for _, values in added],
        )
        ids = [row.id for row in inserted]
        for version in session.scalars(select(Version).where(Version.id.in_(sorted(ids)))):
            versions[(version.document_id, version.content_hash)] = version
        index_new_versions(
            session, [(versions[(values["document_id"], values["content_hash"])], report.site_id) for report, values in added]
        )
    for report in reports:
        assert report.document is not None
        report.version = versions[(report.document.id, report.digest)]


def _versions(session: Session, document_ids: Sequence[int], digests: set[str]) -> dict[tuple[int, str], Version]:
    if not document_ids:
        return {}
    return {
        (version.document_id, version.content_hash): version
        for version in session.scalars(
            select(Version)
            .where(Version.document_id.in_(document_ids), Version.content_hash.in_(sorted(digests)))
            # what a known body needs (its seen times); bodies and tables stay in the database
            .options(load_only(Version.id, Version.document_id, Version.number, Version.content_hash,
                               Version.last_seen_at, Version.last_run_id))
        )
    }


def _update_documents(session: Session, run_id: int, reports: list[_Report],
                      urls: dict[tuple[int, str], _UrlSeen]) -> None:
    """Refresh each document from its reports, in order; record URLs; flag latest versions."""
    latest_before = {id(r.document): r.document.latest_version_id for r in reports if r.document is not None}
    for report in reports:
        document, version = report.document, report.version
        assert document is not None and version is not None
        if report.outcome is RecordOutcome.UNCHANGED:
            version.last_seen_at = max(as_utc(version.last_seen_at) or report.seen_at, report.seen_at)
            version.last_run_id = run_id
        for name, value in report.metadata.items():
            if getattr(document, name) != value:
                setattr(document, name, value)
        last_seen = as_utc(document.last_seen_at) or report.seen_at
        # The canonical URL is the one the report was fetched at most recently (a URL of this
        # very document, so no other document of the site has it).
        if document.url != report.item.url and report.seen_at >= last_seen:
            document.url = report.item.url
        document.last_seen_at = max(last_seen, report.seen_at)
        document.last_run_id = run_id
        if document.latest_version_id != version.id:
            document.latest_version_id = version.id
        urls[(report.site_id, report.item.url)].seen.append(report.seen_at)

    _record_urls(session, reports, urls)
    # The search index's latest flag: a new document's first entry was written with it set.
    flagged: set[int] = set()
    for report in reversed(reports):
        document, version = report.document, report.version
        assert document is not None and version is not None
        if document.id in flagged:
            continue
        flagged.add(document.id)
        if latest_before[id(document)] != document.latest_version_id and not (
            version.number == 1 and report.outcome is RecordOutcome.NEW_DOCUMENT
        ):
            mark_latest(session, document.id, version.id)
    session.flush()


def _record_urls(session: Session, reports: list[_Report], urls: dict[tuple[int, str], _UrlSeen]) -> None:
    """Add the batch's new URLs to their documents; move known ones' first/last seen times."""
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for (site_id, url), seen in urls.items():
        if not seen.seen:
            continue
        earliest, latest = min(seen.seen), max(seen.seen)
        if seen.row_id is None:
            added.append({"document_id": seen.document_id, "site_id": site_id, "url": url,
                          "first_seen_at": earliest, "last_seen_at": latest})
            continue
        first = min(seen.first_seen_at or earliest, earliest)
        last = max(seen.last_seen_at or latest, latest)
        if first != seen.first_seen_at or last != seen.last_seen_at:
            changed.append({"id": seen.row_id, "first_seen_at": first, "last_seen_at": last})
    if added:
        # One multi-row INSERT. A URL is "new" here also when another writer committed it between
        # our two lookups (its row after the first, its document before the second): then the
        # row exists, and only its seen times move.
        statement = insert_statement(session, DocumentUrl)
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["site_id", "url"],
            set_={
                "first_seen_at": case((DocumentUrl.first_seen_at > excluded.first_seen_at, excluded.first_seen_at),
                                      else_=DocumentUrl.first_seen_at),
                "last_seen_at": case((DocumentUrl.last_seen_at < excluded.last_seen_at, excluded.last_seen_at),
                                     else_=DocumentUrl.last_seen_at),
            },
        )
        session.execute(statement, added)
    if changed:
        session.execute(update(DocumentUrl), changed)  # executemany by primary key


# --- helpers shared with storage.archive ----------------------------------------------------------


def site_by_key(session: Session, key: str, *, refresh: bool = False) -> Site:
    stmt = select(Site).where(Site.key == key)
    if refresh:
        stmt = stmt.execution_options(populate_existing=True)
    site = session.scalars(stmt).one_or_none()
    if site is None:
        raise _unknown_site(key)
    return site


def _site_ids(session: Session, keys: set[str]) -> dict[str, int]:
    found = dict(session.execute(select(Site.key, Site.id).where(Site.key.in_(sorted(keys)))).all())
    missing = sorted(keys - found.keys())
    if missing:
        raise _unknown_site(missing[0])
    return found


def _unknown_site(key: str) -> StorageError:
    return StorageError(f"unknown site '{key}': sync the site before recording its pages")


def require_run(session: Session, run_id: int) -> CrawlRun:
    run = session.get(CrawlRun, run_id)
    if run is None:
        raise StorageError(f"no crawl run with id {run_id}")
    return run


def increment(session: Session, run_id: int, site_id: int, **counters: int) -> None:
    """Add to the site crawl's counters in SQL, so concurrent writers do not lose updates."""
    increment_sites(session, run_id, {site_id: counters})


def increment_sites(session: Session, run_id: int, counters: Mapping[int, Mapping[str, int]]) -> None:
    """:func:`increment` for several sites: one multi-row INSERT for the site crawls a run does
    not have yet, one UPDATE statement run for every site (in site order, so concurrent writers
    take the rows' locks in the same order)."""
    if not counters:
        return
    unknown = {name for amounts in counters.values() for name in amounts} - set(COUNTERS)
    if unknown:
        raise ValueError(f"no such site crawl counter: {', '.join(sorted(unknown))}")
    sites = sorted(counters)
    session.execute(  # one multi-row INSERT (storage.dialect.insert_statement), whatever the number of sites
        insert_statement(session, SiteCrawl).on_conflict_do_nothing(),
        [{"run_id": run_id, "site_id": site_id, "status": "running"} for site_id in sites],
    )
    table = cast(Table, SiteCrawl.__table__)
    session.execute(
        update(table)
        .where(table.c.run_id == bindparam("crawl_run"), table.c.site_id == bindparam("crawl_site"))
        .values({name: table.c[name] + bindparam(f"add_{name}") for name in COUNTERS}),
        [
            {"crawl_run": run_id, "crawl_site": site_id,
             **{f"add_{name}": counters[site_id].get(name, 0) for name in COUNTERS}}
            for site_id in sites
        ],
    )
    # Site crawls this session already holds show the new counts (as the ORM update did).
    for crawl in session.identity_map.values():
        if isinstance(crawl, SiteCrawl) and crawl.run_id == run_id and crawl.site_id in counters:
            session.expire(crawl, list(COUNTERS))


def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def check_date(value: str | None, field: str, url: str) -> str | None:
    """``value`` when it is a real date written YYYY-MM-DD; None for no date."""
    if not value:
        return None
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        date.fromisoformat(value)
        return value
    except (TypeError, ValueError):
        raise StorageError(f"report {url}: {field} must be YYYY-MM-DD (got {value!r})") from None
