"""Alerts speak Chinese by default: with ``NIANBAO_LANG`` unset, the subject and body of every
kind of alert message (missing, late, changed, removed, site unreachable, listing broken, tables
that do not add up, repeated and resolved) are Chinese; ``NIANBAO_LANG=en`` keeps the English.

The crawls recorded here stand for a bureau's nightly history (see tests/alerts/conftest.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from alerts.monitor import run_monitor
from crawler.demo.content import make_table3_numbers
from crawler.extract.tables import TABLE3_ROWS_2021
from crawler.extract.tables.checks import assess
from crawler.items import PageFailureItem, ReportItem
from storage import archive as store
from storage.models import AlertOutbox
from tests.alerts.conftest import DEPT, Report

HISTORY = [Report(2021, "2022-01-20"), Report(2022, "2023-01-18")]


@pytest.fixture
def chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default language: no NIANBAO_LANG (the suite sets en for the English assertions)."""
    monkeypatch.delenv("NIANBAO_LANG", raising=False)


def _monitor(sessions, day: str) -> list[tuple[str, str, str, str]]:
    """Run the monitor on ``day``: (event, kind, subject, body) of each message it queued."""
    now = datetime.fromisoformat(day).replace(hour=3, tzinfo=UTC)
    with sessions() as session, session.begin():
        run_monitor(session, ["tjj"], as_of=now.date(), now=now)
    with sessions() as session:
        return [(r.event, r.payload["kind"], r.subject, r.body)
                for r in session.scalars(select(AlertOutbox).where(AlertOutbox.created_at == now).order_by(AlertOutbox.id))]


def test_missing_repeated_and_late_messages_are_chinese(sessions, recorder, chinese):
    """The 2023 report is missing, still missing a week later, then published late."""
    recorder.crawl(DEPT, HISTORY)
    [(event, kind, subject, body)] = _monitor(sessions, "2024-04-10")
    assert (event, kind) == ("opened", "report_missing")
    assert subject == "年报缺失：示例市统计局（tjj）2023 年度"
    assert body == "未找到示例市统计局 2023 年度的年报；发布期限为 2024-01-31。"
    [(event, _, subject, _)] = _monitor(sessions, "2024-04-17")
    assert (event, subject) == ("repeated", "仍未解决：年报缺失：示例市统计局（tjj）2023 年度")
    recorder.crawl(DEPT, [*HISTORY, Report(2023, "2024-04-20")])
    [(event, kind, subject, body)] = _monitor(sessions, "2024-04-21")
    assert (event, kind) == ("resolved", "report_missing")
    assert subject == "年报逾期发布：示例市统计局（tjj）2023 年度"
    assert body == "示例市统计局 2023 年度的年报于 2024-04-20 发布，晚于期限 2024-01-31（比期限 2024-01-31 晚 80 天）。"


def test_resolved_missing_alert_is_chinese(sessions, recorder, chinese):
    recorder.crawl(DEPT, HISTORY)
    _monitor(sessions, "2024-02-01")
    recorder.crawl(DEPT, [*HISTORY, Report(2023, "2024-01-30")])  # published on time, listed late
    [(event, _, subject, body)] = _monitor(sessions, "2024-02-05")
    assert event == "resolved"
    assert subject == "已解决：年报缺失：示例市统计局（tjj）2023 年度"
    assert body == "示例市统计局 2023 年度的年报已于 2024-01-30 发布。"


def test_site_unreachable_and_back_are_chinese(sessions, recorder, chinese):
    """The column's list page refuses connections, then the site is back."""
    recorder.crawl(DEPT, HISTORY)
    recorder.crawl(DEPT, [], failed=True, failures=[
        PageFailureItem(site_key="tjj", url=DEPT.list_urls[0], reason="connection refused", page_kind="list")
    ])
    [(event, kind, subject, body)] = _monitor(sessions, "2024-02-01")
    assert (event, kind) == ("opened", "site_unreachable")
    assert subject.startswith("网站无法访问：示例市统计局（tjj）")
    assert body == f"列表页抓取失败：connection refused（{DEPT.list_urls[0]}）"
    recorder.crawl(DEPT, [*HISTORY, Report(2023, "2024-01-25")])
    [(event, _, subject, body)] = _monitor(sessions, "2024-02-02")
    assert event == "resolved" and subject.startswith("已解决：网站无法访问")
    assert body.startswith("最近一次抓取（批次 ") and body.endswith("）状态为 ok")


def test_listing_broken_is_chinese(sessions, recorder, chinese):
    """The column suddenly lists nothing (a redesigned page the parser no longer reads)."""
    recorder.crawl(DEPT, HISTORY)
    recorder.crawl(DEPT, [])
    [(event, kind, subject, body)] = _monitor(sessions, "2023-12-01")
    assert (event, kind) == ("opened", "listing_broken")
    assert subject == "栏目异常：示例市统计局（tjj）"
    assert body == "栏目中没有找到年报（之前一次抓取找到 2 篇）"


def test_changed_report_is_chinese_with_the_diff_link(sessions, recorder, chinese, monkeypatch):
    """The bureau corrects one figure of its published 2022 report."""
    monkeypatch.setenv("NIANBAO_PUBLIC_URL", "https://nianbao.example.org")
    recorder.crawl(DEPT, [HISTORY[0], Report(2022, "2023-01-18", body="2022年度报告正文。\n收到申请218件。")])
    _monitor(sessions, "2023-12-01")
    recorder.crawl(DEPT, [HISTORY[0], Report(2022, "2023-01-18", body="2022年度报告正文。\n收到申请219件。")])
    [(event, kind, subject, body)] = _monitor(sessions, "2023-12-02")
    assert (event, kind) == ("notice", "report_changed")
    assert subject == "年报发布后被修改：示例市统计局（tjj）2022 年度"
    lines = body.splitlines()
    assert lines[0].endswith("有改动（第 2 版）：共 1 处改动")
    assert lines[1] == "1. 2022年度报告正文。 收到申请【218→219】件。"
    assert lines[2].startswith("对比：https://nianbao.example.org/reports/") and lines[2].endswith("/diff?old=1&new=2")


def test_removed_report_is_chinese(sessions, recorder, chinese):
    """Two complete crawls no longer list the 2021 report."""
    recorder.crawl(DEPT, HISTORY)
    recorder.crawl(DEPT, HISTORY[1:])
    recorder.crawl(DEPT, HISTORY[1:])
    [(event, kind, subject, body)] = _monitor(sessions, "2023-12-02")
    assert (event, kind) == ("opened", "report_removed")
    assert subject == "年报被撤下：示例市统计局（tjj）2021 年度"
    assert "最近 2 次完整抓取中，栏目都没有列出" in body and body.endswith("其各版本仍保存在档案库中。")


def test_tables_that_do_not_add_up_are_chinese(sessions, recorder, chinese):
    """A report whose table 3 lacks a row of the 2021 form: its checks cannot be evaluated."""
    rows = dict(zip(TABLE3_ROWS_2021, make_table3_numbers(random.Random(7), "2021", 30), strict=True))
    del rows["granted"]
    zero = {"upheld": 0, "corrected": 0, "other": 0, "pending": 0, "total": 0}
    tables = assess({"table2": None, "table3": {"columns": [], "rows": rows},
                     "table4": dict.fromkeys(("review", "litigation_direct", "litigation_after_review"), zero)}, 2022)
    recorder.crawl(DEPT, HISTORY)
    with recorder.sessions() as session, session.begin():
        run_id = store.start_run(session, ["tjj"]).id
        store.record_report(session, run_id, ReportItem(
            site_key="tjj", url="http://127.0.0.1:9/tjj/2022.htm", title="示例市统计局2022年政府信息公开工作年度报告",
            pub_date="2023-01-18", report_year=2022, body_text="2022年度报告正文。\n更正后的表格。", tables=tables,
            fetched_at=datetime.now(UTC)))
        store.finish_site_crawl(session, run_id, "tjj", pages=2, finish_reason="finished", failed=False)
        store.finish_run(session, run_id)
    queued = _monitor(sessions, "2023-12-01")
    [(event, _, subject, body)] = [q for q in queued if q[1] == "report_checks"]
    assert event == "notice"
    assert subject == "年报表格数据不一致：示例市统计局（tjj）2022 年度"
    assert body.splitlines()[0].endswith("第 2 版：表格不完整，未能校验。")


def test_english_stays_english(sessions, recorder):
    """NIANBAO_LANG=en (the suite's setting): the English message ids, unchanged."""
    recorder.crawl(DEPT, HISTORY)
    [(_, _, subject, body)] = _monitor(sessions, "2024-04-10")
    assert subject == "Report missing: 示例市统计局 (tjj) 2023"
    assert body == "No 2023 report of 示例市统计局 was found; it was due by 2024-01-31."
