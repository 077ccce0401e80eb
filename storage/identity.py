"""Which archived document a fetched report is: one document per report, wherever it moves.

Sites move reports: a column is reorganised under a new path, the bureau moves to a new domain,
a new CMS re-publishes every page. A report found at a URL the archive does not know yet joins
an existing document of the same site when, in this order:

1. **URL** -- the URL is already one of the document's URLs (:class:`~storage.models.
   DocumentUrl`, or the document's own ``url``);
2. **索引号** -- its index number is the document's, and their report years do not differ;
3. **year and title** -- the same report year (both known) and the same :func:`normalize_title`
   (NFKC, case, whitespace and punctuation ignored), unless both have an index number and the
   two differ (a portal listing several bodies' reports under one generic title gives each its
   own 索引号);
4. **content** -- the normalized body (:func:`storage.normalize.content_hash`) equals a version of
   the document, the body is substantial (:func:`substantial_body`: a page that is only a link to
   its attachment, or empty, says nothing about which report it is), and the report years do not
   differ.

Among several matching documents the oldest (lowest id) wins. The year and index-number guards
are there because merging two different reports loses one from the counts, which is worse than
keeping a moved report twice.

:func:`normalize_title`, :func:`meaningful_index_no` and :func:`substantial_body` are pure; the
lookups take a session and never write, except :func:`lock_sites`. Migration 0008 applies a
frozen copy of these rules to the documents archived before it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from storage.errors import storage_errors
from storage.models import Document, DocumentUrl, Site, Version
from storage.normalize import normalize_text

__all__ = [
    "MIN_BODY_CHARS",
    "RULES",
    "Candidates",
    "Match",
    "ReportIdentity",
    "document_by_url",
    "find_document",
    "lock_sites",
    "meaningful_index_no",
    "normalize_title",
    "substantial_body",
    "substantial_normalized",
    "urls_of",
]

#: A body counts for the content rule from this many characters (whitespace not counted) of
#: normalized text: a full report has thousands, an attachment-only page a line or two.
MIN_BODY_CHARS = 200

#: The matching rules, in the order they are tried.
RULES = ("url", "index_no", "title", "content")

# Dropped from titles: punctuation (P*), separators (Z*), controls and format characters.
_DROPPED_CATEGORIES = ("P", "Z", "Cc", "Cf")


def normalize_title(title: str | None) -> str:
    """``title`` as compared by the title rule: NFKC, case-folded, without whitespace (NBSP and
    U+3000 included) or punctuation. ``"莆田市统计局 2023年 政府信息公开工作年度报告"`` and
    ``"莆田市统计局2023年政府信息公开工作年度报告。"`` are the same; ``""`` for no title."""
    normalized = unicodedata.normalize("NFKC", title or "").casefold()
    return "".join(
        ch
        for ch in normalized
        if not ch.isspace() and not unicodedata.category(ch).startswith(_DROPPED_CATEGORIES)
    )


def meaningful_index_no(index_no: str | None) -> str | None:
    """The index number stripped, or None when there is none or it has no letter or digit
    (``"无"`` is a word and stays; ``"-"``, ``"/"`` or blanks are not an index number)."""
    value = (index_no or "").strip()
    if not any(ch.isalnum() for ch in value):
        return None
    return value


def substantial_body(body_text: str | None) -> bool:
    """Whether the body is long enough for the content rule (:data:`MIN_BODY_CHARS`)."""
    return substantial_normalized(normalize_text(body_text or ""))


def substantial_normalized(normalized: str) -> bool:
    """:func:`substantial_body` of a body already normalized (:func:`~storage.normalize.normalize_text`)."""
    return len("".join(normalized.split())) >= MIN_BODY_CHARS  # split() drops exactly the isspace() characters


@dataclass(frozen=True)
class ReportIdentity:
    """What the rules look at in a fetched report."""

    url: str
    index_no: str | None
    report_year: int | None
    title: str | None
    content_hash: str
    substantial: bool

    @classmethod
    def of(
        cls,
        *,
        url: str,
        index_no: str | None,
        report_year: int | None,
        title: str | None,
        body_text: str | None,
        content_hash: str,
    ) -> ReportIdentity:
        return cls(
            url=url,
            index_no=meaningful_index_no(index_no),
            report_year=report_year,
            title=title,
            content_hash=content_hash,
            substantial=substantial_body(body_text),
        )


class Match(NamedTuple):
    """The document a report is, and the rule that said so (one of :data:`RULES`)."""

    document_id: int
    rule: str


def _years_differ(a: int | None, b: int | None) -> bool:
    return a is not None and b is not None and a != b


@storage_errors
def document_by_url(session: Session, site_id: int, url: str) -> int | None:
    """The id of the site's document that has ``url`` among its URLs, or None."""
    found = session.scalar(
        select(DocumentUrl.document_id).where(DocumentUrl.site_id == site_id, DocumentUrl.url == url)
    )
    if found is None:  # a document written without its URL row (bulk loads)
        found = session.scalar(select(Document.id).where(Document.site_id == site_id, Document.url == url))
    return found


@storage_errors
def find_document(session: Session, site_id: int, report: ReportIdentity) -> Match | None:
    """The site's document this report is, by the first rule that finds one (module docstring):
    its URL, else :class:`Candidates` (rules 2-4) for this one report."""
    document_id = document_by_url(session, site_id, report.url)
    if document_id is not None:
        return Match(document_id, "url")
    return Candidates.load(session, [(site_id, report)]).match(site_id, report)


@dataclass
class _Known:
    """A document as the rules see it; ``ref`` is its id, or for a document the batch is
    creating, whatever the batch knows it by until the INSERT gives it an id."""

    ref: Any
    order: tuple[int, int]  # oldest first: (0, id) for archived documents, (1, n) for the batch's
    site_id: int
    index_no: str | None
    report_year: int | None
    title: str | None
    content_hashes: set[str] = field(default_factory=set)
    _normalized_title: str | None = None

    @property
    def normalized_title(self) -> str:
        if self._normalized_title is None:
            self._normalized_title = normalize_title(self.title)
        return self._normalized_title


class Candidates:
    """:func:`find_document`'s rules 2-4 for a whole batch of reports with new URLs: the
    documents the batch's reports could join are read in three SELECTs (same 索引号, same site
    and year, same content), then each report is matched in memory, in order.

    As the batch goes, :meth:`seen` tells it what each report did to its document (its 索引号,
    title and year now, a version with its body), new documents included, so a later report is
    compared with the documents as they are at that point -- as if the reports were recorded
    one by one. Among several matches the oldest still wins (archived documents by id, then the
    batch's own in the order it created them)."""

    def __init__(self) -> None:
        self._documents: dict[Any, _Known] = {}
        self._created = 0

    @classmethod
    @storage_errors
    def load(cls, session: Session, reports: Sequence[tuple[int, ReportIdentity]]) -> Candidates:
        candidates = cls()
        site_ids = sorted({site_id for site_id, _ in reports})
        if not site_ids:
            return candidates
        found = candidates._documents

        def known(row: Any) -> _Known:
            entry = found.get(row.id)
            if entry is None:
                entry = found[row.id] = _Known(row.id, (0, row.id), row.site_id, row.index_no, row.report_year,
                                               row.title)
            return entry

        columns = (Document.id, Document.site_id, Document.index_no, Document.report_year, Document.title)
        index_nos = sorted({r.index_no for _, r in reports if r.index_no is not None})
        if index_nos:
            for row in session.execute(
                select(*columns).where(Document.site_id.in_(site_ids), Document.index_no.in_(index_nos))
            ):
                known(row)
        years = sorted({r.report_year for _, r in reports if r.report_year is not None and normalize_title(r.title)})
        if years:
            for row in session.execute(
                select(*columns).where(Document.site_id.in_(site_ids), Document.report_year.in_(years))
            ):
                known(row)
        hashes = sorted({r.content_hash for _, r in reports if r.substantial})
        if hashes:
            for hashed in session.execute(
                select(*columns, Version.content_hash)
                .join(Version, Version.document_id == Document.id)
                .where(Document.site_id.in_(site_ids), Version.content_hash.in_(hashes))
            ):
                known(hashed).content_hashes.add(hashed.content_hash)
        return candidates

    def seen(self, ref: Any, site_id: int, *, index_no: str | None, title: str | None,
             report_year: int | None, content_hash: str) -> None:
        """A report of the batch was recorded as document ``ref`` (an id, or a document the
        batch creates): the document now has its metadata and a version with its body."""
        entry = self._documents.get(ref)
        if entry is None:
            order = (0, ref) if isinstance(ref, int) else (1, self._created)
            if not isinstance(ref, int):
                self._created += 1
            entry = self._documents[ref] = _Known(ref, order, site_id, index_no, report_year, title)
        else:
            entry.index_no, entry.report_year = index_no, report_year
            if entry.title != title:
                entry.title, entry._normalized_title = title, None
        entry.content_hashes.add(content_hash)

    def match(self, site_id: int, report: ReportIdentity) -> Match | None:
        """The first rule that finds a document for ``report`` (its URL is known to be new)."""
        documents = sorted((e for e in self._documents.values() if e.site_id == site_id), key=lambda e: e.order)
        if report.index_no is not None:
            for entry in documents:
                if entry.index_no == report.index_no and not _years_differ(entry.report_year, report.report_year):
                    return Match(entry.ref, "index_no")
        title = normalize_title(report.title)
        if title and report.report_year is not None:
            for entry in documents:
                if entry.report_year != report.report_year:
                    continue
                other_index_no = meaningful_index_no(entry.index_no)
                if report.index_no and other_index_no and report.index_no != other_index_no:
                    continue
                if entry.normalized_title == title:
                    return Match(entry.ref, "title")
        if report.substantial:
            for entry in documents:
                if report.content_hash in entry.content_hashes and (
                    report.report_year is None or entry.report_year in (None, report.report_year)
                ):
                    return Match(entry.ref, "content")
        return None


@storage_errors
def lock_sites(session: Session, site_ids: Collection[int]) -> None:
    """Make writers that add a URL or a document to these sites take turns, until commit; one
    statement for all of them.

    PostgreSQL: ``FOR NO KEY UPDATE`` on the site rows, taken in id order so that two writers
    locking overlapping sets cannot deadlock (it does not block the foreign-key checks of rows
    that reference the sites). SQLite: a no-op write, which takes the database's write lock now
    (one lock for the whole file), so the lookups that follow see every committed document.
    """
    if not site_ids:
        return
    ordered = sorted(site_ids)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(Site.id).where(Site.id.in_(ordered)).order_by(Site.id).with_for_update(key_share=True))
    else:
        # (not the key column: an update of a referenced key makes SQLite check every child table)
        session.execute(
            text("UPDATE sites SET updated_at = updated_at WHERE id IN :ids").bindparams(bindparam("ids", expanding=True)),
            {"ids": ordered},
        )


@storage_errors
def urls_of(session: Session, document_id: int) -> list[DocumentUrl]:
    """The document's URLs, most recently seen first."""
    return list(
        session.scalars(
            select(DocumentUrl)
            .where(DocumentUrl.document_id == document_id)
            .order_by(DocumentUrl.last_seen_at.desc(), DocumentUrl.id.desc())
        ).all()
    )
