"""Alerts from the monitor, with injected time: opened once, repeated after the interval,
resolved once; site alerts instead of missing-report alerts when a crawl fails."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from alerts.monitor import run_monitor
from crawler.items import PageFailureItem
from storage.models import Alert, AlertOutbox
from tests.alerts.conftest import DEPT, Report

HISTORY = [Report(2021, "2022-01-20"), Report(2022, "2023-01-18")]


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=3, tzinfo=UTC)


def _monitor(sessions, day: str, **kwargs):
    now = _at(day)
    with sessions() as session, session.begin():
        result = run_monitor(session, ["tjj"], as_of=now.date(), now=now, **kwargs)
        return [(row.event, row.alert.key, row.subject) for row in result.queued]


def _outbox(sessions):
    with sessions() as session:
        return [(r.event, r.payload["alert_key"]) for r in session.scalars(select(AlertOutbox).order_by(AlertOutbox.id))]


def test_missing_report_alert_opens_once_repeats_after_interval_and_resolves_once(sessions, recorder):
    recorder.crawl(DEPT, HISTORY)
    assert _monitor(sessions, "2024-02-01") == [
        ("opened", "report_missing:tjj:2023", "Report missing: 示例市统计局 (tjj) 2023")
    ]
    assert _monitor(sessions, "2024-02-02") == []
    assert _monitor(sessions, "2024-02-07") == []  # six days: still quiet
    assert [e for e, _, _ in _monitor(sessions, "2024-02-08")] == ["repeated"]
    assert _monitor(sessions, "2024-02-09") == []

    recorder.crawl(DEPT, [*HISTORY, Report(2023, "2024-02-12")])
    queued = _monitor(sessions, "2024-02-13")
    assert len(queued) == 1
    event, key, subject = queued[0]
    assert (event, key) == ("resolved", "report_missing:tjj:2023")
    assert subject.startswith("Report published late") and "2023" in subject
    assert _monitor(sessions, "2024-02-20") == []
    assert _monitor(sessions, "2024-03-20") == []

    with sessions() as session:
        alerts = {a.key: a for a in session.scalars(select(Alert))}
    assert alerts["report_missing:tjj:2023"].state == "resolved"
    assert alerts["report_late:tjj:2023"].state == "notice"  # announced by the resolution
    assert [e for e, _ in _outbox(sessions)] == ["opened", "repeated", "resolved"]


def test_report_found_on_time_after_an_alert_resolves_it_as_found(sessions, recorder):
    recorder.crawl(DEPT, HISTORY)
    _monitor(sessions, "2024-02-01")
    # It had been published on time; the site only listed it late.
    recorder.crawl(DEPT, [*HISTORY, Report(2023, "2024-01-30")])
    assert _monitor(sessions, "2024-02-05") == [
        ("resolved", "report_missing:tjj:2023", "Resolved: Report missing: 示例市统计局 (tjj) 2023")
    ]


def test_site_down_gives_a_site_alert_and_no_missing_report_alert(sessions, recorder):
    recorder.crawl(DEPT, HISTORY)
    recorder.crawl(DEPT, [], failed=True, failures=[
        PageFailureItem(site_key="tjj", url=DEPT.list_urls[0], reason="connection refused", page_kind="list")
    ])
    queued = _monitor(sessions, "2024-02-01")
    assert [(e, k) for e, k, _ in queued] == [("opened", "site_unreachable:tjj")]
    # Back up, and the report is there: the site alert resolves, no missing alert ever existed.
    recorder.crawl(DEPT, [*HISTORY, Report(2023, "2024-01-25")])
    assert [(e, k) for e, k, _ in _monitor(sessions, "2024-02-02")] == [("resolved", "site_unreachable:tjj")]
    with sessions() as session:
        assert session.scalars(select(Alert).where(Alert.kind == "report_missing")).all() == []


def test_an_open_missing_alert_survives_a_failed_crawl(sessions, recorder):
    recorder.crawl(DEPT, HISTORY)
    _monitor(sessions, "2024-02-01")
    recorder.crawl(DEPT, [], failed=True)
    assert [k for _, k, _ in _monitor(sessions, "2024-02-02")] == ["site_unreachable:tjj"]
    with sessions() as session:
        assert session.scalars(select(Alert.state).where(Alert.key == "report_missing:tjj:2023")).one() == "open"


def test_listing_that_suddenly_yields_nothing_is_broken(sessions, recorder):
    recorder.crawl(DEPT, HISTORY)
    recorder.crawl(DEPT, [])
    queued = _monitor(sessions, "2023-12-01")
    assert [(e, k) for e, k, _ in queued] == [("opened", "listing_broken:tjj")]


def test_jump_in_reports_without_metadata_is_broken(sessions, recorder):
    site = DEPT.__class__(**{**DEPT.__dict__, "first_report_year": 2019})
    years = [Report(y, f"{y + 1}-01-10") for y in (2019, 2020, 2021, 2022)]
    recorder.crawl(site, years)
    bare = [Report(r.year, None, missing_fields=("index_no", "publisher", "pub_date")) for r in years]
    recorder.crawl(site, bare)
    with sessions() as session, session.begin():
        result = run_monitor(session, ["tjj"], as_of=date(2023, 12, 1))
    assert result.health["tjj"].state == "broken"
    assert "without metadata jumped from 0% to 100%" in result.health["tjj"].reason


def test_changed_report_gets_one_notice_with_a_diff_summary(sessions, recorder, monkeypatch):
    """A bureau inserts a correction into its published report: one notice that counts the
    changed places, shows the inserted text in context and links the web app's diff page."""
    monkeypatch.setenv("NIANBAO_PUBLIC_URL", "https://nianbao.example.org/")
    recorder.crawl(DEPT, HISTORY)
    _monitor(sessions, "2023-12-01")
    changed = Report(2022, "2023-01-18", body="2022年度报告正文。\n更正：第二行。")
    recorder.crawl(DEPT, [HISTORY[0], changed])
    queued = _monitor(sessions, "2023-12-02")
    assert [e for e, _, _ in queued] == ["notice"]
    with sessions() as session:
        alert = session.scalars(select(Alert).where(Alert.kind == "report_changed")).one()
    assert "version 2" in alert.message and "1 changed place(s)" in alert.message
    assert "1. 2022年度报告正文。 【→更正：】第二行。" in alert.message.splitlines()
    assert f"https://nianbao.example.org/reports/{alert.document_id}/diff?old=1&new=2" in alert.message
    assert _monitor(sessions, "2023-12-20") == []


def test_removed_report_needs_two_clean_crawls_without_it(sessions, recorder):
    recorder.crawl(DEPT, HISTORY)
    recorder.crawl(DEPT, HISTORY[1:])
    assert _monitor(sessions, "2023-12-01") == []
    recorder.crawl(DEPT, HISTORY[1:])
    assert [(e, k.split(":")[0]) for e, k, _ in _monitor(sessions, "2023-12-02")] == [("opened", "report_removed")]
    recorder.crawl(DEPT, HISTORY)
    assert [(e, k.split(":")[0]) for e, k, _ in _monitor(sessions, "2023-12-03")] == [("resolved", "report_removed")]


def test_repeat_interval_is_configurable(sessions, recorder):
    recorder.crawl(DEPT, HISTORY)
    _monitor(sessions, "2024-02-01", repeat_interval=timedelta(days=1))
    assert [e for e, _, _ in _monitor(sessions, "2024-02-02", repeat_interval=timedelta(days=1))] == ["repeated"]
