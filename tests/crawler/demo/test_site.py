"""The demo site's pages and expectations are consistent with each other."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from html import unescape
from posixpath import dirname, join, normpath
from urllib.parse import urlsplit

import pytest

from crawler.config import parse_sites
from crawler.demo.content import make_table3_numbers, table3, table_grid
from crawler.demo.site import (
    DEMO_SITE_KEYS,
    DemoSite,
    build_demo_site,
    demo_sites_toml,
)

REPORT_TITLE = re.compile(r"年度报告|年报")


@pytest.fixture(scope="module")
def site() -> DemoSite:
    return build_demo_site(slow_seconds=0.5)


def _text(site: DemoSite, path: str) -> str:
    page = site.pages[path]
    charset = re.search(r"charset=([\w-]+)", page.content_type)
    encoding = charset.group(1) if charset else "utf-8"
    return page.body.decode("gb18030" if encoding.lower() in ("gbk", "gb2312") else encoding)


def _resolve(base: str, href: str) -> str:
    href = unescape(href)
    if href.startswith("/"):
        return urlsplit(href).path
    return normpath(join(dirname(base), href))


def test_build_is_deterministic():
    first, second = build_demo_site(), build_demo_site()
    assert first.pages.keys() == second.pages.keys()
    assert all(first.pages[p].body == second.pages[p].body for p in first.pages)
    assert first.expected_reports == second.expected_reports


def test_expected_counts(site):
    per_site = Counter(r.site_key for r in site.expected_reports)
    # demo-xian: 12 text reports and the scanned one (2011, images only; needs fonts-wqy-zenhei)
    # demo-qu: 8 HTML reports and the PDF-only one (2024)
    assert per_site == {"demo-tjj": 10, "demo-jyj": 7, "demo-xian": 13, "demo-qu": 9}
    assert {(f.site_key, f.kind) for f in site.expected_failures} == {
        ("demo-tjj", "http-404"),
        ("demo-jyj", "timeout"),
    }
    assert set(site.list_paths) == set(DEMO_SITE_KEYS)


def test_every_expected_report_page_exists_and_shows_its_labels(site):
    for report in site.expected_reports:
        assert report.path in site.pages, report.path
        page = site.pages[report.path]
        assert page.status == 200 and page.delay == 0
        text = _text(site, report.path)
        assert report.title in text
        assert report.publisher in text
        assert REPORT_TITLE.search(report.title)
        if report.index_no:
            assert report.index_no in text
        if report.doc_no:
            assert report.doc_no in text
        y, m, d = report.pub_date.split("-")
        assert report.pub_date in text or f"{y}年{m}月{d}日" in text
        assert int(y) == report.report_year + 1
        for attachment in report.attachments:
            assert attachment in site.pages
            name = attachment.rsplit("/", 1)[1]
            assert f'href="./{name}"' in text


def test_failures_are_a_dead_link_and_a_slow_page(site):
    by_kind = {f.kind: f for f in site.expected_failures}
    assert by_kind["http-404"].path not in site.pages
    slow = site.pages[by_kind["timeout"].path]
    assert slow.delay == 0.5
    assert "示范市教育局2017年政府信息公开工作年度报告" in slow.body.decode("utf-8")


LIST_PAGES = {
    "demo-tjj": [f"/tjj/zfxxgk/zfxxgknb/{n}" for n in ("index.html", "index_1.html", "index_2.html")],
    "demo-jyj": ["/col/col1001/index.html"]
    + [f"/module/web/jpage/dataproxy.jsp?page={n}" for n in (2, 3)],
    "demo-xian": [f"/xian/xxgk/ndbg/{n}" for n in ("list.html", "list_2.html", "list_3.html")],
    "demo-qu": ["/qu/zwgk/zfxxgknb/", "/qu/zwgk/zfxxgknb/index_1.html"],
}


def test_list_pages_link_every_report_and_failure(site):
    for key, list_pages in LIST_PAGES.items():
        assert list_pages[0] in site.list_paths[key]
        linked = set()
        for list_path in list_pages:
            text = _text(site, list_path)
            for href in re.findall(r'<a href="([^"]+)"', text):
                if ".htm" in href and "index" not in href and "list" not in href:
                    linked.add(_resolve(list_path.split("?")[0], href))
        expected = {r.path for r in site.expected_reports if r.site_key == key}
        expected |= {f.path for f in site.expected_failures if f.site_key == key}
        assert expected <= linked, expected - linked
        assert all(p in site.pages for p in linked - expected - {f.path for f in site.expected_failures})


def test_list_titles_include_non_reports_that_a_title_filter_drops(site):
    text = "".join(_text(site, p) for p in site.pages if p.startswith("/tjj/zfxxgk/zfxxgknb/index"))
    titles = re.findall(r'title="([^"]+)"', text)
    assert "示范市统计局关于开展统计执法检查的通知" in titles
    assert "2023年示范市国民经济和社会发展统计公报" in titles
    reports = [t for t in titles if REPORT_TITLE.search(t)]
    assert len(reports) == 11  # ten reports and the dead 2013 link
    assert len(titles) == 15


def test_trs_pager_and_metadata_layout(site):
    pages = ["index.html", "index_1.html", "index_2.html"]
    for number, name in enumerate(pages):
        text = _text(site, "/tjj/zfxxgk/zfxxgknb/" + name)
        assert f'createPageHTML(3, {number}, "index", "html");' in text
        assert "var countPage = 3" in text
        if number < 2:
            assert f'<a href="{pages[number + 1]}">下一页</a>' in text
        assert len(re.findall(r"<li><a href=\"\./\d{6}/t\d{8}_\d+\.htm\"", text)) == 5
    detail = _text(site, "/tjj/zfxxgk/zfxxgknb/202401/t20240115_1001.htm")
    assert '<meta name="PubDate" content="2024-01-15 09:30">' in detail
    assert '<td class="lab">索&nbsp;引&nbsp;号：</td>' in detail
    assert '<div class="TRS_Editor">' in detail and 'class="MsoNormal"' in detail
    body_end = detail.index("</div></div>")
    assert detail.index("访问量") > body_end and detail.index("关闭窗口") > body_end
    for heading in ("一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
                    "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况",
                    "六、其他需要报告的事项"):
        assert heading in detail
    assert detail.count("<table") == 4  # metadata table + tables 2, 3, 4
    assert (
        '<p class="MsoNormal" align="center" style="text-align:center;mso-pagination:widow-orphan"><b>'
        '<span style="font-size:10.0pt;font-family:宋体;mso-bidi-font-family:宋体;mso-font-kerning:0pt">法人或</span></b></p>'
    ) in detail


def test_prose_report_has_numbers_in_sentences(site):
    report = next(r for r in site.expected_reports if r.site_key == "demo-tjj" and r.report_year == 2015)
    assert report.table_format is None and report.table3 is None
    text = re.sub(r"<[^>]+>", "", _text(site, report.path))
    assert "主动公开政府信息156条" in text
    assert "收到依申请公开事项10件" in text


def _check_table3(rows: list[list[int]]) -> None:
    new, carried_in, *results, total, carried_out = rows
    for row in rows:
        assert row[6] == sum(row[:6])
    for c in range(7):
        assert new[c] + carried_in[c] == total[c] + carried_out[c]
        assert total[c] == sum(r[c] for r in results)


def test_table3_numbers_satisfy_the_builtin_checks(site):
    formats = Counter()
    for report in site.expected_reports:
        if report.table_format is None:
            assert report.table3 is None
            continue
        formats[report.table_format] += 1
        assert len(report.table3) == {"2021": 25, "2019": 23}[report.table_format]
        _check_table3(report.table3)
    assert formats["2021"] >= 3 and formats["2019"] >= 3


def test_table3_html_grid_matches_the_numbers_with_empty_cells_as_zero(site):
    report = next(r for r in site.expected_reports if r.site_key == "demo-tjj" and r.report_year == 2023)
    detail = _text(site, report.path)
    tables = re.findall(r"<table class=\"MsoNormalTable\".*?</table>", detail, re.S)
    t3 = next(t for t in tables if "本年新收政府信息公开申请数量" in t)
    rows = re.findall(r"<tr.*?</tr>", t3, re.S)
    assert len(rows) == 3 + 25
    assert "rowspan=\"22\"" in t3 and "colspan=\"7\"" in t3
    assert "&nbsp;</span></p></td>" in t3  # an empty cell
    values = []
    for row in rows[3:]:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        nums = [re.sub(r"<[^>]+>|&nbsp;", "", c).strip() for c in cells[-7:]]
        values.append([int(n) if n else 0 for n in nums])
    assert values == report.table3


def test_table_builders_for_both_formats():
    import random

    for fmt, rows in (("2021", 25), ("2019", 23)):
        numbers = make_table3_numbers(random.Random(fmt), fmt, 30)
        _check_table3(numbers)
        grid = table_grid(table3(numbers, fmt))
        assert len(grid) == 3 + rows and all(len(r) == 10 for r in grid)
        assert grid[3 + rows - 1][0] == "四、结转下年度继续办理"


def test_hanweb_column_and_dataproxy_pages(site):
    column = _text(site, "/col/col1001/index.html")
    assert '<script type="text/xml"><datastore>' in column
    assert "<totalrecord>13</totalrecord>" in column and "<totalpage>3</totalpage>" in column
    assert "perPage: 5, totalRecord: 13" in column
    assert column.count("<record><![CDATA[") == 5
    assert "dataproxy.jsp?page=1&webid=1&path=/&columnid=1001&unitid=2001" in column
    for n, records in ((1, 5), (2, 5), (3, 3)):
        page = site.pages[f"/module/web/jpage/dataproxy.jsp?page={n}"]
        assert page.content_type.startswith("text/xml")
        xml = page.body.decode("utf-8")
        assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<datastore>')
        assert xml.count("<record>") == records
    detail = _text(site, "/art/2024/1/20/art_1001_5001.html")
    start, end = detail.index('<meta name="ContentStart">'), detail.index('<meta name="ContentEnd">')
    assert start < detail.index("一、总体情况") < end
    assert "<li><b>发文单位：</b><span>示范市教育局</span></li>" in detail
    assert "<li><b>发布日期：</b><span>2024年01月20日</span></li>" in detail
    assert "<b>名称：</b>" in detail and "<b>发文字号：</b>" in detail


def test_xian_pages_are_gbk_and_not_utf8(site):
    xian = [p for p, page in site.pages.items() if p.startswith("/xian/") and p.endswith(".html")]
    assert len(xian) >= 19
    for path in xian:
        page = site.pages[path]
        assert page.content_type == "text/html; charset=gbk"
        text = page.body.decode("gb18030")
        assert '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">' in text
        with pytest.raises(UnicodeDecodeError):
            page.body.decode("utf-8")
        with pytest.raises(UnicodeDecodeError):
            page.body.decode("gb2312")  # 堃 is GBK, not GB2312
    pager = _text(site, "/xian/xxgk/ndbg/list.html")
    assert '<a href="list_2.html">下一页</a>' in pager and "createPageHTML" not in pager
    assert '<a href="list_3.html">下一页</a>' in _text(site, "/xian/xxgk/ndbg/list_2.html")


def test_xian_report_variants(site):
    xian = {r.report_year: r for r in site.expected_reports if r.site_key == "demo-xian"}
    assert sorted(xian) == list(range(2011, 2024))
    bare = xian[2017]
    assert bare.index_no is None
    text = _text(site, bare.path)
    assert 'class="info"' not in text
    assert "发布时间：2018-03-20　来源：示范县人民政府办公室" in text
    assert xian[2018].title == "示范县２０１８年政府信息公开工作年度报告"
    assert xian[2019].title == "示范县2019年度政府信息公开工作年度报告"
    assert xian[2019].table_format == "2019" and len(xian[2019].table3) == 23
    with_info = _text(site, xian[2023].path)
    assert "<span>发布机构：示范县人民政府办公室</span><span>发布日期：2024-03-25</span>" in with_info


def test_xian_scanned_report_is_images_of_its_pages(site):
    """The 2011 report is a scan (图片版): its body is two PNG pages drawn by the project's own
    code and no text -- what the crawl must read by OCR."""
    from crawler.extract import extract_detail_from_bytes

    scanned = next(r for r in site.expected_reports if r.site_key == "demo-xian" and r.report_year == 2011)
    page = site.pages[scanned.path]
    fields, _ = extract_detail_from_bytes(page.body, "http://demo" + scanned.path, page.content_type)
    assert fields.image_only is True and fields.title == scanned.title
    assert [u.rsplit("/", 1)[1] for u in fields.images] == ["content_100_1.png", "content_100_2.png"]
    for url in fields.images:
        png = site.pages[url.removeprefix("http://demo")]
        assert png.content_type == "image/png" and png.body.startswith(b"\x89PNG")
    assert scanned.index_no == "013990021/2012-00000" and scanned.attachments == []


def test_attachment_pages(site):
    pdf = site.pages["/tjj/zfxxgk/zfxxgknb/202301/P020230120123456789012.pdf"]
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF-")
    docx = site.pages["/tjj/zfxxgk/zfxxgknb/202201/P020220118598765432101.docx"]
    assert docx.content_type.endswith("wordprocessingml.document") and docx.body.startswith(b"PK")


def test_qu_pdf_only_report_is_a_link_to_a_pdf_whose_text_layer_wraps_the_phrase(site):
    """Stands for a real report published as a PDF attachment under an otherwise empty page: the
    archive must take its text from the PDF, whose text layer keeps the page's line breaks, so a
    phrase wrapped at a line's end (保密审查 / 协调机制) is only searchable once the wrap is joined."""
    import io

    from pypdf import PdfReader

    from crawler.attachments.readers import read_pdf
    from crawler.demo.site_qu import PDF_ONLY_YEAR, QU_KEY, WRAPPED_PHRASE
    from crawler.extract import extract_detail_from_bytes
    from spiders.attachments import body_is_only_attachments

    report = next(r for r in site.expected_reports if r.site_key == QU_KEY and r.report_year == PDF_ONLY_YEAR)
    assert report.table_format == "2021" and len(report.attachments) == 1
    page = site.pages[report.path]
    fields, _ = extract_detail_from_bytes(page.body, "http://127.0.0.1:8765" + report.path, page.content_type)
    assert body_is_only_attachments(fields)
    assert WRAPPED_PHRASE not in fields.body_text
    pdf = site.pages[report.attachments[0]]
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF-")
    raw = "\f".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body)).pages)
    assert "保密审查\n协调机制" in raw and WRAPPED_PHRASE not in raw  # the PDF's own line break
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "report.pdf"
        file.write_bytes(pdf.body)
        text, scanned = read_pdf(file)
    assert not scanned and WRAPPED_PHRASE in text


def test_sites_toml_parses_into_site_configs():
    text = demo_sites_toml("http://127.0.0.1:8765")
    sites = parse_sites(tomllib.loads(text))
    assert [s.key for s in sites] == list(DEMO_SITE_KEYS)
    by_key = {s.key: s for s in sites}
    assert by_key["demo-tjj"].family == "trs" and by_key["demo-tjj"].level == "department"
    assert by_key["demo-jyj"].family == "hanweb"
    assert by_key["demo-xian"].family == "generic" and by_key["demo-xian"].level == "government"
    assert by_key["demo-tjj"].list_urls == ("http://127.0.0.1:8765/tjj/zfxxgk/zfxxgknb/index.html",)
    assert by_key["demo-xian"].first_report_year == 2012
    site = build_demo_site()
    for key, starts in site.list_paths.items():
        assert [urlsplit(u).path for u in by_key[key].list_urls] == starts
