"""``nianbao monitor``, ``alerts list`` and the health column of ``sites list``, in process."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from crawler.cli import cli
from crawler.items import PageFailureItem
from tests.alerts.conftest import DEPT, Report


def _run(database_url, *args, sites_file=None):
    prefix = ["--db", database_url] + (["--sites", str(sites_file)] if sites_file else [])
    result = CliRunner().invoke(cli, [*prefix, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_monitor_grid_in_three_formats(database_url, recorder):
    recorder.crawl(DEPT, [Report(2021, "2022-01-20"), Report(2022, "2023-02-10")])
    cells = json.loads(_run(database_url, "monitor", "--as-of", "2024-02-01", "--format", "json"))
    assert [(c["report_year"], c["status"]) for c in cells] == [(2021, "on_time"), (2022, "late"), (2023, "missing")]
    rows = list(csv.DictReader(io.StringIO(_run(database_url, "monitor", "--as-of", "2024-02-01", "--format", "csv"))))
    assert rows[1]["status"] == "late" and rows[1]["published"] == "2023-02-10"
    table = _run(database_url, "monitor", "--as-of", "2024-02-01")
    assert "Report coverage as of 2024-02-01" in table
    grid_row = next(line for line in table.splitlines() if line.startswith("tjj "))
    assert grid_row.split() == ["tjj", "ok", "ok", "LATE", "MISSING"]
    # --as-of is a what-if view: no alert was raised.
    assert "report_missing" not in _run(database_url, "alerts", "list", "--all")


def test_monitor_today_raises_alerts_and_alerts_list_shows_them(database_url, recorder, tmp_path):
    recorder.crawl(DEPT, [Report(2021, "2022-01-20")])
    output = _run(database_url, "monitor")
    assert "alert message(s) queued" in output
    listed = json.loads(_run(database_url, "alerts", "list", "--format", "json"))
    assert {a["key"] for a in listed} >= {"report_missing:tjj:2022", "report_missing:tjj:2023"}
    assert "Outbox: " in _run(database_url, "alerts", "list")


def test_sites_list_shows_crawl_health(database_url, recorder, tmp_path):
    sites_file = tmp_path / "sites.toml"
    sites_file.write_text(
        '[[sites]]\nkey = "tjj"\nname = "示例市统计局"\nregion = "福建省示例市"\nlevel = "department"\n'
        'family = "trs"\nlist_urls = ["http://127.0.0.1:9/tjj/index.html"]\n', encoding="utf-8")
    recorder.crawl(DEPT, [], failed=True, failures=[
        PageFailureItem(site_key="tjj", url=DEPT.list_urls[0], reason="connection refused", page_kind="list")])
    _run(database_url, "monitor", sites_file=sites_file)
    listed = json.loads(_run(database_url, "sites", "list", "--format", "json", sites_file=sites_file))
    assert listed[0]["health"] == "unreachable" and "connection refused" in listed[0]["health_reason"]
    assert "unreachable" in _run(database_url, "sites", "list", sites_file=sites_file)
