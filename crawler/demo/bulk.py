"""A generated site of many bureaus, for benchmarks and crash tests.

:func:`build_bulk_site` makes ``bureaus`` × ``reports`` annual-report pages (generic family, UTF-8),
each linking one small PDF, with one list page per bureau (``/bNNNN/xxgk/ndbg/list.html``).
Everything is deterministic; :func:`report_html` with ``edition`` > 0 is the same report silently
corrected (same URL, one more sentence), for re-crawl tests. Serve it with
:class:`crawler.demo.server.DemoServer` and configure it with :func:`bulk_sites_toml`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from html import escape

from crawler.demo.pdf import make_pdf
from crawler.demo.site import DemoPage, DemoSite

HTML = "text/html; charset=utf-8"
PDF = "application/pdf"
FIRST_YEAR = 2014
_TOPICS = ("统计公报", "政策解读", "财政预决算", "行政许可", "行政处罚", "招生入学", "社会救助")


@dataclass(frozen=True)
class BulkReport:
    bureau: int
    year: int
    path: str
    pdf_path: str


def bureau_name(number: int) -> str:
    return f"基准市第{number}局"


def report_html(report: BulkReport, edition: int = 0) -> bytes:
    """A report page: metadata line, a few paragraphs of text, the PDF link."""
    rng = random.Random(f"{report.bureau}-{report.year}")
    name = bureau_name(report.bureau)
    title = f"{name}{report.year}年政府信息公开工作年度报告"
    pub = f"{report.year + 1}-01-{rng.randint(10, 28)}"
    paragraphs = [
        f"一、总体情况。{report.year}年，{name}认真贯彻落实《中华人民共和国政府信息公开条例》，"
        f"全年主动公开政府信息{rng.randint(50, 900)}条，其中{rng.choice(_TOPICS)}"
        f"{rng.randint(5, 90)}条。",
        f"二、主动公开政府信息情况。本年制发规范性文件{rng.randint(0, 20)}件，"
        f"现行有效{rng.randint(10, 80)}件。",
        f"三、收到和处理政府信息公开申请情况。本年新收申请{rng.randint(0, 60)}件，"
        f"上年结转{rng.randint(0, 5)}件，予以公开{rng.randint(0, 40)}件。",
        "四、政府信息公开行政复议、行政诉讼情况。本年未发生因政府信息公开引起的行政复议、行政诉讼。",
        "五、存在的主要问题及改进情况。公开内容的及时性和解读的针对性有待加强。",
        "六、其他需要报告的事项。本年度未收取信息处理费。",
    ]
    if edition:
        paragraphs.append(f"（本报告于发布后第{edition}次更正：更正了第三部分的统计数字。）")
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    pdf_name = report.pdf_path.rsplit("/", 1)[1]
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head>
<body><div class="nav"><a href="list.html">政府信息公开年报</a></div>
<h1>{escape(title)}</h1>
<div class="info"><span>发布机构：{escape(name)}</span><span>发布日期：{pub}</span>
<span>索引号：B{report.bureau:04d}/{report.year}-00001</span></div>
<div class="article-content">
{body}
<p>附件：<a href="{pdf_name}">{escape(title)}.pdf</a></p>
</div></body></html>"""
    return page.encode("utf-8")


def build_bulk_site(bureaus: int, reports: int) -> tuple[DemoSite, list[BulkReport]]:
    """Every page of the site, and its reports."""
    pages: dict[str, DemoPage] = {}
    all_reports: list[BulkReport] = []
    for number in range(1, bureaus + 1):
        folder = f"/b{number:04d}/xxgk/ndbg/"
        items = []
        for offset in range(reports):
            year = FIRST_YEAR + offset
            digest = hashlib.sha256(f"{number}-{year}".encode()).hexdigest()[:12]
            report = BulkReport(number, year, f"{folder}content_{year}.html",
                            f"{folder}P0{year + 1}0115{digest}.pdf")
            all_reports.append(report)
            pages[report.path] = DemoPage(report_html(report), HTML)
            title = f"{bureau_name(number)}{year}年政府信息公开工作年度报告"
            pages[report.pdf_path] = DemoPage(
                make_pdf(title, [f"{bureau_name(number)}{year}年度报告全文（附件）。",
                                 f"编号 {digest}。"]), PDF)
            items.append(f'<li><a href="content_{year}.html">{escape(title)}</a></li>')
        pages[folder + "list.html"] = DemoPage(
            (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>年报</title></head><body>'
             f'<h1>{escape(bureau_name(number))} 政府信息公开年报</h1><ul>'
             + "".join(reversed(items)) + "</ul></body></html>").encode("utf-8"),
            HTML)
    site = DemoSite(pages=pages, expected_reports=[], expected_failures=[], list_paths={})
    return site, all_reports


def bulk_sites_toml(base_url: str, bureaus: int, window: int = 7) -> str:
    """The sites file for the bulk site served at ``base_url``."""
    lines = ["[defaults]", f"revalidate_days = {window}", "max_pages = 500", ""]
    for number in range(1, bureaus + 1):
        lines += [
            "[[sites]]",
            f'key = "bench-{number:04d}"',
            f'name = "{bureau_name(number)}"',
            'region = "基准市"',
            'level = "department"',
            'family = "generic"',
            f'list_urls = ["{base_url}/b{number:04d}/xxgk/ndbg/list.html"]',
            "",
        ]
    return "\n".join(lines)
