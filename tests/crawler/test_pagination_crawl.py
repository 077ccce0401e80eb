"""Pagination schemes read end to end on loopback servers that behave like real CMS columns.

- a column template no adapter knows (no pager, no 下一页): the spider probes ``index_N.html``
  until the site answers 404 -- what a plain TRS/static-site column without a pager script does;
- the same on a site that answers any unknown ``index_N.html`` with its first page (a "soft
  404", common on government CMS front ends): probing stops at the repeated page;
- a Hanweb column whose jpage plugin pages by POST ``startrecord``/``endrecord``/``perpage``
  with its ``ajaxParam`` form, as Hanweb JCMS columns without a ``nextgroup`` template do.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from crawler.demo.server import DemoServer
from crawler.demo.site import DemoPage, DemoSite
from storage.db import open_archive
from storage.models import CrawlError, Document, SiteCrawl
from tests.crawler.harness import FAST_CRAWL, run_nianbao

HTML = "text/html; charset=utf-8"
XML = "text/xml; charset=utf-8"


def _report(year: int) -> bytes:
    title = f"示例县{year}年政府信息公开工作年度报告"
    body = "".join(f"<p>{year}年，示例县认真贯彻落实《中华人民共和国政府信息公开条例》，第{n}段。</p>" for n in range(8))
    return (f'<html><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{year + 1}-01-20 09:00">'
            f'</head><body><h1>{title}</h1><div class="TRS_Editor">{body}</div></body></html>').encode()


def _list(years: list[int], folder: str) -> bytes:
    items = "".join(f'<li><a href="{folder}{y}.htm" title="示例县{y}年政府信息公开工作年度报告">示例县{y}年报</a></li>'
                    for y in years)
    return f'<html><head><meta charset="utf-8"></head><body><ul>{items}</ul></body></html>'.encode()


def _crawl(tmp_path: Path, database_url: str, pages: dict[str, DemoPage], family: str, list_path: str):
    site = DemoSite(pages=pages, expected_reports=[], expected_failures=[], list_paths={})
    with DemoServer(site) as server:
        sites_file = tmp_path / "sites.toml"
        sites_file.write_text("\n".join([
            "[[sites]]", 'key = "xian"', 'name = "示例县人民政府"', 'region = "示例省示例县"',
            'level = "government"', f'family = "{family}"', f'list_urls = ["{server.base_url}{list_path}"]', "",
        ]), encoding="utf-8")
        result = run_nianbao("--db", database_url, "--sites", str(sites_file), "crawl", "-q", *FAST_CRAWL,
                             cwd=tmp_path)
        counts = dict(server.request_counts)
    assert result.returncode == 0, result.stderr + result.stdout
    sessions = open_archive(database_url)
    with sessions() as session:
        years = sorted(d.report_year for d in session.scalars(select(Document)))
        crawl = session.scalars(select(SiteCrawl)).one()
        errors = session.scalars(select(CrawlError)).all()
        session.expunge_all()
    return years, crawl, errors, counts


def test_a_column_without_a_pager_is_probed_until_404(tmp_path, database_url):
    pages = {"/ndbg/index.html": DemoPage(_list([2023, 2022], "/r/"), HTML),
             "/ndbg/index_1.html": DemoPage(_list([2021, 2020], "/r/"), HTML),
             "/ndbg/index_2.html": DemoPage(_list([2019], "/r/"), HTML)}
    pages.update({f"/r/{y}.htm": DemoPage(_report(y), HTML) for y in range(2019, 2024)})
    years, crawl, errors, counts = _crawl(tmp_path, database_url, pages, "generic", "/ndbg/index.html")
    assert years == [2019, 2020, 2021, 2022, 2023]
    assert counts["/ndbg/index_3.html"] == 1  # the 404 that ended the column ...
    assert errors == []  # ... is not a failure
    assert (crawl.listing_complete, crawl.list_pages_expected, crawl.list_pages_fetched) == (True, 3, 3)


def test_probing_stops_at_a_page_that_repeats_the_first(tmp_path, database_url):
    """A front end that answers any index_N.html with the column's first page."""
    pages = {"/ndbg/index.html": DemoPage(_list([2023, 2022], "/r/"), HTML),
             "/ndbg/index_1.html": DemoPage(_list([2021], "/r/"), HTML),
             "/ndbg/index_2.html": DemoPage(_list([2023, 2022], "/r/"), HTML),
             "/ndbg/index_3.html": DemoPage(_list([2023, 2022], "/r/"), HTML)}
    pages.update({f"/r/{y}.htm": DemoPage(_report(y), HTML) for y in range(2021, 2024)})
    years, crawl, _errors, counts = _crawl(tmp_path, database_url, pages, "trs", "/ndbg/index.html")
    assert years == [2021, 2022, 2023]
    assert "/ndbg/index_3.html" not in counts
    assert (crawl.listing_complete, crawl.list_pages_expected, crawl.list_pages_fetched) == (True, 2, 2)


def _datastore(years: list[int]) -> str:
    records = "".join(
        f'<record><![CDATA[<li><a href="/art/{y + 1}/1/20/art_7_{y}.html" title="示例县{y}年政府信息公开工作年度报告">'
        f"示例县{y}年报</a></li>]]></record>" for y in years)
    return f"<datastore><recordset>{records}</recordset></datastore>"


def test_hanweb_jpage_post_groups(tmp_path, database_url):
    years = list(range(2023, 2012, -1))  # 11 reports, 2 per page, groups of 2 pages
    column = (f'<html><head><meta charset="utf-8"></head><body><div id="4001"><script type="text/xml">'
              f"{_datastore(years[:2])}</script></div><script>$('#4001').jpage({{ dataStore: dataStore, "
              "perPage: 2, totalRecord: 11, groupSize: 2, proxyUrl: '/module/web/jpage/dataproxy.jsp', "
              "ajaxParam: { col: 1, webid: 3, path: '/', columnid: 7, unitid: '4001', permissiontype: 0 } });"
              "</script></body></html>")
    pages = {"/col/col7/index.html": DemoPage(column.encode(), HTML)}
    # Answers keyed by their query and form fields: only the requests the plugin makes match.
    for start in (3, 7, 11):
        end = min(start + 3, 11)
        key = f"/module/web/jpage/dataproxy.jsp?startrecord={start}&endrecord={end}&perpage=2&columnid=7&unitid=4001"
        answer = '<?xml version="1.0" encoding="UTF-8"?>' + _datastore(years[start - 1:end])
        pages[key] = DemoPage(answer.encode(), XML)
    pages.update({f"/art/{y + 1}/1/20/art_7_{y}.html": DemoPage(_report(y), HTML) for y in years})
    found, crawl, errors, _ = _crawl(tmp_path, database_url, pages, "hanweb", "/col/col7/index.html")
    assert found == sorted(years)
    assert errors == []
    assert (crawl.listing_complete, crawl.list_pages_expected, crawl.list_pages_fetched) == (True, 4, 4)
