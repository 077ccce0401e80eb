"""Checks over the archive: the cross-year check, the stats flag, `show`, the API and the monitor."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from click.testing import CliRunner
from fastapi.testclient import TestClient

from alerts.monitor import run_monitor
from crawler.archive_checks import checks_flags, cross_year_checks, report_checks
from crawler.cli import cli
from crawler.demo.content import make_table3_numbers
from crawler.extract.tables import TABLE3_ROWS_2021
from crawler.extract.tables.checks import assess
from crawler.stats import table3_rows
from storage import record_report
from storage.models import Alert, Document
from web.app import create_app
from web.settings import WebSettings

T4 = {g: {"upheld": 1, "corrected": 1, "other": 0, "pending": 0, "total": 2}
      for g in ("review", "litigation_direct", "litigation_after_review")}


def _tables(year: int, carried_over: int, carried_forward: int, *, drop: tuple[str, ...] = ()) -> dict:
    """A whole, consistent 2021-form table set whose 二 and 四 totals are the given numbers
    (all in the 自然人 column; the other outcome rows absorb the difference)."""
    numbers = make_table3_numbers(random.Random(year), "2021", 30)
    rows = dict(zip(TABLE3_ROWS_2021, numbers, strict=True))
    zero = [0] * 7
    rows["carried_over"] = [carried_over, 0, 0, 0, 0, 0, carried_over]
    rows["carried_forward"] = [carried_forward, 0, 0, 0, 0, 0, carried_forward]
    # 一 + 二 = （七） + 四: put the whole balance into 予以公开 and （七）.
    handled = [rows["new_requests"][c] + rows["carried_over"][c] - rows["carried_forward"][c] for c in range(7)]
    for key in TABLE3_ROWS_2021[2:-2]:
        rows[key] = list(zero)
    rows["granted"] = list(handled)
    rows["total"] = list(handled)
    for key in drop:
        del rows[key]
    return assess({"table2": None, "table3": {"columns": [], "rows": rows}, "table4": T4}, year)


def _record(archive, new_run, make_item, year: int, tables: dict, n: int) -> int:
    run_id = new_run()
    url = f"https://www.putian.gov.cn/zwgk/zfxxgknb/{year + 1}01/t{year + 1}0115_{n}.htm"
    with archive() as session, session.begin():
        record_report(session, run_id, make_item(
            url=url, report_year=year, title=f"莆田市统计局{year}年政府信息公开工作年度报告",
            index_no=f"003519001/{year + 1}-000{n}", body_text=f"{year}年度报告正文 {n}", tables=tables,
            pub_date=f"{year + 1}-01-15"))
    with archive() as session:
        return session.query(Document.id).filter(Document.url == url).scalar()


def test_cross_year_carried_over_must_equal_last_years_carried_forward(archive, sites, new_run, make_item):
    """A bureau's 2023 report carries over 5 applications, but its 2022 report said 7 would be
    carried forward: the numbers of consecutive reports disagree, which no single report shows."""
    first = _record(archive, new_run, make_item, 2022, _tables(2022, 3, 7), 1)
    second = _record(archive, new_run, make_item, 2023, _tables(2023, 5, 4), 2)
    third = _record(archive, new_run, make_item, 2024, _tables(2024, 4, 0), 3)
    with archive() as session:
        results = cross_year_checks(session)
        assert results[first]["status"] == "not_evaluated"
        assert results[first]["reason"] == "未归档本机关2021年度报告"
        assert results[second]["status"] == "failed"
        assert results[second]["failures"][0]["left"] == 5 and results[second]["failures"][0]["right"] == 7
        assert results[second]["previous_document_id"] == first
        assert results[third]["status"] == "passed"
        flags = checks_flags(session)
        assert flags == {first: "ok", second: "failed", third: "ok"}
        shown = report_checks(session, second)
        assert [c["name"] for c in shown] == ["balance", "row_totals", "outcome_sum", "table4_totals", "cross_year"]
        assert [c["status"] for c in shown][:4] == ["passed"] * 4
        by_doc = {(r.document_id, r.row): r for r in table3_rows(session)}
        assert by_doc[(second, "new_requests")].checks == "failed"
        assert by_doc[(third, "new_requests")].as_dict()["checks"] == "ok"


def test_incomplete_report_is_flagged_shown_and_announced(archive, sites, new_run, make_item, database_url):
    """A PDF-only report whose table 3 lost rows: `stats` flags it incomplete, `show` says which
    rows are missing in the form's words and that its checks were not evaluated, the API and the
    report page carry the same, and the monitor announces it once."""
    doc = _record(archive, new_run, make_item, 2024,
                  _tables(2024, 0, 0, drop=("partially_granted", "other_misc")), 1)
    with archive() as session:
        assert checks_flags(session) == {doc: "incomplete"}

    runner = CliRunner()
    text = runner.invoke(cli, ["--db", database_url, "show", str(doc)])
    assert text.exit_code == 0, text.output
    assert "checks: incomplete (1 of 5 passed)" in text.output  # table 4 adds up
    assert "未核验" in text.output and "（二）部分公开（区分处理的，只计这一情形，不计其他情形）" in text.output
    assert "一、本年新收政府信息公开申请数量" in text.output and "new_requests" not in text.output
    assert "行政诉讼（复议后起诉）" in text.output
    shown = json.loads(runner.invoke(cli, ["--db", database_url, "show", str(doc), "--format", "json"]).output)
    assert shown["checks_flag"] == "incomplete"
    assert shown["tables"]["table3"]["columns"][6] == "总计"
    assert shown["tables"]["completeness"]["表三"]["missing"] == [
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "（六）其他处理 3.其他"]
    assert [c["status"] for c in shown["checks"]] == ["not_evaluated"] * 3 + ["passed", "not_evaluated"]
    csv_out = runner.invoke(cli, ["--db", database_url, "stats", "--row", "new_requests"]).output
    assert csv_out.splitlines()[0].split(",")[7:9] == ["format", "checks"]
    assert ",2021,incomplete,new_requests," in csv_out

    with TestClient(create_app(WebSettings(database_url=database_url))) as client:
        api = client.get(f"/api/reports/{doc}").json()
        assert api["checks_flag"] == "incomplete"
        assert api["labelled_tables"]["table3"]["rows"][0]["label"] == "一、本年新收政府信息公开申请数量"
        assert api["checks"][0]["status"] == "not_evaluated" and "部分公开" in api["checks"][0]["reason"]
        page = client.get(f"/reports/{doc}").text
        assert "not evaluated" in page and "结转下年度继续办理" in page and "表三不完整" in page

    now = datetime(2025, 2, 1, tzinfo=UTC)
    with archive() as session, session.begin():
        run_monitor(session, now=now, as_of=now.date())
    with archive() as session, session.begin():
        run_monitor(session, now=now, as_of=now.date())  # once only
    with archive() as session:
        notices = session.query(Alert).filter(Alert.kind == "report_checks").all()
        assert len(notices) == 1
        assert notices[0].state == "notice" and notices[0].document_id == doc
        assert notices[0].title.startswith("Report tables do not add up")
        assert "部分公开" in notices[0].message
