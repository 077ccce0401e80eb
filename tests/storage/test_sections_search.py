"""Sections stored per version, the 0011 backfill, and search within a section (both backends)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

import storage.search.postgres as search_postgres
from storage import open_archive, record_report, start_run, sync_site
from storage.db import current_revision, downgrade, head_revision, migrate
from storage.models import Document, Version
from storage.search import SearchFilters, search
from storage.sectioning import sections_json
from storage.sections import parse_section_filter
from tests.conftest import POSTGRES_URL_ENV, reset_postgres, service_url
from tests.storage.conftest import SITE_A

_FORCED_SHARE = {"postgresql-walk": 1.0, "postgresql-gin": None}


@pytest.fixture(params=["sqlite", "postgresql-walk", "postgresql-gin"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """SQLite, and PostgreSQL answering by each of its two strategies (as in test_search)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    url = service_url(POSTGRES_URL_ENV, "PostgreSQL")
    reset_postgres(url)
    share = _FORCED_SHARE[request.param]
    monkeypatch.setattr(search_postgres, "_estimated_share", lambda session, phrases: share)
    return url


def post2019(overview: str, problems: str, year: int = 2023) -> str:
    return (
        f"根据《条例》规定，现公布{year}年度报告。\n"
        f"一、总体情况\n{overview}\n"
        "二、主动公开政府信息情况\n规章\t0\t0\t0\n"
        "三、收到和处理政府信息公开申请情况\n一、本年新收政府信息公开申请数量\t5\t0\t0\t0\t0\t0\t5\n"
        "四、政府信息公开行政复议、行政诉讼情况\n0\t0\t0\t0\t0\n"
        f"五、存在的主要问题及改进情况\n{problems}\n"
        "六、其他需要报告的事项\n本年度未收取信息处理费。"
    )


PRE2019 = (
    "一、概述\n2015年，我局高度重视政府信息公开工作。\n"
    "二、主动公开政府信息情况\n共主动公开信息120条。\n"
    "三、依申请公开政府信息办理情况\n未收到申请。\n"
    "四、政府信息公开的收费及减免情况\n无。\n"
    "五、有关政府信息公开行政复议、行政诉讼、行政申诉的情况\n无。\n"
    "六、政府信息公开工作存在的主要问题及改进措施\n专职工作人员不足，网站栏目更新不及时。\n"
    "七、附表\n"
)

REPORTS: dict[str, tuple[str, int, str]] = {
    # name: (body, report year, publication date)
    "problems": (post2019("全年主动公开信息120条。", "一是信息公开工作人员不足；二是解读形式单一。"), 2023, "2024-01-20"),
    "overview": (post2019("我局克服人员不足的困难，主动公开信息98条。", "政策解读形式不够多样。", 2022), 2022, "2023-01-20"),
    "pre2019": (PRE2019, 2015, "2016-03-20"),
    "unsplit": (post2019("全年主动公开信息50条。", "工作人员不足。", 2021), 2021, "2022-01-20"),
    "apart": (post2019("新进人员三名。", "网站栏目建设不足。", 2020), 2020, "2021-01-20"),
}


@pytest.fixture
def sectioned(archive: sessionmaker[Session], sites: Any, new_run: Callable[..., int],
              make_item: Callable[..., Any]) -> dict[str, int]:
    """Five reports of one site, recorded as the crawl records them (sections computed by the
    extraction); "unsplit" stands for a version archived before sections were recorded."""
    run_id = new_run()
    ids: dict[str, int] = {}
    with archive() as session, session.begin():
        for name, (body, year, pub) in REPORTS.items():
            record_report(session, run_id, make_item(
                url=f"https://www.putian.gov.cn/nb/{name}.htm", title=f"莆田市统计局{year}年政府信息公开工作年度报告",
                index_no=f"idx-{name}", body_text=body, report_year=year, pub_date=pub,
                sections=None if name == "unsplit" else sections_json(body),
            ))
        for document in session.scalars(select(Document)):
            ids[document.url.rsplit("/", 1)[1].removesuffix(".htm")] = document.id
    return ids


def _found(archive: sessionmaker[Session], ids: dict[str, int], query: str, **kwargs: Any) -> list[str]:
    names = {document_id: name for name, document_id in ids.items()}
    with archive() as session:
        page = search(session, query, **kwargs)
        return sorted(names[hit.document_id] for hit in page.hits)


def test_record_report_stores_the_sections_it_is_given(archive, sectioned):
    """The crawl's extraction splits the text; storage keeps what it is given per version
    (None for a version whose text was never split)."""
    with archive() as session:
        latest = select(Document.id, Version.sections).join(Version, Version.id == Document.latest_version_id)
        stored = dict(session.execute(latest).all())
    assert stored[sectioned["problems"]] == sections_json(REPORTS["problems"][0])
    assert [s["key"] for s in stored[sectioned["problems"]]] == [
        "overview", "proactive", "requests", "review", "problems", "other",
    ]
    assert [s.get("topic") for s in stored[sectioned["pre2019"]]][5] == "problems"
    assert stored[sectioned["unsplit"]] is None


def test_a_phrase_counts_only_inside_the_asked_for_section(archive, sectioned):
    """Researchers' question: reports whose 存在的主要问题 section mentions 人员不足. The report
    that has the words in its 总体情况 only is left out; a pre-2019 report's problems part counts
    (by heading words, and by its topic for the key); a version never split cannot be checked."""
    assert _found(archive, sectioned, "人员不足") == ["overview", "pre2019", "problems", "unsplit"]
    for spec in ("问题", "problems", "存在的主要问题", "改进措施", "PROBLEMS"):
        assert _found(archive, sectioned, "人员不足", filters=SearchFilters(section=spec)) == ["pre2019", "problems"], spec
    assert _found(archive, sectioned, "人员不足", filters=SearchFilters(section="overview")) == ["overview"]
    assert _found(archive, sectioned, "人员不足", filters=SearchFilters(section="总体情况")) == ["overview"]
    assert _found(archive, sectioned, "人员不足", filters=SearchFilters(section="part6")) == ["pre2019"]
    assert _found(archive, sectioned, "人员不足", filters=SearchFilters(section="other")) == []
    for sort in ("date", "date_asc"):
        assert _found(archive, sectioned, "人员不足", filters=SearchFilters(section="问题"), sort=sort) == ["pre2019", "problems"]
    # other filters still apply
    since_2019 = SearchFilters(section="问题", year_from=2019, year_to=2030)
    assert _found(archive, sectioned, "人员不足", filters=since_2019) == ["problems"]


def test_every_word_must_be_in_the_same_section(archive, sectioned):
    """``人员 不足`` (two words) in the problems section: "apart" has 人员 in its overview and
    不足 in its problems section, so it does not count; a 1-character word is a prefix there too."""
    assert "apart" in _found(archive, sectioned, "人员 不足")
    assert _found(archive, sectioned, "人员 不足", filters=SearchFilters(section="问题")) == ["pre2019", "problems"]
    assert _found(archive, sectioned, "不足", filters=SearchFilters(section="问题")) == ["apart", "pre2019", "problems"]
    assert _found(archive, sectioned, "不", filters=SearchFilters(section="问题")) == ["apart", "overview", "pre2019", "problems"]


def test_the_snippet_comes_from_the_section(archive, sectioned):
    """The hit that counted is the one shown: the snippet is cut from the problems section."""
    with archive() as session:
        page = search(session, "人员不足", SearchFilters(section="问题"), sort="date")
        snippets = {hit.document_id: hit.snippet_text for hit in page.hits}
    assert snippets[sectioned["problems"]].startswith("五、存在的主要问题及改进情况")
    assert "人员不足" in snippets[sectioned["problems"]]


def test_an_unknown_section_is_refused():
    """A Latin name that is no section key is a usage error; Chinese words may name any heading."""
    with pytest.raises(ValueError, match="unknown section"):
        parse_section_filter("problem")
    assert parse_section_filter("") is None
    assert parse_section_filter("问题").keys == {"problems"}
    assert parse_section_filter("复议").keys == {"review"}
    assert parse_section_filter("保密审查").keys == frozenset()  # a pre-2019 heading's words only


def test_section_search_reads_on_past_the_first_candidates(archive, sites, new_run, make_item):
    """A section filter that keeps few of the index's candidates: the newest 70 reports have the
    words only in their overview, the 3 oldest in their problems section; a page still fills
    and pagination goes on, on every backend and strategy (the index hands candidates over in
    pages of 64 on SQLite and of a page's size on PostgreSQL)."""
    run_id = new_run()
    with archive() as session, session.begin():
        for n in range(73):
            problems = n < 3
            body = post2019(f"第{n}号。" + ("无。" if problems else "人员不足。"), "人员不足。" if problems else "无。")
            record_report(session, run_id, make_item(
                url=f"https://www.putian.gov.cn/nb/{n}.htm", title=f"报告{n}", index_no=f"idx-{n}",
                body_text=body, report_year=2023, pub_date=f"2024-{1 + n // 28:02d}-{1 + n % 28:02d}",
                sections=sections_json(body),
            ))
    with archive() as session:
        first = search(session, "人员不足", SearchFilters(section="问题"), sort="date", limit=2)
        assert [hit.title for hit in first.hits] == ["报告2", "报告1"] and first.has_more
        rest = search(session, "人员不足", SearchFilters(section="问题"), sort="date", limit=2, offset=2)
        assert [hit.title for hit in rest.hits] == ["报告0"] and not rest.has_more
        ranked = search(session, "人员不足", SearchFilters(section="problems"), limit=10)
        assert sorted(hit.title for hit in ranked.hits) == ["报告0", "报告1", "报告2"]


def test_migration_0011_splits_the_versions_already_archived(database_url, make_item):
    """An archive from before 0011: its versions' texts are split on the way up (and the column
    goes on the way down)."""
    Session = open_archive(database_url)
    engine = Session.kw["bind"]
    try:
        with Session() as session, session.begin():
            sync_site(session, SITE_A)
            run_id = start_run(session, [SITE_A.key]).id
            record_report(session, run_id, make_item(body_text=REPORTS["problems"][0]))
            record_report(session, run_id, make_item(url="https://www.putian.gov.cn/nb/p.htm", index_no="p",
                                                     title="2015年报告", report_year=2015, body_text=PRE2019))
            record_report(session, run_id, make_item(url="https://www.putian.gov.cn/nb/x.htm", index_no="x",
                                                     title="图片版", body_text="附件：年度报告.pdf"))
        downgrade(engine, "0010")
        assert current_revision(engine) == "0010"
        migrate(engine)
        assert current_revision(engine) == head_revision()
        with Session() as session:
            stored = {v.body_text: v.sections for v in session.scalars(select(Version))}
        assert stored[REPORTS["problems"][0]] == sections_json(REPORTS["problems"][0])
        assert [s["key"] for s in stored[PRE2019]] == [f"part{n}" for n in range(1, 8)]
        assert stored["附件：年度报告.pdf"] == []
        with Session() as session:
            found = search(session, "人员不足", SearchFilters(section="问题")).hits
            assert sorted(hit.title for hit in found) == ["2015年报告", "莆田市统计局2023年政府信息公开工作年度报告"]
            session.execute(update(Version).values(sections=None))
            session.commit()
            assert search(session, "人员不足", SearchFilters(section="问题")).hits == []
    finally:
        engine.dispose()
