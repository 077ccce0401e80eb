"""Statistics tables: the demo's true numbers, the real corpus, quirks, text and the checks."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from crawler.demo.content import make_table3_numbers, table3
from crawler.demo.site import build_demo_site
from crawler.extract import extract_detail_from_bytes, parse_html
from crawler.extract.tables import (
    TABLE3_COLUMNS,
    TABLE3_ROWS_2019,
    TABLE3_ROWS_2021,
    evaluate_checks,
    tables_from_element,
    tables_from_text,
)
from crawler.extract.tables.grid import html_grid, parse_number
from spiders.attachments import body_is_only_attachments


@pytest.fixture(scope="module")
def demo():
    return build_demo_site()


def test_every_demo_report_gives_its_true_table3_and_format(demo):
    structured = 0
    for report in demo.expected_reports:
        page = demo.pages[report.path]
        fields, _ = extract_detail_from_bytes(page.body, "http://127.0.0.1" + report.path,
                                              page.content_type)
        if report.table_format is None:
            assert fields.tables is None or fields.tables["format"] == "prose", report.path
            continue
        if body_is_only_attachments(fields):
            continue  # the PDF-only report: its tables come from its PDF in the crawl (test_demo_pdf_only.py)
        structured += 1
        tables = fields.tables
        assert tables["format"] == report.table_format, report.path
        keys = TABLE3_ROWS_2021 if report.table_format == "2021" else TABLE3_ROWS_2019
        assert list(tables["table3"]["rows"]) == list(keys)
        assert list(tables["table3"]["rows"].values()) == report.table3, report.path
        assert tables["checks"] == {"balance": True, "row_totals": True, "outcome_sum": True}
        assert set(tables["table4"]) == {"review", "litigation_direct", "litigation_after_review"}
        assert "normative_documents" in tables["table2"]
    assert structured >= 10


def test_pre_2019_demo_reports_give_estimated_prose_numbers(demo):
    prose = [r for r in demo.expected_reports if r.table_format is None]
    assert prose
    for report in prose:
        page = demo.pages[report.path]
        fields, _ = extract_detail_from_bytes(page.body, "http://127.0.0.1" + report.path,
                                              page.content_type)
        if fields.image_only:
            continue  # the scanned report: its text comes from OCR in the crawl (test_ocr.py)
        assert fields.tables["format"] == "prose"
        assert fields.tables["prose"]["estimated"] is True
        assert isinstance(fields.tables["prose"]["proactive_items"], int)


@pytest.mark.corpus
def test_every_post_2019_corpus_report_parses_with_checks(corpus_dev: Path):
    with (corpus_dev / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["tables"]]
    assert rows
    for row in rows:
        raw = (corpus_dev / row["id"] / "page.html").read_bytes()
        fields, _ = extract_detail_from_bytes(raw, row["url"])
        tables = fields.tables
        assert tables["format"] == row["tables"], row["id"]
        assert len(tables["table3"]["rows"]) == 25
        assert all(value is not None for value in tables["checks"].values()), row["id"]
        assert tables["checks"] == {"balance": True, "row_totals": True, "outcome_sum": True}
        assert len(tables["table4"]["review"]) == 5


def _table(html: str):
    return parse_html(f"<html><body><div>{html}</div></body></html>").find("body")


def test_spans_expand_and_hostile_spans_are_capped():
    grid = html_grid(_table(
        '<table><tr><td rowspan="2">a</td><td colspan="2">b</td></tr><tr><td>c</td><td>d</td></tr>'
        '<tr><td rowspan="999999" colspan="999999">x</td></tr></table>'
    ).find(".//table"))
    assert grid[0][:3] == ["a", "b", "b"]
    assert grid[1][:3] == ["a", "c", "d"]
    assert len(grid) == 3 and len(grid[2]) <= 100


@pytest.mark.parametrize(
    ("cell", "value"),
    [("", 0), ("—", 0), ("无", 0), ("１２", 12), ("+3", 3), ("18651.06", 18651.06),
     ("123.4万元", 123.4), ("规章", None), ("2 0", 20)],
)
def test_cell_numbers(cell, value):
    assert parse_number(cell) == value


def _table3_html(numbers, table_format, columns_reversed=False):
    """Table 3 with a header typo, words split across <p> and empty cells for zero."""
    from crawler.demo.content import table_grid

    grid = table_grid(table3(numbers, table_format, blank_zero=True))
    rows = []
    for r, row in enumerate(grid):
        cells = list(row)
        label, values = cells[:3], cells[3:]
        if columns_reversed and r >= 1:  # both header rows and the data
            values = values[:6][::-1] + values[6:]
        cells = [c.replace("商业企业", "商 业<br>企业").replace("不掌握", "不掌捂") for c in label + values]
        rows.append("<tr>" + "".join(f"<td><p>{c}</p></td>" for c in cells) + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def test_rows_and_columns_match_by_label_not_position():
    import random

    numbers = make_table3_numbers(random.Random(7), "2021", 40)
    # Columns 1-6 printed in reverse order, with their headers reversed too.
    html = _table3_html(numbers, "2021", columns_reversed=True)
    tables = tables_from_element(_table(html))
    rows = tables["table3"]["rows"]
    assert rows["new_requests"] == numbers[0]
    assert rows["unavailable_not_held"] == numbers[12]  # the row label has a typo (不掌捂)
    assert tables["checks"]["balance"] is True


def test_checks_catch_an_inconsistent_table():
    import random

    numbers = make_table3_numbers(random.Random(3), "2019", 30)
    numbers[2][0] += 1  # 予以公开, 自然人: now the row total and the sums disagree
    tables = tables_from_element(_table(_table3_html(numbers, "2019")))
    assert tables["format"] == "2019"
    assert tables["checks"]["row_totals"] is False
    assert tables["checks"]["outcome_sum"] is False


def test_tables_from_flattened_text_as_in_a_pdf(demo):
    report = next(r for r in demo.expected_reports if r.table_format == "2021")
    page = demo.pages[report.path]
    fields, _ = extract_detail_from_bytes(page.body, "http://127.0.0.1" + report.path)
    text = fields.body_text  # cells separated by tabs, rows by lines
    tables = tables_from_text(text, report.report_year)
    assert list(tables["table3"]["rows"].values()) == report.table3
    assert tables["checks"]["outcome_sum"] is True


def test_checks_are_none_without_table3():
    assert evaluate_checks(None) == {"balance": None, "row_totals": None, "outcome_sum": None}
    assert TABLE3_COLUMNS[-1] == "total"


def test_post_2019_page_without_tables_has_none():
    assert tables_from_element(_table("<p>本年主动公开信息12条。</p>"), "本年主动公开信息12条。", 2023) is None
    prose = tables_from_element(_table("<p>x</p>"), "全年主动公开信息12条，收到信息公开申请3件。", 2012)
    assert prose["prose"] == {"proactive_items": 12, "requests_received": 3, "estimated": True}
