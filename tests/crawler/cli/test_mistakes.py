"""The command line never misleads: the user mistakes of issue 15 each get a clear refusal."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from crawler.errors import ConfigError
from tests.crawler.harness import run_nianbao

SITE = (
    '[[sites]]\nkey = "a"\nname = "甲局"\nregion = "示范市"\nlevel = "department"\nfamily = "trs"\n'
    'list_urls = ["http://a.gov.cn/"]\n'
)
READING_COMMANDS = (
    ["show", "1"],
    ["search", "报告"],
    ["monitor"],
    ["stats"],
    ["export", "--format", "csv"],
    ["diff", "1"],
    ["alerts", "list"],
    ["sites", "list"],
)


@pytest.fixture
def sites_file(tmp_path):
    path = tmp_path / "sites.toml"
    path.write_text(SITE, encoding="utf-8")
    return path


def test_reading_commands_refuse_a_missing_sqlite_archive(tmp_path, sites_file, monkeypatch):
    """User mistake: a typo in --db (wrong/path.sqlite3). Reading commands silently created an
    empty archive there and answered "no report", as if the real archive were empty."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NIANBAO_DATA_DIR", str(tmp_path / "nianbao-data"))
    wrong = tmp_path / "wrong" / "path.sqlite3"
    for args in READING_COMMANDS:
        result = CliRunner().invoke(cli, ["--db", f"sqlite:///{wrong}", "--sites", str(sites_file), *args])
        assert isinstance(result.exception, ConfigError), (args, result.output)
        assert "no archive at" in str(result.exception), args
        assert not wrong.exists() and not wrong.parent.exists(), args

    one = run_nianbao("--db", "sqlite:///wrong/path.sqlite3", "show", "1", cwd=tmp_path)
    assert one.returncode == 2
    assert one.stderr.splitlines() == [
        "Error: no archive at wrong/path.sqlite3 (run nianbao crawl or nianbao demo first,"
        " or check --db / $NIANBAO_DATABASE_URL)"
    ]
    assert not (tmp_path / "wrong").exists()

    # A writing command still creates it.
    migrate = run_nianbao("--db", "sqlite:///wrong/path.sqlite3", "db", "migrate", cwd=tmp_path)
    assert migrate.returncode == 0, migrate.stderr
    assert (tmp_path / "wrong" / "path.sqlite3").is_file()
    assert run_nianbao("--db", "sqlite:///wrong/path.sqlite3", "search", "报告", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", "an empty file"),
        (b" \n\t\n", "an empty file"),
        (os.urandom(4096), "a binary file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "a PDF file"),
        (b"\x00\x01\x00\x00\x00\x12\x01\x00\x00\x04\x00\x20GDEF", "a TrueType font file"),
        (b"wOF2\x00\x01\x00\x00" + bytes(64), "a WOFF2 font file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "a PNG image"),
        (b"PK\x03\x04" + bytes(64), "a ZIP archive"),
    ],
)
def test_extract_refuses_what_is_not_a_web_page(tmp_path, content, what):
    """User mistake: `nianbao extract` on the report's PDF attachment, a font the page loads,
    an empty or truncated download. It printed made-up JSON and exited 0."""
    file = tmp_path / "saved.htm"
    file.write_bytes(content)
    result = CliRunner().invoke(cli, ["extract", str(file)])
    assert isinstance(result.exception, ConfigError), result.output
    assert result.exception.exit_status == 2
    assert str(result.exception).startswith(f"not an HTML page: {file} is {what}")


def test_extract_refusal_is_one_line_exit_2_and_legacy_encodings_still_extract(tmp_path):
    """User mistake: the same as above, seen from the shell (one line, status 2); and a GBK page,
    whose bytes are not UTF-8, must not be mistaken for binary."""
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    result = run_nianbao("extract", str(pdf), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [f"Error: not an HTML page: {pdf} is a PDF file"]

    gbk = tmp_path / "gbk.htm"
    gbk.write_bytes(
        ('<html><head><meta charset="gbk"><title>某县2022年政府信息公开工作年度报告</title></head><body>'
         + "<p>本年度收到政府信息公开申请十件，均已按时答复。</p>" * 40 + "</body></html>").encode("gbk")
    )
    ok = CliRunner().invoke(cli, ["extract", str(gbk)])
    assert ok.exit_code == 0, ok.output
    assert '"report_year": 2022' in ok.output


def test_read_only_commands_find_the_demo_sites_file(tmp_path):
    """User mistake: none, really: following `make demo`'s own advice. `nianbao sites list` and
    `nianbao alerts send` failed with "no sites file" because the demo wrote its sites file to
    nianbao-data/demo-sites.toml; they now use it (and say so), `crawl` does not."""
    data = tmp_path / "nianbao-data"
    data.mkdir()
    (data / "demo-sites.toml").write_text(SITE, encoding="utf-8")
    listed = run_nianbao("sites", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "甲局" in listed.stdout
    assert listed.stderr.splitlines() == [
        f"using the demo's sites file {data / 'demo-sites.toml'} (no --sites, $NIANBAO_SITES or ./sites.toml)"
    ]
    assert not (data / "archive.sqlite3").exists()

    crawl = run_nianbao("crawl", cwd=tmp_path)
    assert crawl.returncode == 2 and "no sites file" in crawl.stderr
    assert f"the demo's is {data / 'demo-sites.toml'}" in crawl.stderr


def test_sites_check_rejects_an_alert_url_apprise_cannot_send_to(tmp_path):
    """User mistake: a mistyped apprise URL (`mailto:/` scheme typos, `slak://`) passed
    `sites check`, and `alerts send` then retried it night after night. It is refused at once,
    naming the file, the site and the URL without its password."""
    bad_site = tmp_path / "bad-site.toml"
    bad_site.write_text(SITE + 'alert_urls = ["slak://hooks/T0/B0/XYZ"]\n', encoding="utf-8")
    result = run_nianbao("sites", "check", str(bad_site), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"Error: {bad_site}: site 'a': alert_urls: slak://hooks/T0/B0/XYZ is not an apprise URL nianbao can send to"
    ]

    bad_global = tmp_path / "bad-global.toml"
    bad_global.write_text('[alerts]\nurls = ["mailtoo://ops:hunter2@smtp.example.org"]\n\n' + SITE, encoding="utf-8")
    result = run_nianbao("sites", "check", str(bad_global), cwd=tmp_path)
    assert result.returncode == 2 and "hunter2" not in result.stderr
    assert result.stderr.splitlines() == [
        f"Error: {bad_global}: [alerts] urls: mailtoo://ops:***@smtp.example.org is not an apprise URL nianbao can send to"
    ]
    # ... and when the sites file is loaded for alerts.
    (tmp_path / "archive.sqlite3").write_bytes(b"")
    sent = CliRunner().invoke(
        cli, ["--db", f"sqlite:///{tmp_path / 'archive.sqlite3'}", "--sites", str(bad_global), "alerts", "send"]
    )
    assert isinstance(sent.exception, ConfigError) and "mailtoo://ops:***@" in str(sent.exception)

    good = tmp_path / "good.toml"
    good.write_text('[alerts]\nurls = ["mailto://ops:pw@smtp.example.org?to=a@example.org"]\n\n' + SITE
                    + 'alert_urls = ["json://127.0.0.1:8000/hook"]\n', encoding="utf-8")
    assert run_nianbao("sites", "check", str(good), cwd=tmp_path).returncode == 0


def test_truncate_around_keeps_the_hit_within_the_width():
    """User mistake: reading a search table whose snippet hid the matched word (see
    test_search_table_snippet_shows_the_matched_phrase); here the cut itself, CJK two columns."""
    from crawler.display import display_width, truncate_around

    text = "…" + "前文" * 30 + "信息处理费" + "后文" * 30 + "…"
    start = text.index("信息处理费")
    cut = truncate_around(text, start, start + 5, 40)
    assert "信息处理费" in cut and display_width(cut) <= 40
    assert cut.startswith("…") and cut.endswith("…")
    short = truncate_around("开头信息处理费", 2, 7, 40)
    assert short == "开头信息处理费"
    at_end = "前文" * 40 + "信息处理费"
    cut = truncate_around(at_end, len(at_end) - 5, len(at_end), 30)
    assert cut.endswith("信息处理费") and display_width(cut) <= 30
