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

The modules, each importing only those above it: :mod:`~storage.search.tokens` (tokenising,
phrases, FTS5 and tsquery expressions, tsvector and signature), :mod:`~storage.search.filters`
(:class:`SearchFilters` and the conditions and joins they become, the section post-filter),
:mod:`~storage.search.index` (writing and refreshing index entries),
:mod:`~storage.search.rank` (BM25 of the rank window), :mod:`~storage.search.sqlite` and
:mod:`~storage.search.postgres` (the two query paths), :mod:`~storage.search.snippets` and
:mod:`~storage.search.query` (:func:`search`). Import the public names from ``storage.search``.
"""

from __future__ import annotations

from storage.search.filters import SearchFilters
from storage.search.index import (
    FTS5_DDL,
    BulkRow,
    index_new_version,
    index_new_versions,
    index_rows,
    mark_latest,
    refresh_attachments,
    reindex_missing,
    reindex_version,
    remove_entries,
    sort_key,
)
from storage.search.listing import LISTING_ORDERS, ListedReport, ReportListing, list_reports
from storage.search.query import SORTS, SearchHit, SearchPage, search
from storage.search.rank import RANK_WINDOW
from storage.search.snippets import (
    highlight,
    highlight_pattern,
    iter_segments_text,
    snippet,
)
from storage.search.tokens import (
    Phrase,
    facet_tokens,
    fts5_query,
    index_tokens,
    query_phrases,
    signature,
    tsquery_literal,
    tsvector_literal,
)

__all__ = [
    "FTS5_DDL",
    "LISTING_ORDERS",
    "RANK_WINDOW",
    "SORTS",
    "BulkRow",
    "ListedReport",
    "Phrase",
    "ReportListing",
    "SearchFilters",
    "SearchHit",
    "SearchPage",
    "facet_tokens",
    "fts5_query",
    "highlight",
    "highlight_pattern",
    "index_new_version",
    "index_new_versions",
    "index_rows",
    "index_tokens",
    "iter_segments_text",
    "list_reports",
    "mark_latest",
    "query_phrases",
    "refresh_attachments",
    "reindex_missing",
    "reindex_version",
    "remove_entries",
    "search",
    "signature",
    "snippet",
    "sort_key",
    "tsquery_literal",
    "tsvector_literal",
]
