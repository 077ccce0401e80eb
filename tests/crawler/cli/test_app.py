"""The ``nianbao`` command line: help, errors as one line, and each command on real data."""

from __future__ import annotations

import csv
import json
import socket

import click
from click.testing import CliRunner

from crawler.cli import cli
from tests.conftest import REPO_ROOT
from tests.crawler.harness import FAST_CRAWL, run_nianbao


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


def test_every_command_has_help_ending_in_an_example():
    runner = CliRunner()
    commands = [((), cli), *all_commands(cli)]
    assert len(commands) >= 9
    for path, command in commands:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example:" in result.output, path
        # The help text (click prints it above the options) ends with the example.
        last_line = (command.help or "").rstrip().splitlines()[-1].strip()
        assert last_line.startswith("nianbao"), path
        assert last_line.split("#")[0].strip() in result.output, path


def test_sites_check_valid_and_malformed(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(
        '[[sites]]\nkey = "a"\nname = "甲局"\nregion = "示范市"\nlevel = "department"\nfamily = "trs"\nlist_urls = ["http://a.gov.cn/"]\n',
        encoding="utf-8",
    )
    result = run_nianbao("sites", "check", str(good), cwd=tmp_path)
    assert result.returncode == 0
    assert "1 site(s) valid" in result.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text(encoding="utf-8").replace('"trs"', '"drupal"'), encoding="utf-8")
    result = run_nianbao("sites", "check", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"Error: {bad}: site 'a': family must be one of trs, hanweb, gkmlpt, generic (got 'drupal')"
    ]


def test_sites_check_reports_every_problem_of_the_file_at_once(tmp_path):
    """An archivist fixing a sites file sees all its problems in one run, not one per run;
    other commands still fail in one line that says how many more there are."""
    site = '[[sites]]\nkey = "{key}"\nname = "甲局"\nregion = "示范市"\nlevel = "{level}"\nfamily = "{family}"\n' \
           'list_urls = ["{url}"]\n'
    bad = tmp_path / "bad.toml"
    bad.write_text(
        site.format(key="a", level="department", family="drupal", url="http://a.gov.cn/")
        + site.format(key="b", level="department", family="trs", url="http://b.gov.cn/")
        + site.format(key="c", level="palace", family="trs", url="http://c.gov.cn/")
        + site.format(key="d", level="department", family="trs", url="ftp://d.gov.cn/")
        + site.format(key="b", level="department", family="trs", url="http://b2.gov.cn/"),
        encoding="utf-8",
    )
    result = run_nianbao("sites", "check", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"Error: {bad}: site 'a': family must be one of trs, hanweb, gkmlpt, generic (got 'drupal')",
        f"Error: {bad}: site 'c': level must be one of department, government, township (got 'palace')",
        f"Error: {bad}: site 'd': list_urls: not an http(s) URL: 'ftp://d.gov.cn/'",
        f"Error: {bad}: site 'b': key is defined twice",
    ]
    crawl = run_nianbao("--sites", str(bad), "crawl", cwd=tmp_path)
    assert crawl.returncode == 2
    assert crawl.stderr.splitlines() == [
        f"Error: {bad}: site 'a': family must be one of trs, hanweb, gkmlpt, generic (got 'drupal')"
        f" (and 3 more: run `nianbao sites check {bad}`)"
    ]


def test_missing_sites_file_is_one_line_exit_2(tmp_path):
    result = run_nianbao("crawl", cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no sites file" in result.stderr and "Traceback" not in result.stderr


def test_unknown_site_key_and_bad_setting_override(tmp_path):
    example = str(REPO_ROOT / "sites.example.toml")
    result = run_nianbao("--sites", example, "crawl", "nope", cwd=tmp_path)
    assert result.returncode == 2 and "no site with key 'nope'" in result.stderr
    result = run_nianbao("--sites", example, "crawl", "-s", "NOEQUALS", "demo-tjj", cwd=tmp_path)
    assert result.returncode == 2 and "-s expects NAME=VALUE" in result.stderr


def test_bad_database_url_is_one_line(tmp_path):
    result = run_nianbao("--db", "nosuchdb://x", "search", "报告", cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_extract_prints_the_documented_keys(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        '<html><head><meta name="ArticleTitle" content="某局2022年政府信息公开工作年度报告"></head>'
        '<body><div id="zoom"><p>正文内容。</p><a href="files/a.pdf">附件</a></div></body></html>',
        encoding="utf-8",
    )
    result = run_nianbao("extract", str(page), "--url", "http://x.gov.cn/nb/t1.htm", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == [
        "title", "index_no", "publisher", "pub_date", "doc_no", "topic", "report_year", "body_text", "attachments", "tables",
    ]
    assert data["title"] == "某局2022年政府信息公开工作年度报告"
    assert data["report_year"] == 2022
    assert data["index_no"] is None and data["publisher"] is None
    assert data["attachments"] == ["http://x.gov.cn/nb/files/a.pdf"]

    missing = run_nianbao("extract", str(tmp_path / "nope.html"), cwd=tmp_path)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


MANIFEST_FIELDS = ("title", "report_year", "pub_date", "publisher", "index_no", "doc_no", "topic")


def test_extract_over_the_real_corpus_matches_the_manifest(corpus_dev):
    """`nianbao extract` on every saved report/document page, scored per field against the labels."""
    runner = CliRunner()
    with open(corpus_dev / "MANIFEST.tsv", encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["kind"] in ("report", "document")]
    assert rows
    hits = {f: 0 for f in MANIFEST_FIELDS}
    misses: list[str] = []
    for row in rows:
        result = runner.invoke(cli, ["extract", str(corpus_dev / row["id"] / "page.html"), "--url", row["url"]])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        for field in MANIFEST_FIELDS:
            expected = row[field] or None
            got = data[field]
            if field == "report_year" and expected is not None:
                expected = int(expected)
            if got == expected:
                hits[field] += 1
            else:
                misses.append(f"{row['id']}.{field}: expected {expected!r}, got {got!r}")
        if row["tables"]:  # post-2019 reports: the format, and every check evaluated
            tables = data["tables"] or {}
            checks = tables.get("checks") or {}
            if tables.get("format") != row["tables"] or None in checks.values() or not checks:
                misses.append(f"{row['id']}.tables: expected {row['tables']}, got {tables.get('format')!r} {checks}")
    print(f"\nnianbao extract on {len(rows)} dev pages (exact match, null where unlabelled):")
    for field in MANIFEST_FIELDS:
        print(f"  {field:<12} {hits[field]}/{len(rows)} = {hits[field] / len(rows):.3f}")
    for miss in misses:
        print("  miss:", miss)
    assert not misses


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_search_and_show_on_a_crawled_archive(demo, tmp_path, database_url):
    crawl = run_nianbao(
        "--db", database_url, "--sites", str(demo.sites_file), "crawl", "-q", *FAST_CRAWL, "demo-tjj", cwd=tmp_path
    )
    assert crawl.returncode == 0, crawl.stderr

    found = run_nianbao("--db", database_url, "search", "统计局", "--format", "json", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert hits and all(h["site"] == "demo-tjj" for h in hits)

    hostile = run_nianbao("--db", database_url, "search", "%' OR 1=1 --", cwd=tmp_path)
    assert hostile.returncode == 0 and "No reports found." in hostile.stdout

    shown = run_nianbao("--db", database_url, "show", str(hits[0]["id"]), "--format", "json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["id"] == hits[0]["id"] and record["versions"][0]["number"] == 1 and record["body_text"]

    text = run_nianbao("--db", database_url, "show", str(hits[0]["id"]), cwd=tmp_path)
    assert record["title"] in text.stdout

    missing = run_nianbao("--db", database_url, "show", "999999", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "Error: no archived report with id 999999"


def test_demo_command_archives_the_demo_site_and_a_rerun_adds_nothing(tmp_path):
    from crawler.demo.site import build_demo_site

    expected = len(build_demo_site().expected_reports)
    port = str(_free_port())
    first = run_nianbao("demo", "--port", port, cwd=tmp_path, timeout=180)
    assert first.returncode == 0, first.stderr + first.stdout
    assert f"Archived reports ({expected}):" in first.stdout
    assert (tmp_path / "nianbao-data" / "archive.sqlite3").is_file()
    assert "HTTP 404" in first.stdout and "timeout" in first.stdout

    second = run_nianbao("demo", "--port", port, cwd=tmp_path, timeout=180)
    assert second.returncode == 0, second.stderr
    assert f"Archived reports ({expected}):" in second.stdout
    assert "Crawl run 2: finished" in second.stdout
