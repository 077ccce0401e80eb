"""Full-text search over the archive, for Chinese: CJK bigrams in an index on both backends.

Chinese has no spaces, so a word index needs a segmenter; instead, as Lucene's CJKAnalyzer does,
every run of CJK characters is indexed as its overlapping character bigrams (政府信息 -> 政府 府信
信息). A query becomes the phrase of its own bigrams, so any 2-character word and any longer
phrase matches, with no dictionary. Two additions make every query length work:

- a run's last character is also indexed on its own (a 1-character run is just that character),
  so a 1-character query is the prefix query ``字*``: each character of the text starts a bigram
  or is a run's last character;
- Latin letters and digits form lower-cased word tokens (``PDF``, ``2023``).

The index: on SQLite a contentless FTS5 table ``search_fts`` (title, body and attachment text as
space-separated tokens); on PostgreSQL a ``tsvector`` built from the same tokens with positions
and weights, in ``search_entries.tsv`` under a GIN index, plus a lexeme signature. Relevance is
the same on both: BM25 computed from the reports' text (title weighted up) for the rank window.
Either way, one row per version; a search looks at each document's latest version unless asked
for the history. Two things keep a word found in nearly every report (政府) cheap:

- each index row's key is :func:`sort_key` (publication date, then version id), so the index
  yields matches newest first: a date-sorted page, or the :data:`RANK_WINDOW` matches that
  relevance ranks, is read from the front of the index and the rest is never touched;
- the site and report-year filters are indexed as facet tokens (``s7``, ``y2023``) and
  intersected with the words inside the index, so a narrow filter costs only what it keeps.

User input is always data. A query is reduced to tokens made only of letters, digits and CJK
characters; the FTS5 expression and the tsquery are assembled from those quoted tokens and passed
as bound parameters, never spliced into SQL. Anything else (quotes, ``NEAR(``, ``*``,
``column:``, SQL, control characters) is a separator, and a query with no tokens finds nothing.

Snippets are cut from the stored text (the index does not keep it) and come back as
``(text, is_hit)`` segments, so the CLI prints them plainly and templates escape them.
"""

from __future__ import annotations

import json
import math
import re
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, column, delete, func, select, table, text, update
from sqlalchemy.orm import Session, load_only

from storage.models import Document, Site, Version, utcnow
from storage.models_search import FTS_TABLE, SIGNATURE_BITS, SearchEntry
from storage.sections import SectionFilter, parse_section_filter

__all__ = [
    "FTS5_DDL",
    "RANK_WINDOW",
    "SORTS",
    "BulkRow",
    "Phrase",
    "SearchFilters",
    "SearchHit",
    "SearchPage",
    "facet_tokens",
    "fts5_query",
    "highlight",
    "index_new_version",
    "index_rows",
    "index_tokens",
    "mark_latest",
    "query_phrases",
    "refresh_attachments",
    "reindex_missing",
    "remove_entries",
    "reindex_version",
    "search",
    "signature",
    "snippet",
    "sort_key",
    "tsquery_literal",
    "tsvector_literal",
]

# CJK ideographs (unified, extension A, compatibility, extensions B and beyond), kana, hangul.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
# A CJK run, or a word of other letters and digits (``[^\W_]`` minus CJK).
_TOKEN_RUN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>(?:(?![{_CJK}])[^\W_])+)")
# A query segment: letters, digits and CJK without separators between them.
_SEGMENT = re.compile(r"[^\W_]+")

FTS5_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    "title, body, attachments, facets, content='', tokenize='unicode61 remove_diacritics 0')"
)
#: The columns a user's words are looked for in (``facets`` holds the filter tokens).
_TEXT_COLUMNS = "{title body attachments}"
#: tsvector weights on PostgreSQL per section (so ts_rank in ad-hoc SQL ranks titles highest).
_TSV_WEIGHTS = ("A", "D", "D", "B")
#: Facet lexemes on PostgreSQL start with a character query tokens never contain.
_FACET_MARK = "#"
#: Longest report-year range a filter turns into index facets (longer: checked on rows only).
_MAX_FACET_YEARS = 40
# tsvector limits: positions go up to 16383, a lexeme keeps at most 256 positions.
_MAX_POSITION = 16383
_MAX_POSITIONS_PER_LEXEME = 256
_SNIPPET_WIDTH = 120
#: Relevance ranks this many of the most recently published matches (all when fewer match):
#: enough for several pages of results, and what keeps a word found in every report cheap.
RANK_WINDOW = 200
_EPOCH = date(1900, 1, 1)
_ID_BITS = 32
_ID_MASK = (1 << _ID_BITS) - 1
SORTS = ("relevance", "date", "date_asc")


# --- tokens -----------------------------------------------------------------------------------


def index_tokens(text: str | None) -> list[str]:
    """The index tokens of ``text``: CJK bigrams plus each run's last character, Latin words."""
    tokens: list[str] = []
    for match in _TOKEN_RUN.finditer((text or "").lower()):
        run = match.group("cjk")
        if run is None:
            tokens.append(match.group("word"))
            continue
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        tokens.append(run[-1])
    return tokens


@dataclass(frozen=True)
class Phrase:
    """Tokens that must occur in a row; ``prefix``: the last one may be the start of a token."""

    tokens: tuple[str, ...]
    prefix: bool = False


def query_phrases(query: str | None) -> list[Phrase]:
    """The phrases a query asks for, all of which must match (empty: the query finds nothing).

    Each segment of letters/digits/CJK between separators becomes a phrase of the same tokens
    the indexed text produces for it. A trailing 1-character CJK run becomes a prefix token, as
    in the text it may be the first half of a bigram.
    """
    phrases: list[Phrase] = []
    for segment in _SEGMENT.findall((query or "").lower()):
        runs = list(_TOKEN_RUN.finditer(segment))
        tokens: list[str] = []
        prefix = False
        for position, match in enumerate(runs):
            last = position == len(runs) - 1
            run = match.group("cjk")
            if run is None:
                tokens.append(match.group("word"))
            elif len(run) == 1:
                tokens.append(run)
                prefix = last
            else:
                tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
                if not last:  # the text has the run's last character here too
                    tokens.append(run[-1])
        if tokens:
            phrase = Phrase(tuple(tokens), prefix)
            if phrase not in phrases:
                phrases.append(phrase)
    return phrases


def fts5_query(phrases: Sequence[Phrase], facets: Sequence[Sequence[str]] = ()) -> str:
    """An FTS5 MATCH expression: quoted phrases joined by AND, in the text columns, and for each
    facet group (alternatives, e.g. the sites asked for) one of its tokens in ``facets``.

    Tokens never contain quotes, so quoting them is enough to keep any syntax out.
    """
    parts = []
    for phrase in phrases:
        quoted = '"' + " ".join(phrase.tokens) + '"'
        parts.append(quoted + " *" if phrase.prefix else quoted)
    expression = f"{_TEXT_COLUMNS} : (" + " AND ".join(parts) + ")"
    for group in facets:
        expression += " AND facets : (" + " OR ".join(f'"{token}"' for token in group) + ")"
    return expression


def tsquery_literal(phrases: Sequence[Phrase], facets: Sequence[Sequence[str]] = ()) -> str:
    """A tsquery in its text form: ``('政府' <-> '府信') & '公':* & ('#s7' | '#s9')``."""
    parts = []
    for phrase in phrases:
        lexemes = [f"'{token}'" for token in phrase.tokens]
        if phrase.prefix:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")" if len(lexemes) > 1 else lexemes[0])
    for group in facets:
        alternatives = [f"'{_FACET_MARK}{token}'" for token in group]
        parts.append("(" + " | ".join(alternatives) + ")" if len(alternatives) > 1 else alternatives[0])
    return " & ".join(parts)


def facet_tokens(site_id: int | None, report_year: int | None) -> list[str]:
    """The filter tokens indexed with a version: its site and its report year."""
    tokens = []
    if site_id is not None:
        tokens.append(f"s{int(site_id)}")
    if report_year is not None:
        tokens.append(f"y{int(report_year)}")
    return tokens


def tsvector_literal(sections: Sequence[Sequence[str]]) -> str:
    """A tsvector in its text form from token lists (title, body, attachments), with positions,
    plus facet lexemes (``#s7``, ``#y2023``) when a fourth list is given.

    Positions run on across sections. Past position 16383 (PostgreSQL's limit) a lexeme is still
    indexed, without further positions, so long reports match every term but phrase positions
    are exact in the first 16383 tokens only.
    """
    return _tsvector_text(_lexeme_positions(sections))


def _lexeme_positions(sections: Sequence[Sequence[str]]) -> dict[str, list[str]]:
    """Each lexeme of :func:`tsvector_literal`'s sections with its weighted positions."""
    positions: dict[str, list[str]] = {}
    position = 0
    for index, (tokens, weight) in enumerate(zip(sections, _TSV_WEIGHTS, strict=False)):
        for token in tokens:
            if index == 3:
                token = _FACET_MARK + token
            position += 1
            kept = positions.setdefault(token, [])
            if position <= _MAX_POSITION and len(kept) < _MAX_POSITIONS_PER_LEXEME:
                kept.append(f"{position}{weight}")
    return positions


def _tsvector_text(positions: dict[str, list[str]]) -> str:
    return " ".join(
        f"'{token}':{','.join(kept)}" if kept else f"'{token}'" for token, kept in positions.items()
    )


# --- writing the index ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Indexed:
    title: list[str]
    body: list[str]
    attachments: list[str]
    attachment_ids: list[int]
    facets: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.title) + len(self.body) + len(self.attachments)


def _attachment_texts(session: Session, version_id: int, only: Sequence[int] | None = None) -> tuple[list[int], list[str]]:
    """(ids, texts) of the version's attachments with extracted text (when that table exists)."""
    try:
        from storage.models_extraction import Attachment, AttachmentLink
    except ImportError:
        return [], []
    stmt = (
        select(Attachment.id, Attachment.text)
        .join(AttachmentLink, AttachmentLink.attachment_id == Attachment.id)
        .where(AttachmentLink.version_id == version_id, Attachment.text.is_not(None))
        .order_by(Attachment.id)
        .distinct()
    )
    if only is not None:
        if not only:
            return [], []
        stmt = (
            select(Attachment.id, Attachment.text)
            .where(Attachment.id.in_(list(only)), Attachment.text.is_not(None))
            .order_by(Attachment.id)
        )
    rows = session.execute(stmt).all()
    return [row[0] for row in rows], [row[1] or "" for row in rows]


def _tokens_of(
    session: Session, row: Any, attachment_ids: Sequence[int] | None = None
) -> _Indexed:
    """Tokens of a version row (id, site_id, report_year, title, body_text) and its attachments."""
    ids, texts = _attachment_texts(session, row.id, attachment_ids)
    return _Indexed(
        title=index_tokens(row.title),
        body=index_tokens(row.body_text),
        attachments=[token for text_ in texts for token in index_tokens(text_)],
        attachment_ids=ids,
        facets=facet_tokens(row.site_id, row.report_year),
    )


def _version_row(session: Session, version_id: int) -> Any:
    return session.execute(
        select(Version.id, Version.document_id, Document.site_id, Version.report_year, Version.pub_date, Version.title, Version.body_text)
        .join(Document, Document.id == Version.document_id)
        .where(Version.id == version_id)
    ).one_or_none()


def sort_key(version_id: int, pub_date: str | None) -> int:
    """The version's place in date order: days since 1900 of its publication date, then its id.

    ``days << 32 | version_id``: on SQLite this is the FTS5 rowid, so FTS5 yields matches newest
    first by itself and a date-sorted or rank-windowed search stops after a page; on PostgreSQL
    an indexed column serves the same. Undated versions sort as oldest.
    """
    days = 0
    if pub_date:
        try:
            days = max(0, (date.fromisoformat(pub_date) - _EPOCH).days + 1)
        except ValueError:
            days = 0
    return (days << _ID_BITS) | (version_id & _ID_MASK)


@dataclass(frozen=True)
class _Entry:
    version_id: int
    document_id: int
    pub_date: str | None
    indexed: _Indexed
    latest: bool = True
    site_id: int | None = None
    report_year: int | None = None

    @property
    def key(self) -> int:
        return sort_key(self.version_id, self.pub_date)


def _entry_of(session: Session, row: Any, latest: bool) -> _Entry:
    """The index entry of a version row (id, document_id, site_id, report_year, pub_date, ...)."""
    return _Entry(
        row.id, row.document_id, row.pub_date, _tokens_of(session, row), latest,
        site_id=row.site_id, report_year=row.report_year,
    )


def signature(lexemes: Iterable[str]) -> str:
    """A row's lexeme signature as the text of a ``bit(SIGNATURE_BITS)``: bit ``crc32(lexeme)
    mod SIGNATURE_BITS`` set for each lexeme (facets with their ``#`` mark, as in the tsvector).

    A query's signature has the bits of the lexemes every match must contain, so a row whose
    signature lacks one of them cannot match and its tsvector need not be read; a row that has
    them all may still not match (another lexeme set the bit) and is checked on the tsvector.
    """
    bits = bytearray(SIGNATURE_BITS // 8)
    for lexeme in set(lexemes):
        bit = zlib.crc32(lexeme.encode("utf-8")) % SIGNATURE_BITS
        bits[bit >> 3] |= 0x80 >> (bit & 7)
    return "".join(_BYTE_BITS[byte] for byte in bits)


_BYTE_BITS = [format(byte, "08b") for byte in range(256)]


def _write_many(session: Session, entries: Sequence[_Entry]) -> None:
    """Insert index rows and their search entries (all values as bound parameters)."""
    if not entries:
        return
    now = utcnow()
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            text(f"INSERT INTO {FTS_TABLE}(rowid, title, body, attachments, facets) VALUES (:id, :t, :b, :a, :f)"),
            [{"id": e.key, **_fts_values(e.indexed)} for e in entries],
        )
        session.execute(
            SearchEntry.__table__.insert(),
            [
                {"version_id": e.version_id, "document_id": e.document_id, "sort_key": e.key, "latest": e.latest, "tokens": e.indexed.count,
                 "attachment_ids": e.indexed.attachment_ids, "indexed_at": now, "site_id": e.site_id, "report_year": e.report_year}
                for e in entries
            ],
        )
        return
    # PostgreSQL: the tsvector goes in as its text form, cast by the server; execute_values
    # sends the batch in a few statements instead of one round trip per row.
    from psycopg2.extras import execute_values

    rows = []
    for e in entries:
        # One pass over the tokens serves both: the tsvector's lexemes are the signature's.
        positions = _lexeme_positions([e.indexed.title, e.indexed.body, e.indexed.attachments, e.indexed.facets])
        rows.append((e.version_id, e.document_id, e.key, e.latest, e.indexed.count, json.dumps(e.indexed.attachment_ids),
                     now, e.site_id, e.report_year, _tsvector_text(positions), signature(positions)))
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        execute_values(
            cursor,
            "INSERT INTO search_entries"
            " (version_id, document_id, sort_key, latest, tokens, attachment_ids, indexed_at, site_id, report_year, tsv, sig)"
            " VALUES %s",
            rows,
            template=f"(%s, %s, %s, %s, %s, %s::json, %s, %s, %s, %s::tsvector, %s::bit({SIGNATURE_BITS}))",
            page_size=500,
        )
    finally:
        cursor.close()


def _fts_values(indexed: _Indexed) -> dict[str, str]:
    return {
        "t": " ".join(indexed.title),
        "b": " ".join(indexed.body),
        "a": " ".join(indexed.attachments),
        "f": " ".join(indexed.facets),
    }


class BulkRow(NamedTuple):
    """One new version for :func:`index_rows`."""

    id: int
    document_id: int
    site_id: int
    report_year: int | None
    pub_date: str | None
    title: str | None
    body_text: str | None


def index_rows(session: Session, rows: Sequence[BulkRow]) -> None:
    """Index many new versions at once (bulk loads: the benchmark, imports).

    Attachment text is not looked up.
    """
    _write_many(
        session,
        [
            _Entry(
                r.id, r.document_id, r.pub_date,
                _Indexed(index_tokens(r.title), index_tokens(r.body_text), [], [], facet_tokens(r.site_id, r.report_year)),
                site_id=r.site_id, report_year=r.report_year,
            )
            for r in rows
        ],
    )


def index_new_version(session: Session, version: Version, site_id: int) -> None:
    """Index a version the current transaction has just inserted, from the object in hand.

    :func:`storage.archive.record_report`'s path for every new version: such a version has no
    index entry and no attachment links yet (attachments are linked to a document's latest
    version, which it becomes only afterwards), and it is its document's latest only when it is
    the first (a later one is flagged by :func:`mark_latest` once the document points to it). So
    nothing needs looking up.
    """
    indexed = _Indexed(
        index_tokens(version.title), index_tokens(version.body_text), [], [], facet_tokens(site_id, version.report_year)
    )
    _write_many(
        session,
        [_Entry(version.id, version.document_id, version.pub_date, indexed, version.number == 1,
                site_id=site_id, report_year=version.report_year)],
    )


def reindex_version(session: Session, version_id: int) -> None:
    """Index the version again, e.g. after its attachments' text was extracted.

    The old tokens are recomputed from the version's (immutable) title, body, site and year and
    the attachments recorded on its entry, which is what FTS5 needs to take a contentless row out.
    """
    row = _version_row(session, version_id)
    if row is None:
        return
    entry = session.get(SearchEntry, version_id)
    latest = entry.latest if entry is not None else _is_latest(session, row.document_id, version_id)
    if entry is not None:
        if session.get_bind().dialect.name == "sqlite":
            old = _tokens_of(session, row, list(entry.attachment_ids or []))
            session.execute(
                text(
                    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body, attachments, facets)"
                    " VALUES ('delete', :id, :t, :b, :a, :f)"
                ),
                {"id": entry.sort_key, **_fts_values(old)},
            )
        session.delete(entry)
        session.flush()
    _write_many(session, [_entry_of(session, row, latest)])


def remove_entries(session: Session, version_ids: Sequence[int]) -> None:
    """Take versions out of the index (their entries, and on SQLite their FTS5 rows), before the
    versions themselves go (migration 0008 merging duplicate documents).

    As in :func:`reindex_version`, a contentless FTS5 row is deleted by handing back the tokens
    it was written with, recomputed from the version and the attachments on its entry. Only
    named columns are read, so a migration can call this under a later schema's models.
    """
    ids = list(dict.fromkeys(version_ids))
    if not ids:
        return
    if session.get_bind().dialect.name == "sqlite":
        for version_id in ids:
            entry = session.execute(
                select(SearchEntry.sort_key, SearchEntry.attachment_ids).where(SearchEntry.version_id == version_id)
            ).one_or_none()
            row = _version_row(session, version_id)
            if entry is None or row is None:
                continue
            old = _tokens_of(session, row, list(entry.attachment_ids or []))
            session.execute(
                text(
                    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body, attachments, facets)"
                    " VALUES ('delete', :id, :t, :b, :a, :f)"
                ),
                {"id": entry.sort_key, **_fts_values(old)},
            )
    for chunk in _id_chunks(ids):
        session.execute(
            delete(SearchEntry).where(SearchEntry.version_id.in_(list(chunk))).execution_options(synchronize_session=False)
        )


def _is_latest(session: Session, document_id: int, version_id: int) -> bool:
    return session.scalar(select(Document.latest_version_id).where(Document.id == document_id)) == version_id


def mark_latest(session: Session, document_id: int, version_id: int) -> None:
    """Flag ``version_id`` as the document's latest version in the index (and no other)."""
    session.execute(
        update(SearchEntry)
        .where(SearchEntry.document_id == document_id)
        .values(latest=SearchEntry.version_id == version_id)
        # No SearchEntry objects are kept in sessions between statements (entries are written
        # with core inserts), so there is nothing to synchronize: saves a SELECT per call.
        .execution_options(synchronize_session=False)
    )


def refresh_attachments(session: Session, version_id: int) -> bool:
    """Re-index the version if its attachments with text changed since it was indexed.

    Called when an attachment is linked to a version (:func:`storage.attachments.link_attachment`),
    since attachment files are fetched and read after their report is recorded. True if it did.
    """
    entry = session.get(SearchEntry, version_id)
    if entry is None:
        return False
    current, _ = _attachment_texts(session, version_id)
    if sorted(current) == sorted(entry.attachment_ids or []):
        return False
    reindex_version(session, version_id)
    return True


def reindex_missing(session: Session, batch: int = 500) -> int:
    """Index every version that has no search entry yet (the migration's backfill); the count."""
    done = 0
    while True:
        rows = session.execute(
            select(
                Version.id, Version.document_id, Document.site_id, Document.latest_version_id, Version.report_year,
                Version.pub_date, Version.title, Version.body_text,
            )
            .join(Document, Document.id == Version.document_id)
            .outerjoin(SearchEntry, SearchEntry.version_id == Version.id)
            .where(SearchEntry.version_id.is_(None))
            .order_by(Version.id)
            .limit(batch)
        ).all()
        if not rows:
            return done
        _write_many(
            session,
            [
                _entry_of(session, row, row.latest_version_id == row.id)
                for row in rows
            ],
        )
        done += len(rows)
        session.flush()


# --- querying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchFilters:
    """Search filters; None means "any". Dates are ISO ``YYYY-MM-DD`` strings."""

    sites: tuple[str, ...] = ()
    region: str | None = None
    level: str | None = None
    year: int | None = None
    year_from: int | None = None
    year_to: int | None = None
    publisher: str | None = None
    published_from: str | None = None
    published_to: str | None = None
    has_tables: bool | None = None
    image_only: bool | None = None
    #: Only hits inside this section of the text (storage.sections: a key such as ``problems``
    #: or heading words such as ``问题``); checked on the candidates' stored text.
    section: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class SearchHit:
    document_id: int
    version_id: int
    version_number: int
    site_key: str
    site_name: str
    region: str
    title: str | None
    report_year: int | None
    publisher: str | None
    pub_date: str | None
    url: str
    score: float | None
    title_segments: list[tuple[str, bool]] = field(default_factory=list)
    snippet: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def snippet_text(self) -> str:
        return "".join(part for part, _ in self.snippet)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.document_id,
            "version_id": self.version_id,
            "version": self.version_number,
            "site": self.site_key,
            "site_name": self.site_name,
            "region": self.region,
            "report_year": self.report_year,
            "publisher": self.publisher,
            "pub_date": self.pub_date,
            "title": self.title,
            "score": self.score,
            "snippet": self.snippet_text,
            "highlights": [part for part, hit in self.snippet if hit],
            "url": self.url,
        }


@dataclass
class SearchPage:
    hits: list[SearchHit]
    offset: int
    limit: int
    has_more: bool


def _joined_filters(filters: SearchFilters) -> list[Any]:
    """The filters the search entry cannot answer (site attributes, document fields, flags);
    site and year are the entry's own columns (:func:`_entry_conditions`)."""
    clauses: list[Any] = []
    if filters.region:
        clauses.append(Site.region.contains(filters.region, autoescape=True))
    if filters.level:
        clauses.append(Site.level == filters.level)
    if filters.publisher:
        clauses.append(Document.publisher.contains(filters.publisher, autoescape=True))
    if filters.published_from:
        clauses.append(Document.pub_date >= filters.published_from)
    if filters.published_to:
        clauses.append(Document.pub_date <= filters.published_to)
    # versions.has_tables / image_only come with the extraction migration (0002).
    if filters.has_tables is not None and hasattr(Version, "has_tables"):
        clauses.append(Version.has_tables.is_(filters.has_tables))
    if filters.image_only is not None and hasattr(Version, "image_only"):
        clauses.append(Version.image_only.is_(filters.image_only))
    return clauses


def search(
    session: Session,
    query: str | None,
    filters: SearchFilters | None = None,
    *,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
    all_versions: bool = False,
    snippet_width: int = _SNIPPET_WIDTH,
) -> SearchPage:
    """One page of reports matching ``query``, best (or newest) first, with snippets.

    Relevance ranks the :data:`RANK_WINDOW` most recently published matches; the date sorts
    follow the versions' publication dates. ``all_versions`` searches every archived version
    instead of each document's latest one. A query with no letters, digits or CJK characters
    finds nothing.

    A ``section`` filter keeps a version only when every phrase of the query occurs inside one
    of the asked-for sections of its text (``versions.sections`` offsets); the index still picks
    the candidates, and only those are read (:func:`_section_keep`). An unknown section name
    raises ``ValueError``.
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)} (got {sort!r})")
    section = parse_section_filter(filters.section) if filters is not None else None
    limit = max(1, int(limit))
    offset = max(0, int(offset))
    phrases = query_phrases(query)
    if not phrases:
        return SearchPage([], offset, limit, False)
    filters = filters or SearchFilters()
    site_ids = _site_ids(session, filters)
    facets = _facet_groups(filters, site_ids) if site_ids is not None else None
    if site_ids is None or facets is None:
        return SearchPage([], offset, limit, False)
    conditions = _entry_conditions(filters, site_ids, all_versions)
    joined = _joined_filters(filters)
    keep = _section_keep(session, phrases, section) if section is not None else None
    if session.get_bind().dialect.name == "sqlite":
        rows = _sqlite_rows(
            session, query or "", phrases, facets, conditions, joined, sort=sort, limit=limit, offset=offset, keep=keep
        )
    else:
        rows = _postgres_rows(
            session, query or "", phrases, facets, filters, conditions, joined, sort=sort, limit=limit, offset=offset,
            keep=keep,
        )
    has_more = len(rows) > limit
    rows = rows[:limit]
    hits = _load_hits(session, [(row[0], row[2]) for row in rows], query or "", snippet_width, section)
    return SearchPage(hits, offset, limit, has_more)


def _sqlite_rows(
    session: Session,
    query: str,
    phrases: Sequence[Phrase],
    facets: Sequence[Sequence[str]],
    conditions: Sequence[Any],
    joined: Sequence[Any],
    *,
    sort: str,
    limit: int,
    offset: int,
    keep: _Keep | None = None,
) -> list[tuple[int, int, float | None]]:
    """(version_id, sort_key, score) rows of one page on SQLite.

    FTS5 reads a MATCH in rowid (= sort key) order and stops when the caller stops, so the
    matches are taken from it alone, newest first, in pages (each page's latest-version check
    and filters are one query on the entries), until the page or the rank window is full. Joined
    into one statement with the filters, SQLite would collect and sort every match first: fine
    for a hundred thousand reports, seconds for a million. Relevance is scored here
    (:func:`_window_scores`), not by FTS5's bm25(), which counts each phrase's matches in the
    whole index on every query.
    """
    needed = RANK_WINDOW if sort == "relevance" else offset + limit + 1
    descending = sort != "date_asc"
    fts = table(FTS_TABLE, column("rowid"))
    matches = select(fts.c.rowid).select_from(fts).where(_fts_match(phrases, facets))
    narrowing = bool(conditions) or bool(joined)
    found: list[tuple[int, int, float | None]] = []
    after: int | None = None
    page_size = max(needed, 64)
    while len(found) < needed:
        page = matches
        if after is not None:
            page = page.where(fts.c.rowid < after if descending else fts.c.rowid > after)
        page = page.order_by(fts.c.rowid.desc() if descending else fts.c.rowid.asc()).limit(page_size)
        rows: list[tuple[int, int, float | None]] = [(row[0] & _ID_MASK, row[0], None) for row in session.execute(page)]
        if not rows:
            break
        after = rows[-1][1]
        exhausted = len(rows) < page_size
        if narrowing:
            kept = _kept_versions(session, [row[0] for row in rows], conditions, joined)
            rows = [row for row in rows if row[0] in kept]
        if keep is not None:
            rows = keep(rows)
        found.extend(rows)
        if exhausted:
            break
        # Filters that keep few rows: read further ahead next time.
        page_size = min(page_size * 4, _MAX_FTS_PAGE)
    found = found[:needed]
    if sort == "relevance" and found:
        return _ranked(session, [(vid, key) for vid, key, _ in found], query, limit, offset)
    return found[offset : offset + limit + 1]


def _ranked(
    session: Session, window: Sequence[tuple[int, int]], query: str, limit: int, offset: int
) -> list[tuple[int, int, float | None]]:
    """One page of the rank window, best first (newest first among equals)."""
    scores = _window_scores(session, [version_id for version_id, _ in window], query)
    ranked = sorted(((vid, key, scores.get(vid, 0.0)) for vid, key in window), key=lambda row: (row[2], row[1]), reverse=True)
    return list(ranked[offset : offset + limit + 1])


#: BM25 parameters and the title's weight against the body (as in most search engines).
_BM25_K1 = 1.2
_BM25_B = 0.75
_TITLE_WEIGHT = 5


def _window_scores(session: Session, version_ids: Sequence[int], query: str) -> dict[int, float]:
    """BM25 scores of the rank window's versions for the query's segments, from their text.

    Term frequency is a segment's occurrences in the title (weighted 5) and the body; document
    frequency and average length are taken over the window, whose reports all match the query.
    The database counts the occurrences (``length`` minus the length without them), so only
    numbers come back, not half a million characters of text.
    """
    needles = list(dict.fromkeys(segment for segment in _SEGMENT.findall(query.lower())))
    if not needles:
        return {}
    # Chinese has no case: lower-casing the texts is skipped when no needle has a cased letter.
    cased = any(needle != needle.upper() for needle in needles)
    title = func.lower(Version.title) if cased else Version.title
    body = func.lower(Version.body_text) if cased else Version.body_text

    def occurrences(column: Any, index: int, needle: str) -> Any:
        needle_param = bindparam(f"needle_{index}", needle)
        removed = func.length(func.replace(func.coalesce(column, ""), needle_param, ""))
        return (func.length(func.coalesce(column, "")) - removed) / len(needle)

    columns = [Version.id, func.length(func.coalesce(title, "")), func.length(func.coalesce(body, ""))]
    for index, needle in enumerate(needles):
        columns += [occurrences(title, index, needle), occurrences(body, index, needle)]
    rows: list[Any] = []
    for chunk in _id_chunks(version_ids):
        rows += session.execute(select(*columns).where(Version.id.in_(chunk))).all()
    if not rows:
        return {}
    lengths = {row[0]: _TITLE_WEIGHT * row[1] + row[2] for row in rows}
    average = max(1.0, sum(lengths.values()) / len(lengths))
    scores = dict.fromkeys(lengths, 0.0)
    for index in range(len(needles)):
        frequencies = {row[0]: _TITLE_WEIGHT * int(row[3 + 2 * index]) + int(row[4 + 2 * index]) for row in rows}
        holding = sum(1 for tf in frequencies.values() if tf)
        idf = math.log(1 + (len(rows) - holding + 0.5) / (holding + 0.5))
        for vid, tf in frequencies.items():
            norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * lengths[vid] / average)
            scores[vid] += idf * tf * (_BM25_K1 + 1) / (tf + norm)
    return scores


#: The most FTS5 rows one page of a filtered SQLite search reads at once.
_MAX_FTS_PAGE = 50_000


def _kept_versions(session: Session, version_ids: Sequence[int], conditions: Sequence[Any], joined: Sequence[Any]) -> set[int]:
    """Which of ``version_ids`` pass the entry conditions and the joined filters."""
    entry = SearchEntry.__table__
    kept: set[int] = set()
    for chunk in _id_chunks(version_ids):
        stmt = select(entry.c.version_id).where(entry.c.version_id.in_(chunk), *conditions)
        kept.update(session.scalars(_with_joins(stmt, joined)))
    return kept


def _id_chunks(ids: Sequence[int], size: int = 10_000) -> Iterable[Sequence[int]]:
    """``ids`` in lists short enough for one ``IN (...)`` (SQLite binds at most 32,766 values)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _postgres_rows(
    session: Session,
    query: str,
    phrases: Sequence[Phrase],
    facets: Sequence[Sequence[str]],
    filters: SearchFilters,
    conditions: Sequence[Any],
    joined: Sequence[Any],
    *,
    sort: str,
    limit: int,
    offset: int,
    keep: _Keep | None = None,
) -> list[tuple[int, int, float | None]]:
    """(version_id, sort_key, score) rows of one page on PostgreSQL.

    A GIN index knows which rows hold each bigram but neither where in the text (a phrase is
    checked on the row's tsvector, ~10 kB stored out of line) nor the rows' dates (a newest-first
    page needs every match first). A phrase found in a fifth of a million reports would cost
    200,000 tsvector reads. So a query is answered one of two ways, by how common the planner
    statistics say its rarest bigram is (:func:`_estimated_share`):

    - common: walk the sort-key index newest first (one site's or one year's entries through
      their own indexes), test each entry's lexeme signature (a bitwise AND on the row) and read
      the tsvector only where every query bit is set, until the page or the rank window is full:
      about ``needed / share`` cheap tests and ``needed`` tsvector reads;
    - rare: the GIN index finds the entries holding every query token (exact, no tsvector read),
      newest first, and the phrases are checked on their tsvectors in that order until enough
      match.

    With a section filter (``keep``) either way reads its candidates in pages and keeps those
    whose text has the phrases inside the section, until enough are kept.
    """
    needed = RANK_WINDOW if sort == "relevance" else offset + limit + 1
    tsquery = tsquery_literal(phrases, facets)
    share = _estimated_share(session, phrases)
    descending = sort != "date_asc"
    walk = descending and share is not None and needed / max(share, 1e-9) <= _MAX_WALK_ROWS
    # The planner's cost model does not charge for reading a tsvector, so it may prefer a scan
    # that tests every row's; these settings keep it on the index the strategy relies on.
    settings = _WALK_SETTINGS if walk else _GIN_SETTINGS
    for name, value in settings:
        session.execute(text(f"SET LOCAL {name} = {value}"))
    try:
        if walk:
            found = _walk_rows(session, conditions, joined, filters, tsquery, phrases, facets, needed, keep)
        else:
            found = _gin_rows(session, conditions, joined, tsquery, phrases, facets, needed, descending, keep)
        if sort != "relevance" or not found:
            return [(version_id, key, None) for version_id, key in found[offset : offset + limit + 1]]
        return _ranked(session, found, query, limit, offset)
    finally:
        for name, _ in settings:
            session.execute(text(f"RESET {name}"))


#: The longest walk of the sort-key index worth taking (expected entries tested).
_MAX_WALK_ROWS = 60_000
_WALK_SETTINGS = (("enable_seqscan", "off"), ("enable_bitmapscan", "off"))
# A high operator cost makes a row filter look as dear as a tsvector read really is, so that
# the tsquery stays an index condition.
_GIN_SETTINGS = (("enable_seqscan", "off"), ("enable_indexscan", "off"), ("cpu_operator_cost", "1"))


def _entry_conditions(filters: SearchFilters, site_ids: Sequence[int], all_versions: bool) -> list[Any]:
    """The latest-version check and the site and year filters, on the search entry itself."""
    entry = SearchEntry.__table__
    conditions: list[Any] = []
    if not all_versions:
        conditions.append(entry.c.latest.is_(True))
    if site_ids:
        conditions.append(entry.c.site_id.in_(site_ids))
    if filters.year is not None:
        conditions.append(entry.c.report_year == int(filters.year))
    if filters.year_from is not None:
        conditions.append(entry.c.report_year >= int(filters.year_from))
    if filters.year_to is not None:
        conditions.append(entry.c.report_year <= int(filters.year_to))
    return conditions


def _with_joins(stmt: Select[Any], joined: Sequence[Any]) -> Select[Any]:
    if not joined:
        return stmt
    entry = SearchEntry.__table__
    stmt = stmt.join(Version, Version.id == entry.c.version_id).join(Document, Document.id == Version.document_id)
    stmt = stmt.join(Site, Site.id == Document.site_id)
    for clause in joined:
        stmt = stmt.where(clause)
    return stmt


def _walk_rows(
    session: Session,
    conditions: Sequence[Any],
    joined: Sequence[Any],
    filters: SearchFilters,
    tsquery: str,
    phrases: Sequence[Phrase],
    facets: Sequence[Sequence[str]],
    needed: int,
    keep: _Keep | None = None,
) -> list[tuple[int, int]]:
    """The ``needed`` newest matches, walking the sort-key index with the signature test
    (with ``keep``, in pages of ``needed`` until that many are kept)."""
    entry = SearchEntry.__table__
    mask = signature(_required_lexemes(phrases, facets))
    bits = f"bit({SIGNATURE_BITS})"
    matches = text(
        f"CASE WHEN search_entries.sig IS NULL OR (search_entries.sig & CAST(:mask AS {bits})) = CAST(:mask AS {bits})"
        " THEN search_entries.tsv @@ CAST(:tsquery AS tsquery) ELSE false END"
    ).bindparams(mask=mask, tsquery=tsquery)
    stmt = select(entry.c.version_id, entry.c.sort_key).where(*conditions, matches)
    newest = _newest_in_years(session, filters)
    if newest is not None:
        # Reports of a year range are published after it: start the walk at their newest.
        stmt = stmt.where(entry.c.sort_key <= newest)
    stmt = _with_joins(stmt, joined).order_by(entry.c.sort_key.desc())
    if keep is None:
        return [(row[0], row[1]) for row in session.execute(stmt.limit(needed))]
    found: list[tuple[int, int]] = []
    after: int | None = None
    while len(found) < needed:
        page = stmt if after is None else stmt.where(entry.c.sort_key < after)
        rows = [(row[0], row[1]) for row in session.execute(page.limit(needed))]
        if not rows:
            break
        after = rows[-1][1]
        found.extend(keep(rows))
        if len(rows) < needed:
            break
    return found[:needed]


def _newest_in_years(session: Session, filters: SearchFilters) -> int | None:
    """The newest sort key of a report-year range filter (one index probe per year), if any."""
    if filters.year is not None or filters.year_from is None or filters.year_to is None:
        return None
    years = range(int(filters.year_from), int(filters.year_to) + 1)
    if not years or len(years) > _MAX_FACET_YEARS:
        return None
    entry = SearchEntry.__table__
    keys = [
        session.scalar(select(func.max(entry.c.sort_key)).where(entry.c.report_year == year)) for year in years
    ]
    present = [key for key in keys if key is not None]
    return max(present) if present else 0


def _gin_rows(
    session: Session,
    conditions: Sequence[Any],
    joined: Sequence[Any],
    tsquery: str,
    phrases: Sequence[Phrase],
    facets: Sequence[Sequence[str]],
    needed: int,
    descending: bool,
    keep: _Keep | None = None,
) -> list[tuple[int, int]]:
    """The ``needed`` newest (or oldest) matches through the GIN index.

    The index answers "holds every token" exactly, so candidates come from it in pages without
    reading a tsvector; only a phrase needs its candidates' tsvectors, in page order. A section
    filter (``keep``) checks the phrases on the section's text instead, which is stricter than
    the tsvector (the phrase must be in the section), so no tsvector is read then.
    """
    entry = SearchEntry.__table__
    every_token = tsquery_literal([Phrase((token,), phrase.prefix and index == len(phrase.tokens) - 1)
                                   for phrase in phrases for index, token in enumerate(phrase.tokens)], facets)
    has_phrase = any(len(phrase.tokens) > 1 for phrase in phrases)
    candidates = select(entry.c.version_id, entry.c.sort_key).where(
        *conditions, entry.c.tsv.op("@@")(text("CAST(:tokens AS tsquery)").bindparams(tokens=every_token))
    )
    candidates = _with_joins(candidates, joined)
    order = entry.c.sort_key.desc() if descending else entry.c.sort_key.asc()
    found: list[tuple[int, int]] = []
    page_size = needed * 2 if has_phrase else needed
    after: int | None = None
    while len(found) < needed:
        page = candidates
        if after is not None:
            page = page.where(entry.c.sort_key < after if descending else entry.c.sort_key > after)
        rows = [(row[0], row[1]) for row in session.execute(page.order_by(order).limit(page_size))]
        if not rows:
            break
        after = rows[-1][1]
        exhausted = len(rows) < page_size
        if keep is not None:
            rows = keep(rows)
        elif has_phrase:
            rows = _phrase_checked(session, rows, tsquery, needed - len(found))
        found.extend(rows)
        if exhausted:
            break
    return found[:needed]


def _phrase_checked(session: Session, rows: Sequence[tuple[int, int]], tsquery: str, wanted: int) -> list[tuple[int, int]]:
    """The rows (in their order) whose tsvector matches the full query, in small batches so that
    no more tsvectors are read than the ``wanted`` matches need (plus a batch)."""
    entry = SearchEntry.__table__
    matched: list[tuple[int, int]] = []
    at = 0
    while at < len(rows) and len(matched) < wanted:
        batch = rows[at : at + max(32, (wanted - len(matched)) * 5 // 4)]
        at += len(batch)
        ok = set(
            session.scalars(
                select(entry.c.version_id).where(
                    entry.c.version_id.in_([version_id for version_id, _ in batch]),
                    entry.c.tsv.op("@@")(text("CAST(:tsquery AS tsquery)").bindparams(tsquery=tsquery)),
                )
            )
        )
        matched.extend(row for row in batch if row[0] in ok)
    return matched[:wanted]


def _required_lexemes(phrases: Sequence[Phrase], facets: Sequence[Sequence[str]]) -> list[str]:
    """The lexemes every match must hold (a prefix token and OR groups of several do not count)."""
    lexemes = [
        token for phrase in phrases for index, token in enumerate(phrase.tokens)
        if not (phrase.prefix and index == len(phrase.tokens) - 1)
    ]
    lexemes += [_FACET_MARK + group[0] for group in facets if len(group) == 1]
    return lexemes


#: Planner statistics of the index column are read at most this often per database (seconds).
_STATS_TTL = 300.0
_element_stats: dict[str, tuple[float, dict[str, float], float]] = {}


def _lexeme_shares(session: Session) -> tuple[dict[str, float], float] | None:
    """(share of rows holding each of the most common lexemes, the smallest such share) from
    PostgreSQL's statistics of ``search_entries.tsv`` (ANALYZE keeps them); None without any."""
    bind = session.get_bind()
    cache_key = str(bind.url)
    cached = _element_stats.get(cache_key)
    now = time.monotonic()
    if cached is None or now - cached[0] > _STATS_TTL:
        row = session.execute(
            text(
                "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats"
                " WHERE schemaname = current_schema() AND tablename = 'search_entries' AND attname = 'tsv'"
            )
        ).first()
        shares: dict[str, float] = {}
        floor = 0.0
        if row is not None and row[0] and row[1]:
            elements, freqs = list(row[0]), [float(f) for f in row[1]]
            # The frequencies end with three summary numbers: the minimum, the maximum and the
            # share of empty values.
            shares = dict(zip(elements, freqs[: len(elements)], strict=False))
            floor = freqs[len(elements)] if len(freqs) > len(elements) else min(shares.values(), default=0.0)
        cached = (now, shares, floor)
        _element_stats[cache_key] = cached
    _, shares, floor = cached
    return (shares, floor) if shares else None


def _estimated_share(session: Session, phrases: Sequence[Phrase]) -> float | None:
    """The share of index rows the query's words are expected to match, from the planner
    statistics (None: no statistics, or a word too rare to be among the most common lexemes).

    A phrase matches at most as often as its rarest token; phrases are taken as independent. A
    prefix token (``公:*``) may match anything, so it tells nothing.
    """
    stats = _lexeme_shares(session)
    if stats is None:
        return None
    shares, _floor = stats
    estimate = 1.0
    for phrase in phrases:
        tokens = phrase.tokens[:-1] if phrase.prefix else phrase.tokens
        if not tokens:
            continue
        known = [shares.get(token) for token in tokens]
        if any(share is None for share in known):
            return None  # rarer than every common lexeme: few rows match, the GIN index finds them
        estimate *= min(share for share in known if share is not None)
    return estimate


def _site_ids(session: Session, filters: SearchFilters) -> list[int] | None:
    """The ids of the sites a filter names ([] without a site filter; None: it names no known site)."""
    if not filters.sites:
        return []
    ids = sorted(session.scalars(select(Site.id).where(Site.key.in_(list(filters.sites)))).all())
    return ids or None


def _facet_groups(filters: SearchFilters, site_ids: Sequence[int]) -> list[list[str]] | None:
    """The site and year filters as index facets (None: an empty year range).

    The index then intersects them with the words, so a narrow filter costs no more than the
    rows it keeps; the same filters are also checked on the rows.
    """
    groups: list[list[str]] = []
    if site_ids:
        groups.append([f"s{site_id}" for site_id in site_ids])
    if filters.year is not None:
        groups.append([f"y{int(filters.year)}"])
    elif filters.year_from is not None and filters.year_to is not None:
        years = range(int(filters.year_from), int(filters.year_to) + 1)
        if not years:
            return None
        if len(years) <= _MAX_FACET_YEARS:
            groups.append([f"y{year}" for year in years])
    return groups


def _fts_match(phrases: Sequence[Phrase], facets: Sequence[Sequence[str]] = ()) -> Any:
    return text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=fts5_query(phrases, facets))


def _load_hits(
    session: Session, ranked: Sequence[tuple[int, float | None]], query: str, width: int,
    section: SectionFilter | None = None,
) -> list[SearchHit]:
    if not ranked:
        return []
    ids = [version_id for version_id, _ in ranked]
    rows = session.execute(
        select(Version, Document, Site)
        .join(Document, Document.id == Version.document_id)
        .join(Site, Site.id == Document.site_id)
        .where(Version.id.in_(ids))
        # only what a hit shows (not the tables JSON, nor columns of later migrations)
        .options(load_only(Version.id, Version.number, Version.body_text))
    ).all()
    by_id = {version.id: (version, document, site) for version, document, site in rows}
    stored_sections: dict[int, Any] = {}
    if section is not None:
        stored_sections = dict(session.execute(select(Version.id, Version.sections).where(Version.id.in_(ids))).all())
    pattern = highlight_pattern(query)
    hits = []
    for version_id, score in ranked:
        if version_id not in by_id:
            continue
        version, document, site = by_id[version_id]
        hits.append(
            SearchHit(
                document_id=document.id,
                version_id=version.id,
                version_number=version.number,
                site_key=site.key,
                site_name=site.name,
                region=site.region,
                title=document.title,
                report_year=document.report_year,
                publisher=document.publisher,
                pub_date=document.pub_date,
                url=document.url,
                score=float(score) if score is not None else None,
                title_segments=highlight(document.title or "", pattern),
                snippet=snippet(_snippet_source(version, stored_sections.get(version.id), section, query), pattern, width),
            )
        )
    return hits


# --- section filter ---------------------------------------------------------------------------

#: Keeps the rows (version_id first) whose version passes a post-filter, in their order.
_Keep = Callable[[list[Any]], list[Any]]


def _section_keep(session: Session, phrases: Sequence[Phrase], section: SectionFilter) -> _Keep:
    """The post-filter of a ``section`` search: a candidate is kept when every phrase occurs
    inside one asked-for section of its text.

    Only the candidates the index found are read (their section offsets first, then the text of
    those that have such a section), with the ids as bound parameters. The phrases are checked
    on the section's index tokens, so a hit means what it means to the index (case, spaces
    between CJK and Latin words, the prefix of a 1-character query).
    """

    def keep(rows: list[Any]) -> list[Any]:
        if not rows:
            return rows
        ids = list(dict.fromkeys(row[0] for row in rows))
        wanted: dict[int, Any] = {}
        for chunk in _id_chunks(ids, 1000):
            for version_id, sections in session.execute(
                select(Version.id, Version.sections).where(Version.id.in_(list(chunk)))
            ):
                if sections and any(isinstance(s, dict) and section.matches(s) for s in sections):
                    wanted[version_id] = sections
        kept: set[int] = set()
        for chunk in _id_chunks(list(wanted), 200):
            for version_id, body in session.execute(
                select(Version.id, Version.body_text).where(Version.id.in_(list(chunk)))
            ):
                body = body or ""
                if any(_phrases_in(body[start:end], phrases) for start, end in section.spans(wanted[version_id], len(body))):
                    kept.add(version_id)
        return [row for row in rows if row[0] in kept]

    return keep


def _phrases_in(text_: str, phrases: Sequence[Phrase]) -> bool:
    """Whether every phrase occurs in ``text_`` as the index would match it: its tokens in a
    row among the text's index tokens (a prefix phrase's last token starting one of them)."""
    stream = " " + " ".join(index_tokens(text_)) + " "
    for phrase in phrases:
        needle = " " + " ".join(phrase.tokens) + ("" if phrase.prefix else " ")
        if needle not in stream:
            return False
    return True


def _snippet_source(version: Version, sections: Any, section: SectionFilter | None, query: str) -> str:
    """The text a hit's snippet is cut from: with a section filter, the first asked-for section
    holding the query (so the snippet shows the hit that counted), else the whole body."""
    body = version.body_text or ""
    if section is None:
        return body
    phrases = query_phrases(query)
    spans = section.spans(sections, len(body))
    for start, end in spans:
        if _phrases_in(body[start:end], phrases):
            return body[start:end]
    return body[spans[0][0] : spans[0][1]] if spans else body


# --- snippets ---------------------------------------------------------------------------------


def highlight_pattern(query: str | None) -> re.Pattern[str] | None:
    """A case-insensitive pattern for the query's segments and their CJK runs and words."""
    needles: set[str] = set()
    for segment in _SEGMENT.findall(query or ""):
        needles.add(segment)
        needles.update(m.group(0) for m in _TOKEN_RUN.finditer(segment))
    if not needles:
        return None
    ordered = sorted(needles, key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in ordered), re.IGNORECASE)


def highlight(text_: str, pattern: re.Pattern[str] | None) -> list[tuple[str, bool]]:
    """``text_`` split into (part, is_hit) segments."""
    if not text_:
        return []
    if pattern is None:
        return [(text_, False)]
    parts: list[tuple[str, bool]] = []
    at = 0
    for match in pattern.finditer(text_):
        if match.start() > at:
            parts.append((text_[at : match.start()], False))
        if match.end() > match.start():
            parts.append((match.group(0), True))
        at = match.end()
    if at < len(text_):
        parts.append((text_[at:], False))
    return parts


def snippet(text_: str, pattern: re.Pattern[str] | str | None, width: int = _SNIPPET_WIDTH) -> list[tuple[str, bool]]:
    """About ``width`` characters of ``text_`` around its first hit, as (part, is_hit) segments.

    Whitespace is collapsed; an ellipsis marks cut ends. Without a hit, the text's start.
    """
    if isinstance(pattern, str):
        pattern = highlight_pattern(pattern)
    flat = " ".join((text_ or "").split())
    if not flat:
        return []
    first = pattern.search(flat) if pattern is not None else None
    start = max(0, first.start() - width // 3) if first else 0
    end = min(len(flat), start + width)
    start = max(0, min(start, end - width))
    parts = highlight(flat[start:end], pattern)
    if start > 0:
        parts.insert(0, ("…", False))
    if end < len(flat):
        parts.append(("…", False))
    return parts


def iter_segments_text(segments: Iterable[tuple[str, bool]], mark: tuple[str, str] = ("", "")) -> str:
    """Segments as plain text, hits wrapped in ``mark`` (e.g. ("[", "]")) for terminals."""
    return "".join(f"{mark[0]}{part}{mark[1]}" if hit else part for part, hit in segments)

