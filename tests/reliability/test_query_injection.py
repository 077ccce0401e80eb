"""Row 21: query injection with a LIKE oracle, integer parameters included.

What a researcher (or a scanner) types into a search box is hostile input: ``%`` and ``_`` are
LIKE wildcards, ``\\`` an escape, quotes end SQL strings, and ``AND OR NOT NEAR * " ( ) : ^`` are
FTS5 / tsquery syntax. An archive of known reports whose titles, bodies, publishers and regions
contain exactly those characters is searched through every surface: the real ``nianbao search``
CLI (a child process) and the real ``nianbao serve`` on 127.0.0.1 (``/search``, ``/api/search``,
``/search.jsonl``) with the site, region, level and publisher filters. The answers must equal an *oracle* computed in Python
over the known reports, in which every such character is literal:

- full-text ``q``: the query's letter/digit/CJK segments (everything else separates them, as the
  search documents) must each occur literally: a CJK segment as a substring of the title or the
  body, a Latin/digit segment as a whole word; a query with no such segment finds nothing. So a
  wildcard or an operator never widens a search: ``%`` finds nothing, ``复议 OR 撤销`` needs the
  word ``or``;
- LIKE filters (region, publisher): a literal substring;
- site and level: exact equality.

Integer parameters (years, page, per_page, ids, versions, limit, offset) given huge, negative,
as floats or as ``1 OR 1=1`` give 422/404 on the web and a one-line usage error from the CLI,
never a 500 or a traceback. SQLite (FTS5) and PostgreSQL (tsvector).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from crawler.config import SiteConfig
from crawler.items import ReportItem
from storage import finish_run, open_archive, record_report, start_run, sync_site
from storage.models import Document
from tests.crawler.harness import run_nianbao
from tests.reliability.test_stored_xss import nianbao_serve

SITES = (
    SiteConfig(key="pct-gov", name="甲局", region="示范省100%市", level="department", family="generic",
               list_urls=("http://127.0.0.1:9/pct/",)),
    SiteConfig(key="und-gov", name="乙局", region="示范省_下划线县", level="department", family="generic",
               list_urls=("http://127.0.0.1:9/und/",)),
    SiteConfig(key="plain-gov", name="丙县人民政府", region="示范省平常县", level="government", family="generic",
               list_urls=("http://127.0.0.1:9/plain/",)),
)


@dataclass(frozen=True)
class Known:
    """One known report: what the oracle sees."""

    site: str
    path: str
    title: str
    body: str
    publisher: str
    year: int

    @property
    def region(self) -> str:
        return next(s.region for s in SITES if s.key == self.site)

    @property
    def level(self) -> str:
        return next(s.level for s in SITES if s.key == self.site)


REPORTS = (
    Known("pct-gov", "p1", "甲局2023年政府信息公开工作年度报告（完成率100%）",
          "公开率100%，复议a%b案件2件。", "甲局%办公室", 2023),
    Known("und-gov", "u1", "乙局2023年政府信息公开工作年度报告_草案",
          "文件编号a_b，引号'单'与\"双\"。OR 1=1 --", "乙局_办公室", 2023),
    Known("plain-gov", "c1", "丙县2023年政府信息公开工作年度报告\\修订",
          "反斜杠\\路径。复议 AND 诉讼 NOT 撤销 NEAR(行政) * 星号 (括号) 列:值 ^开头 \"引用\"", "丙县\\办公室", 2023),
    Known("plain-gov", "c2", "丙县2022年政府信息公开工作年度报告", "复议 诉讼 普通文本 ab 案件。", "丙县人民政府办公室", 2022),
    Known("pct-gov", "p2", "甲局2021年政府信息公开工作年度报告", "百分之百 a b 分开，撤销1件。", "甲局'办公室", 2021),
)

# What researchers and scanners type: wildcards, escapes, quotes, SQL, FTS5 and tsquery syntax.
HOSTILE_QUERIES = (
    "%", "_", "\\", "'", '"', "%%", "a%b", "a_b", "100%", "%复议%", "复_议", "复%", "_草案",
    "' OR 1=1 --", "1 OR 1=1", "'; DROP TABLE documents; --", "复议 AND 诉讼", "复议 OR 撤销", "NOT 撤销",
    "NEAR(复议 诉讼)", "复*", '"复议"', "title:复议", "{title}:复议", "(复议)", "^开头", "复议 -诉讼",
    "撤销 & 复议", "复议 | 撤销", "!撤销", "复议:*", "<->", "a b", "ab", "年度报告",
)
# LIKE-filter values: each must match only itself.
HOSTILE_FILTERS = ("%", "_", "\\", "'", "100%", "_下划线", "%办公室", "甲局%", "乙局_办", "丙县\\办", "' OR 1=1 --",
                   "%%", "示范省", "办公室")

_CJK = re.compile(r"^[\u4e00-\u9fff]+$")
_ASCII_WORD = re.compile(r"^[a-z0-9]+$")


def _segments(query: str) -> list[str]:
    return re.findall(r"[^\W_]+", query.lower())


def _segment_in(segment: str, field: str) -> bool:
    if _CJK.match(segment):
        return segment in field
    assert _ASCII_WORD.match(segment), f"oracle only handles CJK or ASCII segments: {segment!r}"
    return segment in re.findall(r"[a-z0-9]+", field.lower())


def fts_oracle(query: str, reports: tuple[Known, ...] = REPORTS) -> set[str]:
    """The reports a literal reading of ``query`` finds (paths); see the module docstring."""
    segments = _segments(query)
    if not segments:
        return set()
    return {r.path for r in reports if all(_segment_in(s, r.title) or _segment_in(s, r.body) for s in segments)}


def like_oracle(needle: str, field: str) -> set[str]:
    """Reports whose ``field`` contains ``needle`` literally (wildcards match only themselves)."""
    return {r.path for r in REPORTS if needle in getattr(r, field)}


def build_archive(database_url: str) -> dict[int, str]:
    """The known reports, recorded through the archive's own write path; document id → path."""
    sessions = open_archive(database_url)
    try:
        with sessions() as session, session.begin():
            for site in SITES:
                sync_site(session, site)
            run = start_run(session, [s.key for s in SITES])
            for report in REPORTS:
                record_report(session, run.id, ReportItem(
                    site_key=report.site, url=f"http://127.0.0.1:9/{report.site}/{report.path}.htm", title=report.title,
                    publisher=report.publisher, pub_date=f"{report.year + 1}-01-20", report_year=report.year,
                    body_text=report.body, fetched_at=datetime(2024, 2, 1, tzinfo=UTC),
                ))
            finish_run(session, run.id)
        with sessions() as session:
            rows = session.execute(select(Document.id, Document.url)).all()
            return {document_id: url.rsplit("/", 1)[1].removesuffix(".htm") for document_id, url in rows}
    finally:
        sessions.kw["bind"].dispose()


@pytest.fixture
def archive(database_url: str) -> dict[int, str]:
    paths = build_archive(database_url)
    assert sorted(paths.values()) == sorted(r.path for r in REPORTS)
    return paths


@pytest.fixture
def web(tmp_path: Path, database_url: str, archive: dict[int, str]) -> Iterator[httpx.Client]:
    with nianbao_serve(database_url, tmp_path / "data", tmp_path) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def api_paths(web: httpx.Client, archive: dict[int, str], params: dict[str, Any]) -> set[str]:
    """The paths ``/api/search`` finds (all pages), after checking the answer is a clean 200."""
    response = web.get("/api/search", params={"per_page": 100, **params})
    assert response.status_code == 200, (params, response.text[:300])
    body = response.json()
    assert body["has_more"] is False
    return {archive[hit["id"]] for hit in body["hits"]}


def test_full_text_queries_match_the_literal_oracle_on_every_web_surface(web: httpx.Client, archive: dict[int, str]) -> None:
    """Wildcards, quotes, SQL and FTS operators in ``q`` are literal on /api/search, /search and
    /search.jsonl: the hits are exactly the oracle's, and no query is an error."""
    assert fts_oracle("复议") == {"p1", "c1", "c2"}  # the oracle itself sees the archive
    assert api_paths(web, archive, {"q": "复议"}) == {"p1", "c1", "c2"}
    for query in HOSTILE_QUERIES:
        expected = fts_oracle(query)
        assert api_paths(web, archive, {"q": query}) == expected, query
        exported = web.get("/search.jsonl", params={"q": query})
        assert exported.status_code == 200, (query, exported.text[:300])
        assert {archive[json.loads(line)["id"]] for line in exported.text.splitlines()} == expected, query
        page = web.get("/search", params={"q": query})
        assert page.status_code == 200, (query, page.text[:300])
        assert page.text.count('class="hit"') == len(expected), query
        assert "Traceback" not in page.text


def test_like_filters_treat_wildcards_as_literal_text(web: httpx.Client, archive: dict[int, str]) -> None:
    """Region and publisher filters (SQL LIKE inside) match only the literal text; site and
    level are exact."""
    everything = fts_oracle("年度报告")
    assert everything == {r.path for r in REPORTS}
    for needle in HOSTILE_FILTERS:
        assert api_paths(web, archive, {"q": "年度报告", "region": needle}) == like_oracle(needle, "region"), needle
        assert api_paths(web, archive, {"q": "年度报告", "publisher": needle}) == like_oracle(needle, "publisher"), needle
        assert api_paths(web, archive, {"q": "年度报告", "site": needle}) == set(), needle
        assert api_paths(web, archive, {"q": "年度报告", "level": needle}) == set(), needle
    assert api_paths(web, archive, {"q": "复议", "site": ["plain-gov", "pct-gov' OR 1=1 --"]}) == {"c1", "c2"}
    assert api_paths(web, archive, {"q": "年度报告", "level": "government"}) == {"c1", "c2"}


def cli_search(tmp_path: Path, database_url: str, *args: str) -> set[str] | None:
    result = run_nianbao("--db", database_url, "search", *args, "--format", "json", "--limit", "100", cwd=tmp_path, timeout=60)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, (args, result.stderr)
    return {hit["url"].rsplit("/", 1)[1].removesuffix(".htm") for hit in json.loads(result.stdout)}


def test_cli_search_matches_the_oracle(tmp_path: Path, database_url: str, archive: dict[int, str]) -> None:
    """``nianbao search`` (a real child process) with hostile queries and LIKE filters."""
    # A few of the web test's cases: each child process costs seconds on a loaded machine, and
    # the CLI and the web app share storage.search.
    for query in ("%", "a%b", "' OR 1=1 --", "复议 OR 撤销"):
        assert cli_search(tmp_path, database_url, query) == fts_oracle(query), query
    for option, needle, field in (("--region", "_下划线", "region"), ("--publisher", "丙县\\办", "publisher"),
                                  ("--publisher", "%", "publisher")):
        assert cli_search(tmp_path, database_url, "年度报告", option, needle) == like_oracle(needle, field), needle


HUGE = str(2**70)
BAD_INTEGERS = (HUGE, "-" + HUGE, "-1", "0", "1.5", "1e3", "1 OR 1=1", "1; DROP TABLE sites", "0x10", "")


def test_integer_parameters_out_of_range_are_client_errors_on_the_web(web: httpx.Client, archive: dict[int, str]) -> None:
    """Years, pages, per_page, ids and version numbers: 422 or 404, never a 500."""
    report_id = min(archive)
    query_params = {
        "/api/search": ("year", "from_year", "to_year", "page", "per_page"), "/search": ("year", "from_year", "to_year", "page"),
        "/search.jsonl": ("from_year", "page"), "/api/stats": ("from_year", "to_year"), "/stats": ("from_year", "to_year"),
        "/api/health": ("page", "per_page"), "/health": ("page",), f"/api/reports/{report_id}": ("version",),
        f"/reports/{report_id}": ("version",), f"/api/reports/{report_id}/diff": ("old", "new"),
    }
    for path, names in query_params.items():
        for name in names:
            for bad in BAD_INTEGERS:
                params: dict[str, Any] = {"q": "复议", **({"old": 1, "new": 1} if "diff" in path else {})}
                response = web.get(path, params={**params, name: bad})
                accepted = bad == "" and response.status_code == 200  # an empty value is "not given"
                assert accepted or response.status_code in (404, 422), (
                    path, name, bad, response.status_code, response.text[:200],
                )
    for template in ("/api/reports/{}", "/reports/{}", "/api/reports/{}/diff", "/reports/{}/raw", "/attachments/{}"):
        for bad in (HUGE, "-" + HUGE, "-1", "0", "1.5", "1 OR 1=1", "1%20OR%201=1", "%27"):
            response = web.get(template.format(bad))
            assert response.status_code in (404, 422), (template, bad, response.status_code, response.text[:200])
    # A year range the facet index cannot enumerate (all 9999 years) is checked on rows: no error.
    assert api_paths(web, archive, {"q": "复议", "from_year": 1, "to_year": 9999}) == {"p1", "c1", "c2"}
    assert api_paths(web, archive, {"q": "复议", "from_year": 2023, "to_year": 2022}) == set()


def test_integer_options_out_of_range_are_one_line_cli_errors(tmp_path: Path, database_url: str, archive: dict[int, str]) -> None:
    """``nianbao search/show/diff/stats`` with bad integers: a usage error, not an internal error."""
    report_id = str(min(archive))
    # Before the range checks, a year range past 64 bits and a huge id were OverflowErrors on
    # SQLite ("internal error"); the other cases are click's own parsing.
    cases = [
        ("search", "复议", "--from-year", "1", "--to-year", HUGE), ("search", "复议", "--year", "1 OR 1=1"),
        ("search", "复议", "--limit", HUGE), ("show", HUGE), ("diff", report_id, "1", HUGE), ("stats", "--from-year", HUGE),
    ]
    for args in cases:
        result = run_nianbao("--db", database_url, *args, cwd=tmp_path, timeout=60)
        assert result.returncode == 2, (args, result.returncode, result.stdout, result.stderr)
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "internal error" not in errors[0], (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
