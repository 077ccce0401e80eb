"""The CJK full-text search: tokens, query building, the index on both backends, hostile input."""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

import storage.search as search_module
import storage.search.postgres as search_postgres
from storage import open_archive, record_report
from storage.models import SIGNATURE_BITS, Document, SearchEntry, Site, Version, utcnow
from storage.search import (
    BulkRow,
    Phrase,
    SearchFilters,
    fts5_query,
    highlight_pattern,
    index_rows,
    index_tokens,
    query_phrases,
    reindex_version,
    search,
    signature,
    snippet,
    tsquery_literal,
    tsvector_literal,
)
from tests.conftest import POSTGRES_URL_ENV, reset_postgres, service_url
from tests.storage.conftest import SITE_B

#: How PostgreSQL answers a query: walking the sort-key index with the signature test, or the
#: GIN index; which one the planner statistics pick is tested on a larger archive below.
_FORCED_SHARE = {"postgresql-walk": 1.0, "postgresql-gin": None}


@pytest.fixture(params=["sqlite", "postgresql-walk", "postgresql-gin"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every search test runs on SQLite and on both PostgreSQL strategies."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    url = service_url(POSTGRES_URL_ENV, "PostgreSQL")
    reset_postgres(url)
    share = _FORCED_SHARE[request.param]
    monkeypatch.setattr(search_postgres, "_estimated_share", lambda session, phrases: share)
    return url

# --- pure functions ---------------------------------------------------------------------------


def test_index_tokens_are_bigrams_plus_the_runs_last_character_and_lowercased_words():
    assert index_tokens("政府信息，公开PDF 2023年") == [
        "政府", "府信", "信息", "息", "公开", "开", "pdf", "2023", "年",
    ]
    assert index_tokens("") == []
    assert index_tokens("“”<>!@#") == []


def test_query_phrases_mirror_the_indexed_tokens():
    assert query_phrases("报告") == [Phrase(("报告",))]
    assert query_phrases("信息公开") == [Phrase(("信息", "息公", "公开"))]
    # a 1-character query is a prefix: the character may start a bigram in the text
    assert query_phrases("报") == [Phrase(("报",), prefix=True)]
    # "2023年报告": the word, then the run's bigrams; a run inside a segment keeps its last char
    assert query_phrases("年度报告2023") == [Phrase(("年度", "度报", "报告", "告", "2023"))]
    # separators split phrases; duplicates collapse
    assert query_phrases('"公开" NEAR(复议 *) 公开') == [
        Phrase(("公开",)), Phrase(("near",)), Phrase(("复议",)),
    ]
    assert query_phrases("' OR 1=1 --") == [Phrase(("or",)), Phrase(("1",))]
    assert query_phrases("%%% \x00\x1f ***") == []


def test_fts5_and_tsquery_expressions_quote_every_token():
    phrases = [Phrase(("政府", "府信")), Phrase(("报",), prefix=True)]
    assert fts5_query(phrases) == "{title body attachments} : (\"政府 府信\" AND \"报\" *)"
    assert fts5_query(phrases, [["s1", "s2"]]).endswith(" AND facets : (\"s1\" OR \"s2\")")
    assert tsquery_literal(phrases) == "('政府' <-> '府信') & '报':*"
    assert tsquery_literal(phrases, [['y2023']]).endswith(" & '#y2023'")


def test_tsvector_literal_has_positions_and_weights():
    assert tsvector_literal([["年报"], ["政府", "年报"]]) == "'年报':1A,3D '政府':2D"
    assert tsvector_literal([[], ["年报"], [], ["s1"]]) == "'年报':1D '#s1':2B"


def test_signature_has_a_bit_per_lexeme_and_covers_any_subset():
    text_ = signature(["政府", "府信", "#y2023"])
    assert len(text_) == SIGNATURE_BITS and set(text_) <= {"0", "1"}
    assert text_.count("1") <= 3
    bit = zlib.crc32("政府".encode()) % SIGNATURE_BITS
    assert text_[bit] == "1"
    query = signature(["政府", "#y2023"])
    assert all(row == "1" for q, row in zip(query, text_, strict=True) if q == "1")
    assert signature([]) == "0" * SIGNATURE_BITS


def test_snippet_highlights_the_query_around_its_first_hit():
    body = "前言" * 100 + "本机关收到行政复议申请3件。" + "结尾" * 100
    parts = snippet(body, highlight_pattern("复议"), width=40)
    assert parts[0] == ("…", False) and parts[-1] == ("…", False)
    assert ("复议", True) in parts
    assert sum(len(p) for p, _ in parts[1:-1]) == 40
    assert snippet("", "复议") == []
    assert snippet("没有命中的正文", "复议") == [("没有命中的正文", False)]


# --- the index on SQLite and PostgreSQL --------------------------------------------------------

BODIES = {
    "a": "一、总体情况\n本机关认真贯彻《政府信息公开条例》。本年收到行政复议申请2件。",
    "b": "二、主动公开政府信息情况\n本年主动公开文件388件，年报按时发布。",
    "c": "三、存在问题\n公开平台建设滞后。Annual REPORT in English, PDF attached.",
}


@pytest.fixture
def indexed(
    archive: sessionmaker[Session], sites: Any, new_run: Callable[..., int], make_item: Callable[..., Any]
) -> sessionmaker[Session]:
    run_id = new_run()
    with archive() as session, session.begin():
        for key, body in BODIES.items():
            record_report(
                session,
                run_id,
                make_item(
                    url=f"https://www.putian.gov.cn/nb/{key}.htm",
                    title=f"莆田市统计局202{ord(key) - 96}年政府信息公开工作年度报告",
                    body_text=body,
                    report_year=2020 + ord(key) - 96,
                    pub_date=f"202{ord(key) - 95}-01-1{ord(key) - 96}",
                ),
            )
        record_report(
            session,
            run_id,
            make_item(
                site_key=SITE_B.key, url="https://www.pingtan.gov.cn/nb/x.htm", title="平潭2023年报",
                publisher="平潭综合实验区管委会", body_text="行政复议和行政诉讼情况。", report_year=2023, pub_date="2024-03-01",
            ),
        )
    return archive


def _titles(page) -> list[str]:
    return sorted(hit.title for hit in page.hits)


def test_two_character_words_and_longer_phrases_match(indexed):
    with indexed() as session:
        assert len(search(session, "公开").hits) == 3  # 公开 appears in a, b, c and every title
        assert [h.url.rsplit("/", 1)[-1] for h in search(session, "复议", sort="date").hits] == ["x.htm", "a.htm"]
        assert [h.url[-5:] for h in search(session, "政府信息公开条例").hits] == ["a.htm"]
        assert [h.url[-5:] for h in search(session, "年报按时").hits] == ["b.htm"]
        assert search(session, "条例政府").hits == []  # bigrams present, but not in this order
        assert [h.url[-5:] for h in search(session, "report pdf").hits] == ["c.htm"]
        assert len(search(session, "388").hits) == 1
        # one character: any text containing it, including as a run's last character
        assert {h.url[-5:] for h in search(session, "滞").hits} == {"c.htm"}
        assert {h.url[-5:] for h in search(session, "况").hits} == {"a.htm", "b.htm", "x.htm"}


def test_ranking_snippets_and_pagination(indexed):
    with indexed() as session:
        page = search(session, "行政复议")
        assert [h.url[-5:] for h in page.hits] == ["x.htm", "a.htm"]  # the shorter text ranks first
        assert all(h.score is not None and h.score > 0 for h in page.hits)
        assert ("行政复议", True) in page.hits[1].snippet
        first = search(session, "公开", limit=2, sort="date")
        rest = search(session, "公开", limit=2, offset=2, sort="date")
        assert first.has_more and not rest.has_more
        assert [h.pub_date for h in first.hits + rest.hits] == ["2024-01-13", "2023-01-12", "2022-01-11"]


def test_filters(indexed):
    with indexed() as session:
        assert {h.site_key for h in search(session, "复议", SearchFilters(sites=(SITE_B.key,))).hits} == {SITE_B.key}
        assert search(session, "复议", SearchFilters(sites=("no-such-site",))).hits == []
        assert search(session, "公开", SearchFilters(year_from=2023, year_to=2022)).hits == []
        assert len(search(session, "复议", SearchFilters(region="平潭")).hits) == 1
        assert len(search(session, "复议", SearchFilters(level="department")).hits) == 1
        assert [h.report_year for h in search(session, "公开", SearchFilters(year=2022)).hits] == [2022]
        assert len(search(session, "公开", SearchFilters(year_from=2022, year_to=2023)).hits) == 2
        assert len(search(session, "公开", SearchFilters(published_from="2022-01-01", published_to="2023-12-31")).hits) == 2
        assert len(search(session, "复议", SearchFilters(publisher="统计局")).hits) == 1
        if hasattr(Version, "has_tables"):
            assert search(session, "公开", SearchFilters(has_tables=True)).hits == []
            assert len(search(session, "公开", SearchFilters(has_tables=False, image_only=False)).hits) == 3


def test_only_the_latest_version_unless_history_is_asked_for(indexed, new_run, make_item):
    run_id = new_run()
    with indexed() as session, session.begin():
        edited = make_item(url="https://www.putian.gov.cn/nb/a.htm", body_text="改过的正文，不再提及那件事。")
        record_report(session, run_id, edited)
    with indexed() as session:
        assert search(session, "政府信息公开条例").hits == []
        history = search(session, "政府信息公开条例", all_versions=True).hits
        assert [h.version_number for h in history] == [1]
        assert [h.version_number for h in search(session, "改过").hits] == [2]
        assert session.scalar(select(SearchEntry.tokens).where(SearchEntry.version_id == history[0].version_id)) > 0
    with indexed() as session, session.begin():  # the page changes back: version 1 is current again
        record_report(session, new_run(), make_item(url="https://www.putian.gov.cn/nb/a.htm", body_text=BODIES["a"]))
    with indexed() as session:
        assert [h.version_number for h in search(session, "政府信息公开条例").hits] == [1]
        assert search(session, "改过").hits == []


def test_reindex_version_replaces_its_index_row(indexed):
    with indexed() as session, session.begin():
        version_id = search(session, "年报按时").hits[0].version_id
        reindex_version(session, version_id)
        reindex_version(session, version_id)
    with indexed() as session:
        assert [h.version_id for h in search(session, "年报按时").hits] == [version_id]
        if session.get_bind().dialect.name == "sqlite":
            # FTS5's own consistency check fails when a contentless row was deleted with the
            # wrong tokens.
            session.execute(text("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))


def test_the_query_uses_the_index(indexed):
    with indexed() as session:
        if session.get_bind().dialect.name == "sqlite":
            plan = session.execute(
                text("EXPLAIN QUERY PLAN SELECT rowid FROM search_fts WHERE search_fts MATCH :q"), {"q": '"公开"'}
            ).all()
            assert any("VIRTUAL TABLE INDEX" in str(row) for row in plan)
        else:
            session.execute(text("SET enable_seqscan = off"))
            plan = session.execute(
                text("EXPLAIN SELECT version_id FROM search_entries WHERE tsv @@ CAST(:q AS tsquery)"), {"q": "'公开'"}
            ).scalars().all()
            assert any("ix_search_entries_tsv" in line for line in plan)


HOSTILE = st.one_of(
    st.text(max_size=60),
    st.sampled_from(['"', "'", 'NEAR(公开 复议', "*", "公*", "title:公开", "body:", "^公开", "公开 OR", "AND", "NOT 公开",
                     "'); DROP TABLE versions; --", "%' OR 1=1 --", "\x00", "\x1b[31m", "::", "<->", "!:*", "\\", "(公开)"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.lists(HOSTILE, min_size=1, max_size=4).map(" ".join))
def test_any_input_returns_results_or_nothing_never_an_error(indexed, query):
    with indexed() as session:
        page = search(session, query, limit=5)
        assert isinstance(page.hits, list)
        assert all(hit.document_id > 0 for hit in page.hits)


def test_attachment_text_is_indexed_when_linked(indexed):
    try:
        from storage.attachments import link_attachment, record_attachment
    except ImportError:
        pytest.skip("attachments are not stored by this version")
    from tests.storage.conftest import SITE_A

    with indexed() as session, session.begin():
        attachment = record_attachment(
            session, sha256="a" * 64, size=10, media_type="application/pdf", text="附件写明了独特的统计口径说明。"
        )
        link_attachment(session, site_key=SITE_A.key, report_url="https://www.putian.gov.cn/nb/b.htm",
                        url="https://www.putian.gov.cn/nb/P1.pdf", link_text="附件", attachment_id=attachment.id)
        # linking again changes nothing
        link_attachment(session, site_key=SITE_A.key, report_url="https://www.putian.gov.cn/nb/b.htm",
                        url="https://www.putian.gov.cn/nb/P1.pdf", link_text="附件", attachment_id=attachment.id)
    with indexed() as session:
        assert [h.url[-5:] for h in search(session, "统计口径").hits] == ["b.htm"]
        assert [h.url[-5:] for h in search(session, "年报按时").hits] == ["b.htm"]  # the body still
        if session.get_bind().dialect.name == "sqlite":
            session.execute(text("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))


def test_sort_key_orders_by_publication_date_then_version():
    from storage.search import sort_key

    assert sort_key(5, "2024-01-02") > sort_key(9, "2024-01-01") > sort_key(1, None)
    assert sort_key(7, "2024-01-01") > sort_key(6, "2024-01-01")
    assert sort_key(3, "not a date") == sort_key(3, None) == 3
    assert sort_key(3, "2024-01-01") & 0xFFFFFFFF == 3


# --- PostgreSQL's two strategies on an archive large enough for planner statistics -----------

_PHRASES = ["政策解读", "行政复议", "依申请公开", "重大建设项目", "主动公开", "统计年鉴", "信息处理费", "行政诉讼"]
_FILLER = ["本机关认真贯彻落实条例。", "进一步规范办理流程。", "加强平台建设。", "做好回应关切工作。"]


def _insert_reports(session: Session, site_levels: dict[int, str], reports: list[BulkRow]) -> None:
    """Sites ``测试{id}局`` and one-version documents straight into the tables, then indexed
    in bulk (:func:`storage.search.index_rows`): faster than recording hundreds of items."""
    now = utcnow()
    session.execute(Site.__table__.insert(), [
        {"id": i, "key": f"s{i}", "name": f"测试{i}局", "region": "示范省", "level": level, "family": "generic",
         "list_urls": [], "config": {}, "created_at": now, "updated_at": now}
        for i, level in site_levels.items()
    ])
    common = {"missing_fields": [], "first_seen_at": now, "last_seen_at": now}
    session.execute(Document.__table__.insert(), [
        {"id": r.id, "site_id": r.site_id, "url": f"https://t.example/{r.id}", "title": r.title, "report_year": r.report_year,
         "publisher": f"测试{r.site_id}局", "pub_date": r.pub_date, "latest_version_id": None, **common}
        for r in reports
    ])
    session.execute(Version.__table__.insert(), [
        {"id": r.id, "document_id": r.id, "number": 1, "content_hash": f"{r.id:064x}", "title": r.title,
         "publisher": f"测试{r.site_id}局", "pub_date": r.pub_date, "report_year": r.report_year, "body_text": r.body_text,
         "attachments": [], **common}
        for r in reports
    ])
    session.execute(text("UPDATE documents SET latest_version_id = id"))
    index_rows(session, reports)


@pytest.fixture
def larger_archive(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """400 reports on 8 sites over 6 years (with statistics on PostgreSQL), and their texts."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'larger.sqlite3'}"
    else:
        url = service_url(POSTGRES_URL_ENV, "PostgreSQL")
        reset_postgres(url)
    sessions = open_archive(url)
    rng = random.Random(7)
    texts: dict[int, tuple[str, int, int, str]] = {}
    with sessions() as session:
        rows = []
        for n in range(1, 401):
            site, year = 1 + n % 8, 2018 + n % 6
            # Common phrases in most reports, rarer ones in few, so both strategies get picked.
            words = [p for i, p in enumerate(_PHRASES) if rng.random() < (0.9 if i < 3 else 0.04)]
            body = "".join(rng.sample(_FILLER, 2) + words)
            pub = f"{year + 1}-0{1 + n % 3}-{10 + n % 19}"
            title = f"测试{site}局{year}年报告"
            rows.append(BulkRow(n, n, site, year, pub, title, body))
            texts[n] = (title + body, site, year, pub)
        _insert_reports(session, {i: "department" if i % 2 else "government" for i in range(1, 9)}, rows)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE search_entries"))
        session.commit()
    search_postgres._element_stats.clear()
    yield sessions, texts
    search_postgres._element_stats.clear()
    sessions.kw["bind"].dispose()


@pytest.mark.parametrize("larger_archive", ["postgresql"], indirect=True)
def test_planner_statistics_pick_the_strategy(larger_archive):
    sessions, _ = larger_archive
    with sessions() as session:
        common = search_postgres._estimated_share(session, query_phrases("政策解读"))
        assert common is not None and common > 0.5
        rare = search_postgres._estimated_share(session, query_phrases("信息处理费"))
        assert rare is None or rare < 0.1
        # a word the statistics never saw: rarer than any common lexeme, the GIN index's case
        assert search_postgres._estimated_share(session, query_phrases("从未出现")) is None


@pytest.mark.parametrize(
    ("larger_archive", "strategy"),
    [("sqlite", "auto"), ("postgresql", "auto"), ("postgresql", "walk"), ("postgresql", "gin")],
    indirect=["larger_archive"],
)
@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("政策解读", None),
        ("依申请公开", SearchFilters(year=2021)),
        ("行政复议", SearchFilters(year_from=2019, year_to=2020, level="government")),
        ("重大建设项目", None),
        ("行政诉讼", SearchFilters(sites=("s3",))),
        ("主动 公开", None),  # two phrases
        ("条例", SearchFilters(published_from="2021-01-01")),
        ("解读依申请", None),  # bigrams present in most reports, the phrase nowhere
    ],
)
def test_both_strategies_find_exactly_the_newest_matches(larger_archive, monkeypatch, strategy, query, filters):
    """A date-sorted page is the newest reports containing every query phrase, on either backend
    and whichever way PostgreSQL answers."""
    sessions, texts = larger_archive
    if strategy != "auto":
        share = 1.0 if strategy == "walk" else None
        monkeypatch.setattr(search_postgres, "_estimated_share", lambda session, phrases: share)
    filters = filters or SearchFilters()

    def wanted(n: int) -> bool:
        body, site, year, pub = texts[n]
        return (
            all(part in body for part in query.split())
            and (not filters.sites or f"s{site}" in filters.sites)
            and (filters.year is None or year == filters.year)
            and (filters.year_from is None or year >= filters.year_from)
            and (filters.year_to is None or year <= filters.year_to)
            and (filters.level is None or (filters.level == "government") == (site % 2 == 0))
            and (filters.published_from is None or pub >= filters.published_from)
        )

    expected = sorted((n for n in texts if wanted(n)), key=lambda n: search_module.sort_key(n, texts[n][3]), reverse=True)
    with sessions() as session:
        page = search(session, query, filters, sort="date", limit=15)
        assert [hit.version_id for hit in page.hits] == expected[:15]
        assert page.has_more == (len(expected) > 15)
        # Relevance: a best-first page of matches (the rank window's newest ones).
        ranked = search(session, query, filters, limit=200)
        assert len(ranked.hits) == min(200, len(expected))
        assert {hit.version_id for hit in ranked.hits} <= set(expected)
        scores = [hit.score for hit in ranked.hits]
        assert all(score is not None for score in scores) and scores == sorted(scores, reverse=True)


def test_the_signature_is_filled_for_entries_indexed_before_it_existed(postgres_url: str):
    """Migration 0006 computes the signature of entries that 0005 indexed."""
    from alembic import command

    from storage.db import alembic_config

    reset_postgres(postgres_url)
    sessions = open_archive(postgres_url)
    with sessions() as session:
        _insert_reports(session, {1: "department"}, [BulkRow(1, 1, 1, 2023, "2024-01-10", "测试局年报", "行政复议情况")])
        session.commit()
        expected = session.scalar(text("SELECT sig::text FROM search_entries"))
    engine = sessions.kw["bind"]
    with engine.begin() as connection:
        config = alembic_config(connection)
        command.downgrade(config, "0005")
        command.upgrade(config, "0006")
    with sessions() as session:
        row = session.execute(text("SELECT sig::text, site_id, report_year FROM search_entries")).one()
        assert row == (expected, 1, 2023)
        assert [hit.version_id for hit in search(session, "行政复议").hits] == [1]
    engine.dispose()
