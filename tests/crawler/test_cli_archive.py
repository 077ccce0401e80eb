"""``nianbao search / diff / stats`` on a real archive (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from crawler.errors import ConfigError
from tests.crawler.harness import run_nianbao
from tests.web.conftest import HostileArchive, build_hostile_archive


@pytest.fixture
def archive(database_url: str, tmp_path, monkeypatch) -> HostileArchive:
    monkeypatch.setenv("NIANBAO_DATA_DIR", str(tmp_path / "data"))
    return build_hostile_archive(database_url)


def nianbao(archive: HostileArchive, *args: str):
    result = CliRunner().invoke(cli, ["--db", archive.url, *args])
    return result


def test_search_formats_and_filters(archive: HostileArchive):
    found = json.loads(nianbao(archive, "search", "复议", "--format", "json").output)
    assert [hit["id"] for hit in found] == [archive.report_id]
    assert "复议" in found[0]["highlights"] and "复议" in found[0]["snippet"]

    rows = list(csv.DictReader(io.StringIO(nianbao(archive, "search", "公开", "--format", "csv", "--sort", "date").output)))
    assert [int(r["id"]) for r in rows] == [archive.calm_id, archive.report_id]  # 2024-03-20, then 2024-01-20
    assert rows[0]["site"] == "calm-gov"

    lines = nianbao(archive, "search", "公开", "--site", "evil-gov", "--format", "jsonl").output.splitlines()
    assert [json.loads(line)["site"] for line in lines] == ["evil-gov"]
    assert nianbao(archive, "search", "公开", "--year", "2022", "--format", "json").output.strip() == "[]"
    assert "No reports found." in nianbao(archive, "search", "*** NEAR( \"").output

    table = nianbao(archive, "search", "公开", "--limit", "1")
    assert table.exit_code == 0 and "More results: --offset 1" in table.output

    bad = nianbao(archive, "search", "公开", "--published-from", "yesterday")
    assert isinstance(bad.exception, ConfigError)


def test_diff_defaults_to_the_latest_two_versions(archive: HostileArchive):
    result = nianbao(archive, "diff", str(archive.report_id))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("--- version 1") and lines[1].startswith("+++ version 2")
    assert "-本年新收政府信息公开申请10件。" in lines and "+本年新收政府信息公开申请12件。" in lines

    same = nianbao(archive, "diff", str(archive.report_id), "2", "2")
    assert "have the same text" in same.output
    data = json.loads(nianbao(archive, "diff", str(archive.report_id), "1", "2", "--format", "json").output)
    assert data["changed"] and (data["old"], data["new"]) == (1, 2)

    missing = nianbao(archive, "diff", str(archive.report_id), "1", "9")
    assert isinstance(missing.exception, ConfigError) and "no version" in str(missing.exception)


def test_stats_csv(archive: HostileArchive, tmp_path):
    result = nianbao(archive, "stats")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.output)))
    if not rows:
        pytest.skip("no versions.tables column in this archive (extraction migration absent)")
    new = [r for r in rows if r["row"] == "new_requests"]
    assert new == [{**new[0], "site": "evil-gov", "report_year": "2023", "natural_person": "10", "total": "12"}]
    out = tmp_path / "t3.csv"
    nianbao(archive, "stats", "--row", "total", "-o", str(out))
    assert [r["row"] for r in csv.DictReader(out.open(encoding="utf-8"))] == ["total"]


def test_errors_are_one_line(archive: HostileArchive, tmp_path):
    result = run_nianbao("--db", archive.url, "diff", "999999", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: no archived report with id 999999"
