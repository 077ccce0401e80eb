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


def test_search_table_snippet_shows_the_matched_phrase(archive: HostileArchive):
    """User mistake: trusting the table. A phrase found near a report's end (信息处理费) was cut
    off the 60-column snippet, so the table showed a "hit" without the words searched for and
    the user concluded the search matched the wrong report."""
    result = nianbao(archive, "search", "信息处理费")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith(f"{archive.report_id} ")]
    assert len(rows) == 1 and "信息处理费" in rows[0], result.output


def test_every_csv_output_offers_a_bom_for_excel(archive: HostileArchive, tmp_path):
    """User mistake: double-clicking a CSV from `search`/`stats`/`monitor` in Excel, which reads
    BOM-less UTF-8 as GBK and shows mojibake; only `export` had --bom."""
    for args in (["search", "公开", "--format", "csv"], ["stats"], ["monitor", "--as-of", "2025-01-01", "--format", "csv"]):
        plain = nianbao(archive, *args)
        with_bom = nianbao(archive, *args, "--bom")
        assert plain.exit_code == 0 and with_bom.exit_code == 0, (args, with_bom.output)
        assert not plain.output.startswith("\ufeff"), args
        assert with_bom.output == "\ufeff" + plain.output, args
    out = tmp_path / "t3.csv"
    assert nianbao(archive, "stats", "--bom", "-o", str(out)).exit_code == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
