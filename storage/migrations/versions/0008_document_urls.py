"""document_urls: every URL a report was found at, and one document per report (issue 11).

Revision ID: 0008
Revises: 0007

Sites move reports (a reorganised column path, a new domain, a page re-published by a new
CMS); until now each new URL made a second document of the same report. This migration:

- creates ``document_urls`` (one row per URL of a document, unique per site) and fills it with
  one row per existing document;
- merges the duplicates already archived: documents of one site that are the same report by the
  rules of :mod:`storage.identity` (frozen below: the same 索引号 with no conflicting report year;
  the same report year and normalized title with no conflicting 索引号; a version with the same
  content hash of a substantial body with no conflicting report year). Documents are taken in id
  order and each joins the first earlier kept document it matches, rule by rule, as
  ``record_report`` would have joined them; the oldest document of a group is kept.

Merging one document into the kept one: its versions move over, renumbered after the kept
document's versions in first-seen order, except a version whose content hash the kept document
already has, which is dropped after its attachment links, its ``latest_version_id`` references
and its seen times and capture are folded into the kept version. Its URLs, attachment links,
search entries and alerts move over (an alert keyed by the document id is re-keyed to the kept
document when that key is free; an open one that cannot be is resolved as merged). The kept
document takes the metadata and URL of the group's most recently seen document, the earliest
first-seen and latest last-seen time, and the most recently seen version as its latest. Search
entries of dropped versions are taken out of the index, those whose attachments changed are
written again, and the latest flags follow the kept document.

Downgrade drops the table; merged documents stay merged.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# --- the matching rules, frozen here (storage.identity at the time of writing) ----------------

_MIN_BODY_CHARS = 200
_DROPPED_CATEGORIES = ("P", "Z", "Cc", "Cf")


def _normalize_title(title: str | None) -> str:
    normalized = unicodedata.normalize("NFKC", title or "").casefold()
    return "".join(
        ch
        for ch in normalized
        if not ch.isspace() and not unicodedata.category(ch).startswith(_DROPPED_CATEGORIES)
    )


def _index_no(index_no: str | None) -> str | None:
    value = (index_no or "").strip()
    return value if any(ch.isalnum() for ch in value) else None


def _substantial(body_text: str | None) -> bool:
    # The content hashes in the archive are sha256 of storage.normalize.normalize_text; the
    # length is measured on the same normalized text.
    from storage.normalize import normalize_text

    return sum(1 for ch in normalize_text(body_text or "") if not ch.isspace()) >= _MIN_BODY_CHARS


def _years_differ(a: int | None, b: int | None) -> bool:
    return a is not None and b is not None and a != b


# --- tables, as this revision knows them -------------------------------------------------------


def _id() -> sa.types.TypeEngine:
    # BIGINT, but INTEGER on SQLite where only INTEGER PRIMARY KEY autoincrements.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


_documents = sa.table(
    "documents",
    sa.column("id", _id()),
    sa.column("site_id", _id()),
    sa.column("url", sa.Text()),
    sa.column("index_no", sa.Text()),
    sa.column("title", sa.Text()),
    sa.column("report_year", sa.Integer()),
    sa.column("publisher", sa.Text()),
    sa.column("pub_date", sa.String(10)),
    sa.column("missing_fields", sa.JSON()),
    sa.column("first_seen_at", _ts()),
    sa.column("last_seen_at", _ts()),
    sa.column("last_run_id", _id()),
    sa.column("latest_version_id", _id()),
)
_versions = sa.table(
    "versions",
    sa.column("id", _id()),
    sa.column("document_id", _id()),
    sa.column("number", sa.Integer()),
    sa.column("content_hash", sa.String(64)),
    sa.column("body_text", sa.Text()),
    sa.column("first_seen_at", _ts()),
    sa.column("last_seen_at", _ts()),
    sa.column("first_run_id", _id()),
    sa.column("last_run_id", _id()),
    sa.column("capture_id", _id()),
)
_urls = sa.table(
    "document_urls",
    sa.column("document_id", _id()),
    sa.column("site_id", _id()),
    sa.column("url", sa.Text()),
    sa.column("first_seen_at", _ts()),
    sa.column("last_seen_at", _ts()),
)
_links = sa.table(
    "attachment_links",
    sa.column("id", _id()),
    sa.column("document_id", _id()),
    sa.column("version_id", _id()),
    sa.column("url", sa.Text()),
)
_entries = sa.table(
    "search_entries",
    sa.column("version_id", _id()),
    sa.column("document_id", _id()),
    sa.column("latest", sa.Boolean()),
)
_alerts = sa.table(
    "alerts",
    sa.column("id", _id()),
    sa.column("key", sa.String(255)),
    sa.column("document_id", _id()),
    sa.column("state", sa.String(16)),
    sa.column("resolved_at", _ts()),
    sa.column("resolution", sa.Text()),
)
_sites = sa.table("sites", sa.column("id", _id()), sa.column("key", sa.String(64)))


def upgrade() -> None:
    op.create_table(
        "document_urls",
        sa.Column("id", _id(), nullable=False),
        sa.Column("document_id", _id(), nullable=False),
        sa.Column("site_id", _id(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("first_seen_at", _ts(), nullable=False),
        sa.Column("last_seen_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_urls")),
        sa.UniqueConstraint("site_id", "url", name=op.f("uq_document_urls_site_id_url")),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_urls_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_document_urls_site_id_sites"), ondelete="CASCADE"
        ),
    )
    op.create_index(op.f("ix_document_urls_document_id"), "document_urls", ["document_id"])
    op.execute(
        "INSERT INTO document_urls (document_id, site_id, url, first_seen_at, last_seen_at)"
        " SELECT id, site_id, url, first_seen_at, last_seen_at FROM documents"
    )
    _merge_duplicates(op.get_bind())


def downgrade() -> None:
    op.drop_index(op.f("ix_document_urls_document_id"), table_name="document_urls")
    op.drop_table("document_urls")


# --- merging ------------------------------------------------------------------------------------


class _Doc:
    """A document as the rules see it (a plain class: Alembic loads this file outside
    ``sys.modules``, where dataclasses cannot resolve their annotations)."""

    def __init__(self, row: Any, hashes: set[str]) -> None:
        self.id: int = row.id
        self.index_no = _index_no(row.index_no)
        self.title = _normalize_title(row.title)
        self.report_year: int | None = row.report_year
        self.row = row  # the whole documents row
        self.hashes = hashes  # its content hashes of substantial bodies another document shares


def _merge_duplicates(bind: sa.Connection) -> None:
    from sqlalchemy.orm import Session

    session = Session(bind=bind)  # for the search index's own functions (storage.search)
    shared = _shared_hashes(bind)
    site_ids = bind.execute(sa.select(_documents.c.site_id).distinct().order_by(_documents.c.site_id)).scalars().all()
    merged = False
    for site_id in site_ids:
        rows = bind.execute(
            sa.select(_documents).where(_documents.c.site_id == site_id).order_by(_documents.c.id)
        ).all()
        docs = [_Doc(row, shared.get(row.id, set())) for row in rows]
        site_key = bind.execute(sa.select(_sites.c.key).where(_sites.c.id == site_id)).scalar_one()
        for kept, dropped in _groups(docs):
            _merge(bind, session, site_key, kept, dropped)
            merged = True
    if merged:
        from storage.search import reindex_missing

        reindex_missing(session)  # the entries taken out because their attachments changed
    session.flush()


def _shared_hashes(bind: sa.Connection) -> dict[int, set[str]]:
    """{document id: content hashes of substantial bodies that another document of its site has}."""
    v, d = _versions, _documents
    groups = bind.execute(
        sa.select(d.c.site_id, v.c.content_hash)
        .select_from(v.join(d, d.c.id == v.c.document_id))
        .group_by(d.c.site_id, v.c.content_hash)
        .having(sa.func.count(sa.distinct(v.c.document_id)) > 1)
    ).all()
    out: dict[int, set[str]] = {}
    for site_id, digest in groups:
        rows = bind.execute(
            sa.select(v.c.document_id, v.c.body_text)
            .select_from(v.join(d, d.c.id == v.c.document_id))
            .where(d.c.site_id == site_id, v.c.content_hash == digest)
        ).all()
        if not rows or not _substantial(rows[0].body_text):
            continue
        for document_id, _ in rows:
            out.setdefault(document_id, set()).add(digest)
    return out


def _groups(docs: list[_Doc]) -> list[tuple[_Doc, list[_Doc]]]:
    """(kept, [merged...]) for each group of more than one document (docs in id order).

    Each document is compared with the documents kept so far (in id order, through lookups by
    index number, by year and title, and by content hash), as record_report compares a new URL's
    report with the documents already archived.
    """
    members: dict[int, list[_Doc]] = {}
    by_index_no: dict[str, list[_Doc]] = {}
    by_title: dict[tuple[int, str], list[_Doc]] = {}
    by_hash: dict[str, list[_Doc]] = {}  # a kept document's group has a version with this hash
    order: list[_Doc] = []
    for doc in docs:
        target = None
        if doc.index_no is not None:
            target = next(
                (k for k in by_index_no.get(doc.index_no, ()) if not _years_differ(k.report_year, doc.report_year)),
                None,
            )
        if target is None and doc.title and doc.report_year is not None:
            target = next(
                (
                    k for k in by_title.get((doc.report_year, doc.title), ())
                    if not (k.index_no and doc.index_no and k.index_no != doc.index_no)
                ),
                None,
            )
        if target is None and doc.hashes:
            candidates = [
                k for digest in doc.hashes for k in by_hash.get(digest, ())
                if not _years_differ(k.report_year, doc.report_year)
            ]
            target = min(candidates, key=lambda k: k.id) if candidates else None
        if target is None:
            target = doc
            members[doc.id] = []
            order.append(doc)
            if doc.index_no is not None:
                by_index_no.setdefault(doc.index_no, []).append(doc)
            if doc.title and doc.report_year is not None:
                by_title.setdefault((doc.report_year, doc.title), []).append(doc)
        else:
            members[target.id].append(doc)
        for digest in doc.hashes:
            kept = by_hash.setdefault(digest, [])
            if target not in kept:
                kept.append(target)
    return [(k, members[k.id]) for k in order if members[k.id]]


def _merge(bind: sa.Connection, session: Any, site_key: str, kept: _Doc, dropped: list[_Doc]) -> None:
    from storage.search import remove_entries

    v, d = _versions, _documents
    dropped_ids = [doc.id for doc in dropped]
    by_hash = {
        row.content_hash: row
        for row in bind.execute(sa.select(v).where(v.c.document_id == kept.id)).all()
    }
    number = max((row.number for row in by_hash.values()), default=0)
    renumbered: dict[tuple[int, int], int] = {}  # (old document, old number) -> new number
    moving = bind.execute(
        sa.select(v).where(v.c.document_id.in_(dropped_ids)).order_by(v.c.first_seen_at, v.c.id)
    ).all()
    reindex: set[int] = set()
    for version in moving:
        into = by_hash.get(version.content_hash)
        if into is None:
            number += 1
            renumbered[(version.document_id, version.number)] = number
            bind.execute(
                sa.update(v).where(v.c.id == version.id).values(document_id=kept.id, number=number)
            )
            bind.execute(sa.update(_entries).where(_entries.c.version_id == version.id).values(document_id=kept.id))
            bind.execute(sa.update(_links).where(_links.c.version_id == version.id).values(document_id=kept.id))
            by_hash[version.content_hash] = version
            continue
        # The kept document has this body already: fold the version into that one.
        taken = bind.execute(
            sa.select(_links.c.url).where(_links.c.version_id == into.id)
        ).scalars().all()
        if taken:
            bind.execute(sa.delete(_links).where(_links.c.version_id == version.id, _links.c.url.in_(taken)))
        moved_links = bind.execute(
            sa.update(_links).where(_links.c.version_id == version.id).values(version_id=into.id, document_id=kept.id)
        ).rowcount
        if moved_links:
            reindex.add(into.id)  # its attachments' text belongs in its entry now
        earliest = version if version.first_seen_at < into.first_seen_at else into
        latest = version if version.last_seen_at > into.last_seen_at else into
        bind.execute(
            sa.update(v)
            .where(v.c.id == into.id)
            .values(
                first_seen_at=earliest.first_seen_at,
                first_run_id=earliest.first_run_id,
                last_seen_at=latest.last_seen_at,
                last_run_id=latest.last_run_id,
                capture_id=into.capture_id if into.capture_id is not None else version.capture_id,
            )
        )
        by_hash[version.content_hash] = bind.execute(sa.select(v).where(v.c.id == into.id)).one()
        bind.execute(sa.update(d).where(d.c.latest_version_id == version.id).values(latest_version_id=into.id))
        remove_entries(session, [version.id])
        bind.execute(sa.delete(v).where(v.c.id == version.id))
    if reindex:
        remove_entries(session, sorted(reindex))  # written again by reindex_missing at the end

    _move_alerts(bind, site_key, kept.id, dropped_ids, renumbered)
    for table in (_urls, _links, _entries):
        bind.execute(sa.update(table).where(table.c.document_id.in_(dropped_ids)).values(document_id=kept.id))
    bind.execute(sa.delete(d).where(d.c.id.in_(dropped_ids)))

    group = [kept, *dropped]
    newest = max(group, key=lambda doc: (doc.row.last_seen_at, doc.id)).row
    run_ids = [doc.row.last_run_id for doc in group if doc.row.last_run_id is not None]
    latest_version = bind.execute(
        sa.select(v.c.id)
        .where(v.c.document_id == kept.id)
        .order_by(v.c.last_seen_at.desc(), v.c.number.desc())
        .limit(1)
    ).scalar()
    bind.execute(
        sa.update(d)
        .where(d.c.id == kept.id)
        .values(
            url=newest.url,
            index_no=newest.index_no,
            title=newest.title,
            report_year=newest.report_year,
            publisher=newest.publisher,
            pub_date=newest.pub_date,
            missing_fields=newest.missing_fields,
            first_seen_at=min(doc.row.first_seen_at for doc in group),
            last_seen_at=newest.last_seen_at,
            last_run_id=max(run_ids) if run_ids else None,
            latest_version_id=latest_version,
        )
    )
    bind.execute(
        sa.update(_entries)
        .where(_entries.c.document_id == kept.id)
        .values(latest=sa.case((_entries.c.version_id == latest_version, sa.true()), else_=sa.false()))
    )


def _move_alerts(
    bind: sa.Connection, site_key: str, kept_id: int, dropped_ids: list[int], renumbered: dict[tuple[int, int], int]
) -> None:
    """Alerts of merged documents follow them; document-keyed keys are re-keyed when free.

    Keys as :func:`storage.outbox.alert_key` wrote them at the time of writing:
    ``report_removed:SITE:docN`` and ``report_changed:SITE:docN:vM``.
    """
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    a = _alerts
    for document_id in dropped_ids:
        rekeys = {f"report_removed:{site_key}:doc{document_id}": f"report_removed:{site_key}:doc{kept_id}"}
        for (old_document, old_number), new_number in renumbered.items():
            if old_document == document_id:
                rekeys[f"report_changed:{site_key}:doc{document_id}:v{old_number}"] = (
                    f"report_changed:{site_key}:doc{kept_id}:v{new_number}"
                )
        for old_key, new_key in rekeys.items():
            alert = bind.execute(sa.select(a.c.id, a.c.state).where(a.c.key == old_key)).one_or_none()
            if alert is None:
                continue
            if bind.execute(sa.select(a.c.id).where(a.c.key == new_key)).first() is None:
                bind.execute(sa.update(a).where(a.c.id == alert.id).values(key=new_key))
            elif alert.state == "open":
                bind.execute(
                    sa.update(a)
                    .where(a.c.id == alert.id)
                    .values(
                        state="resolved",
                        resolved_at=now,
                        resolution=f"merged into report {kept_id}: the same report at another URL",
                    )
                )
    bind.execute(sa.update(a).where(a.c.document_id.in_(dropped_ids)).values(document_id=kept_id))
