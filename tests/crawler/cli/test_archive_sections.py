"""``nianbao search --section`` and the sections in ``nianbao show`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from crawler.config import SiteConfig
from crawler.errors import ConfigError
from crawler.items import ReportItem
from storage import open_archive, record_report, start_run, sync_site
from storage.sectioning import sections_json

SITE = SiteConfig(key="demo-tjj", name="示范市统计局", region="示范省示范市", level="department", family="trs",
                  list_urls=("http://127.0.0.1:9/nb/",))
SCRIPT = "<script>window.__pwned = 1</script>"


def post2019(overview: str, problems: str) -> str:
    return (
        "本报告根据《条例》编制。\n"
        f"一、总体情况\n{overview}\n"
        "二、主动公开政府信息情况\n规章\t0\t0\t0\n"
        "三、收到和处理政府信息公开申请情况\n新收申请5件。\n"
        "四、政府信息公开行政复议、行政诉讼情况\n无。\n"
        f"五、存在问题及改进情况\n{problems}\n"
        "六、其他需要报告的事项\n无。"
    )


BODIES = {
    "problems": post2019("全年主动公开信息120条。", f"政府信息公开专职人员不足，解读形式单一。{SCRIPT}"),
    "overview": post2019("我局克服人员不足的困难，主动公开信息98条。", "栏目更新不够及时。"),
    "old": "一、概述\n我局重视政务公开。\n二、主动公开政府信息情况\n共120条。\n三、存在的主要问题及改进措施\n工作人员不足。",
    "unsplit": post2019("全年主动公开信息50条。", "人员不足。"),
}


@dataclass
class SectionArchive:
    url: str
    ids: dict[str, int]


def build_section_archive(database_url: str) -> SectionArchive:
    """Four reports as the crawl records them; "unsplit" was archived before sections existed."""
    sessions = open_archive(database_url)
    ids = {}
    try:
        with sessions() as session, session.begin():
            sync_site(session, SITE)
            run_id = start_run(session, [SITE.key]).id
            for year, (name, body) in enumerate(BODIES.items(), start=2020):
                url = f"http://127.0.0.1:9/nb/{name}.htm"
                record_report(session, run_id, ReportItem(
                    site_key=SITE.key, url=url, title=f"示范市统计局{year}年政府信息公开工作年度报告", report_year=year,
                    pub_date=f"{year + 1}-01-15", index_no=f"idx-{name}", body_text=body,
                    sections=None if name == "unsplit" else sections_json(body),
                ))
        with sessions() as session:
            from sqlalchemy import select

            from storage.models import Document

            for document in session.scalars(select(Document)):
                ids[document.url.rsplit("/", 1)[1].removesuffix(".htm")] = document.id
    finally:
        sessions.kw["bind"].dispose()
    return SectionArchive(database_url, ids)


@pytest.fixture
def archive(database_url: str, tmp_path, monkeypatch) -> SectionArchive:
    monkeypatch.setenv("NIANBAO_DATA_DIR", str(tmp_path / "data"))
    return build_section_archive(database_url)


def nianbao(archive: SectionArchive, *args: str):
    return CliRunner().invoke(cli, ["--db", archive.url, *args])


def test_search_within_the_problems_section(archive: SectionArchive):
    """`nianbao search 人员不足 --section 问题`: reports whose 存在问题 section mentions 人员不足 --
    not the one that mentions it in its 总体情况, and the snippet is from the problems section."""
    everywhere = json.loads(nianbao(archive, "search", "人员不足", "--format", "json").output)
    assert {hit["id"] for hit in everywhere} == set(archive.ids.values())
    for spec in ("问题", "problems"):
        result = nianbao(archive, "search", "人员不足", "--section", spec, "--format", "json")
        assert result.exit_code == 0, result.output
        hits = json.loads(result.output)
        assert {hit["id"] for hit in hits} == {archive.ids["problems"], archive.ids["old"]}
        snippet = next(hit["snippet"] for hit in hits if hit["id"] == archive.ids["problems"])
        assert snippet.startswith("五、存在问题及改进情况") and "人员不足" in snippet
    table = nianbao(archive, "search", "人员不足", "--section", "overview")
    assert table.exit_code == 0 and "我局克服人员不足" in table.output


def test_an_unknown_section_is_a_usage_error(archive: SectionArchive):
    """A misspelt key is refused as a usage error (ConfigError: one line, exit status 2 from
    the entry point) naming the keys, before the archive is searched."""
    result = nianbao(archive, "search", "人员不足", "--section", "problem")
    assert isinstance(result.exception, ConfigError)
    assert "unknown section 'problem'" in str(result.exception) and "problems" in str(result.exception)


def test_show_lists_the_sections(archive: SectionArchive):
    """`nianbao show ID` lists each section's key, heading, offsets and length; the JSON has
    them too, and the offsets cut the text at the headings."""
    result = nianbao(archive, "show", str(archive.ids["problems"]))
    assert result.exit_code == 0, result.output
    assert "sections: 6" in result.output
    assert "五、存在问题及改进情况" in result.output and "problems" in result.output
    data = json.loads(nianbao(archive, "show", str(archive.ids["problems"]), "--format", "json").output)
    assert [s["key"] for s in data["sections"]] == ["overview", "proactive", "requests", "review", "problems", "other"]
    problems = data["sections"][4]
    assert data["body_text"][problems["start"] : problems["end"]].startswith("五、存在问题及改进情况")
    assert problems["length"] == problems["end"] - problems["start"]

    old = json.loads(nianbao(archive, "show", str(archive.ids["old"]), "--format", "json").output)
    assert [(s["key"], s.get("topic")) for s in old["sections"]] == [
        ("part1", "overview"), ("part2", "proactive"), ("part3", "problems")]
    unsplit = nianbao(archive, "show", str(archive.ids["unsplit"]))
    assert "not split" in unsplit.output
    assert json.loads(nianbao(archive, "show", str(archive.ids["unsplit"]), "--format", "json").output)["sections"] is None
