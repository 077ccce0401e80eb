"""Tables from PDF attachments, format from the rows present, incompleteness and three-valued checks."""

from __future__ import annotations

import copy
import random
from pathlib import Path

import pytest

from crawler.attachments import extract_text
from crawler.attachments.pdf_tables import pdf_grids
from crawler.attachments.readers import read_pdf
from crawler.demo.content import make_table3_numbers
from crawler.demo.site import build_demo_site
from crawler.extract.tables import (
    TABLE3_ROWS_2021,
    best_tables,
    check_results_of,
    checks_flag,
    labelled_tables,
    tables_from_attachment,
    tables_from_grids,
    tables_from_text,
)
from crawler.extract.tables.checks import TABLE3_ROW_LABELS, assess, describe_check
from crawler.extract.tables.grid import text_grid

PDF = "application/pdf"

# Huai'an 2024 (szfgs2024.pdf), table 3 as printed.
HUAIAN_ROWS = {
    "new_requests": [3001, 53, 0, 0, 61, 4, 3119],
    "carried_over": [34, 0, 0, 0, 0, 0, 34],
    "granted": [1288, 21, 0, 0, 50, 3, 1362],
    "partially_granted": [447, 7, 0, 0, 0, 0, 454],
    "unavailable_not_held": [746, 12, 0, 0, 10, 1, 769],
    "other_no_correction": [67, 3, 0, 0, 1, 0, 71],
    "other_no_fee": [6, 0, 0, 0, 0, 0, 6],
    "other_misc": [108, 2, 0, 0, 0, 0, 110],
    "total": [2932, 53, 0, 0, 61, 4, 3050],
    "carried_forward": [103, 0, 0, 0, 0, 0, 103],
}


def _statuses(tables):
    return {r["name"]: r["status"] for r in tables["check_results"]}


def _assert_huaian_whole(tables):
    assert tables["format"] == "2021" and tables["format_basis"] == "table3"
    rows = tables["table3"]["rows"]
    assert list(rows) == list(TABLE3_ROWS_2021)
    assert all(len(v) == 7 for v in rows.values())
    for key, values in HUAIAN_ROWS.items():
        assert rows[key] == values, key
    assert tables["completeness"]["table3"] == {"status": "complete", "missing": []}
    assert tables["checks"] == {"balance": True, "row_totals": True, "outcome_sum": True}
    assert set(_statuses(tables).values()) == {"passed"}
    assert tables["table4"]["review"] == {"upheld": 72, "corrected": 64, "other": 178, "pending": 37, "total": 351}
    assert tables["table2"]["normative_documents"] == {"issued": 8, "repealed": 26, "in_force": 66}


@pytest.mark.corpus
def test_real_pdf_table3_comes_out_whole_through_the_sandbox(corpus_attachments: Path):
    """Huai'an 2024 is published as a PDF only: its table 3 (25 rows, 7 columns, printed over a
    page break, labels wrapped inside their cells) must come out whole and consistent through
    the sandboxed reader, as the attachment pipeline reads it."""
    result = extract_text(corpus_attachments / "szfgs2024.pdf", PDF)
    assert result.error is None and result.text
    assert result.grids, "pdfplumber found no ruled table"
    tables = tables_from_attachment(result.text, result.grids, 2024, result.layout_text)
    _assert_huaian_whole(tables)


@pytest.mark.corpus
def test_real_pdf_ruled_grid_alone_reads_table3_by_its_headers(corpus_attachments: Path):
    """A ruled PDF table split over two pages, with merged label cells, reads like an HTML
    table: the continuation is joined and merged cells repeat their text."""
    grids = pdf_grids(corpus_attachments / "szfgs2024.pdf")
    table3 = next(g for g in grids if any("新收" in c for row in g for c in row))
    assert len(table3[0]) == 10  # 3 label columns + 7 numbers
    assert any("结转下年度" in row[0] for row in table3)  # the part on the next page is joined
    _assert_huaian_whole(tables_from_grids(grids, "", 2024))


@pytest.mark.corpus
def test_real_pdf_text_route_keeps_wrapped_rows(corpus_attachments: Path):
    """PDF reports lose rows when a cell wraps: pypdf's text puts （二）部分公开's label on two
    lines and the （六） rows' labels on three with the numbers on a fourth. The text route
    joins them again (before, 21 of 25 rows came out and the format read as 2019)."""
    text, _ = read_pdf(corpus_attachments / "szfgs2024.pdf")
    _assert_huaian_whole(tables_from_text(text, 2024))


def test_wrapped_labels_in_text_lines_are_joined():
    """PDF reports lose rows when a cell wraps (the lines of Huai'an 2024's （六） rows)."""
    lines = [
        "（二）部分公开（区分处理的，只计这一情",
        "形，不计其他情形） 447 7 0 0 0 0 454",
        "（六）其",
        "他处理",
        "1、申请人无正当理由逾期不补",
        "正、行政机关不再处理其政府信",
        "息公开申请",
        "67 3 0 0 1 0 71",
        "3、其他 108 2 0 0 0 0 110",
    ]
    grid = text_grid(lines)
    assert ["（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "447", "7", "0", "0", "0", "0", "454"] in grid
    assert ["1、申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
            "67", "3", "0", "0", "1", "0", "71"] in grid


@pytest.fixture(scope="module")
def demo():
    return build_demo_site()


def test_demo_pdf_tables_come_from_pypdf_text_where_pdfplumber_cannot(demo, tmp_path):
    """The demo's PDFs have unruled tables in a non-embedded CJK font that pdfminer cannot map
    (its text comes out as (cid:N)): pypdf's text must still give the whole table 3."""
    report = next(r for r in demo.expected_reports if r.path.endswith(".htm") and any(
        p.endswith(".pdf") and p.rsplit("/", 1)[0] == r.path.rsplit("/", 1)[0] for p in demo.pages)
        and r.table_format == "2021")
    pdf_path = next(p for p in demo.pages if p.endswith(".pdf") and p.rsplit("/", 1)[0] == report.path.rsplit("/", 1)[0])
    file = tmp_path / "demo.pdf"
    file.write_bytes(demo.pages[pdf_path].body)
    result = extract_text(file, PDF)
    assert result.grids == []  # no ruled table
    tables = tables_from_attachment(result.text, result.grids, report.report_year, result.layout_text)
    assert tables["format"] == "2021"
    assert len(tables["table3"]["rows"]) == 25
    assert set(_statuses(tables).values()) == {"passed"}


def _whole_2021(seed=5):
    numbers = make_table3_numbers(random.Random(seed), "2021", 40)
    return {"columns": ["x"] * 7, "rows": dict(zip(TABLE3_ROWS_2021, numbers, strict=True))}


def test_table_with_rows_missing_is_incomplete_and_not_evaluated():
    """A PDF that lost （二）部分公开 and the three （六） rows still balanced (一+二 = 七+四),
    and was reported consistent: now its format comes from the rows present (table 2's 制发 →
    2021), it is incomplete with the missing rows named, and no check says true."""
    table3 = _whole_2021()
    for key in ("partially_granted", "other_no_correction", "other_no_fee", "other_misc"):
        del table3["rows"][key]
    tables = assess({"table2": {"regulations": {"issued": 1, "repealed": 0, "in_force": 11}},
                     "table3": table3, "table4": None}, 2024)
    assert tables["format"] == "2021" and tables["format_basis"] == "table2"
    assert tables["completeness"]["table3"]["status"] == "incomplete"
    assert tables["completeness"]["table3"]["missing"] == [
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
        TABLE3_ROW_LABELS["other_no_correction"], TABLE3_ROW_LABELS["other_no_fee"], "（六）其他处理 3.其他",
    ]
    assert tables["checks"] == {"balance": None, "row_totals": None, "outcome_sum": None}
    assert {r["name"]: r["status"] for r in tables["check_results"]}["balance"] == "not_evaluated"
    assert "部分公开" in tables["check_results"][0]["reason"]
    assert checks_flag(tables) == "incomplete"


def test_format_without_the_other_rows_falls_back_to_the_report_year():
    """Without （六） rows and without table 2, the 2021 form applies from report year 2021 on."""
    table3 = _whole_2021()
    for key in ("other_no_correction", "other_no_fee", "other_misc"):
        del table3["rows"][key]
    assert assess({"table3": copy.deepcopy(table3)}, 2023)["format_basis"] == "report_year"
    assert assess({"table3": table3}, 2020)["format"] == "2019"


def test_failed_check_carries_the_numbers():
    """A report whose 自然人 column does not balance says so with the numbers."""
    table3 = _whole_2021()
    table3["rows"]["carried_forward"][0] += 5
    table3["rows"]["carried_forward"][6] += 5
    tables = assess({"table3": table3, "table4": {
        g: {"upheld": 1, "corrected": 0, "other": 0, "pending": 0, "total": 2 if g == "review" else 1}
        for g in ("review", "litigation_direct", "litigation_after_review")}}, 2023)
    results = {r["name"]: r for r in tables["check_results"]}
    assert results["balance"]["status"] == "failed"
    assert [f["where"] for f in results["balance"]["failures"]] == ["自然人", "总计"]
    failure = results["balance"]["failures"][0]
    assert failure["left"] + 5 == failure["right"]
    assert results["row_totals"]["status"] == "passed"
    assert results["table4_totals"]["status"] == "failed"
    assert results["table4_totals"]["failures"][0]["text"] == "行政复议：四项之和 1，总计 2"
    assert tables["checks"]["balance"] is False
    assert checks_flag(tables) == "failed"
    assert describe_check(results["balance"]).startswith("不符")


def test_old_stored_checks_still_read():
    """Versions stored before the checks were three-valued keep displaying."""
    old = {"format": "2019", "table3": {"columns": [], "rows": {"new_requests": [1] * 7}},
           "checks": {"balance": True, "row_totals": False, "outcome_sum": None}}
    assert [r["status"] for r in check_results_of(old)] == ["passed", "failed", "not_evaluated"]
    assert checks_flag(old) == "failed"
    assert labelled_tables(old)["table3"]["rows"][0]["label"] == "一、本年新收政府信息公开申请数量"


def test_labels_people_read_are_the_forms_chinese_labels(demo):
    """What people read names rows and columns as the form does, never by internal keys."""
    tables = assess({"table3": _whole_2021(), "table2": {"regulations": {"issued": 1}},
                     "table4": None}, 2023)
    shown = labelled_tables(tables)
    text = repr(shown)
    for key in ("new_requests", "carried_forward", "natural_person", "partially_granted", "issued"):
        assert key not in text
    assert shown["table3"]["columns"][0] == "自然人"
    assert shown["table3"]["rows"][-1]["label"] == "四、结转下年度继续办理"
    assert shown["table2"][0] == {"label": "规章", "values": [{"label": "本年制发件数", "value": 1}]}


def test_best_tables_prefers_a_whole_table3():
    """Two readings of one PDF: the one with all rows wins over one with rows lost."""
    whole = assess({"table3": _whole_2021()}, 2023)
    short = copy.deepcopy(whole)
    del short["table3"]["rows"]["partially_granted"]
    short = assess(short, 2023)
    assert len(best_tables(short, whole, report_year=2023)["table3"]["rows"]) == 25
