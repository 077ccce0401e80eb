"""The CLI speaks Chinese by default: with ``NIANBAO_LANG`` unset, error lines, the crawl
summary and ``sites list`` are Chinese; ``NIANBAO_LANG=en`` gives today's English.

Each test runs ``nianbao`` in a child process, as a user's shell does; the crawl reads the demo
site (three bureaus on a real loopback HTTP server) standing for real bureau columns."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from tests.crawler.harness import FAST_CRAWL, run_nianbao

SITE = """
[[sites]]
key = "jia"
name = "甲局"
region = "福建省示例市"
level = "department"
family = "trs"
list_urls = ["http://127.0.0.1:9/jia/index.html"]
"""


@pytest.fixture
def chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default language: no NIANBAO_LANG (the suite sets en for the English assertions);
    the child processes inherit the unset variable."""
    monkeypatch.delenv("NIANBAO_LANG", raising=False)


def test_error_line_is_chinese_by_default(tmp_path, chinese):
    """A mistyped --db: one Chinese line on stderr, exit status 2."""
    result = run_nianbao("--db", "sqlite:///wrong/path.sqlite3", "show", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "错误：档案库不存在：wrong/path.sqlite3（请先运行 nianbao crawl 或 nianbao demo，或检查 --db / $NIANBAO_DATABASE_URL）"
    ]


def test_error_line_in_english_when_asked(tmp_path):
    result = run_nianbao("--db", "sqlite:///wrong/path.sqlite3", "show", "1", cwd=tmp_path, env={"NIANBAO_LANG": "en"})
    assert result.stderr.startswith("Error: no archive at wrong/path.sqlite3 (run nianbao crawl")


def test_crawl_summary_is_chinese_by_default(demo, tmp_path, chinese):
    crawl = run_nianbao("--sites", str(demo.sites_file), "crawl", "-q", *FAST_CRAWL, "demo-tjj", cwd=tmp_path)
    assert crawl.returncode == 0, crawl.stderr
    lines = crawl.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("抓取批次 "))
    assert lines[header].endswith("：finished")  # the run's status is a code, shown as is
    assert lines[header + 1].split() == ["网站", "状态", "页面", "栏目", "年报", "新年报", "新版本", "未变", "失败"]
    assert lines[header + 3].split()[0] == "demo-tjj"
    assert any(line.startswith("日志：") for line in lines)


def test_sites_list_is_chinese_by_default(tmp_path, chinese):
    sites_file = tmp_path / "sites.toml"
    sites_file.write_text(SITE, encoding="utf-8")
    listed = run_nianbao("--sites", str(sites_file), "sites", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    header, rule, row = listed.stdout.splitlines()
    columns = header.split()
    assert columns[:7] == ["标识", "名称", "地区", "层级", "网站类型", "抓取状态", "栏目"]
    assert columns[-1] == "栏目网址" and all("\u4e00" <= column[0] <= "\u9fff" for column in columns)
    assert set(rule.replace(" ", "")) == {"-"}
    assert row.split()[:2] == ["jia", "甲局"]
    checked = CliRunner().invoke(cli, ["sites", "check", str(sites_file)])
    assert checked.output.splitlines()[-1] == f"{sites_file}：1 个站点有效"


def test_extract_refusal_is_chinese_by_default(tmp_path, chinese):
    """`nianbao extract` on a PDF attachment: the refusal names what the file is, in Chinese."""
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    result = run_nianbao("extract", str(pdf), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"错误：不是网页：{pdf} 是一个 PDF 文件"]
