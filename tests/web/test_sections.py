"""The web app's sections: the report page's table of contents and ``section=`` in search."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.crawler.cli.test_archive_sections import SCRIPT, SectionArchive, build_section_archive
from web.app import create_app
from web.settings import WebSettings


@pytest.fixture
def archive(database_url: str, tmp_path, monkeypatch) -> SectionArchive:
    monkeypatch.setenv("NIANBAO_DATA_DIR", str(tmp_path / "data"))
    return build_section_archive(database_url)


@pytest.fixture
def client(archive: SectionArchive) -> Iterator[TestClient]:
    with TestClient(create_app(WebSettings(database_url=archive.url))) as test_client:
        yield test_client


def test_report_page_has_a_table_of_contents_linking_into_the_text(client: TestClient, archive: SectionArchive):
    """A reader jumps from the contents to 五、存在问题及改进情况 in the text; the text is still all
    there, escaped (archived text is hostile), and a report never split shows no contents."""
    html = client.get(f"/reports/{archive.ids['problems']}").text
    assert '<ol class="toc">' in html
    for key in ("overview", "proactive", "requests", "review", "problems", "other"):
        assert f'href="#section-{key}"' in html and f'id="section-{key}"' in html
    assert '<span class="section" id="section-problems">五、存在问题及改进情况' in html
    assert "本报告根据《条例》编制。" in html  # the preamble before the first section
    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert '<ol class="toc">' not in client.get(f"/reports/{archive.ids['unsplit']}").text

    api = client.get(f"/api/reports/{archive.ids['old']}").json()
    assert [(s["key"], s["topic"], s["anchor"]) for s in api["sections"]] == [
        ("part1", "overview", "section-part1"), ("part2", "proactive", "section-part2"), ("part3", "problems", "section-part3")]


def test_search_with_a_section(client: TestClient, archive: SectionArchive):
    """/api/search?section=问题 and the search page's section field give only reports whose
    problems section has the words; an unknown section name is a 422, never a server error."""
    found = client.get("/api/search", params={"q": "人员不足", "section": "问题"}).json()
    assert {hit["id"] for hit in found["hits"]} == {archive.ids["problems"], archive.ids["old"]}
    assert found["filters"]["section"] == "问题"
    assert len(client.get("/api/search", params={"q": "人员不足"}).json()["hits"]) == 4
    page = client.get("/search", params={"q": "人员不足", "section": "overview"}).text
    assert 'name="section" value="overview"' in page and "我局克服" in page
    bad = client.get("/api/search", params={"q": "人员不足", "section": "problem"})
    assert bad.status_code == 422 and "unknown section" in bad.json()["error"]
    assert client.get("/search", params={"q": "人员不足", "section": "x" * 51}).status_code == 422
