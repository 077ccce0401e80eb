"""The bundled demo website: three bureaus of the fictional 示范市, generated in memory.

:func:`build_demo_site` returns every page (path → bytes, content type, status, delay) and
what a correct crawl must find. All names, numbers and text are invented. Links are
root-relative or page-relative, so the site works on any host and port.

URL layout
----------
``/``                                   an index page linking the three columns
``/robots.txt``                         ``Disallow: /private/`` (``/private/index.html`` exists)

**demo-tjj 示范市统计局** — TRS WCM family, UTF-8

- column: ``/tjj/zfxxgk/zfxxgknb/index.html``, ``index_1.html``, ``index_2.html`` (5 items
  each, newest first). Each page carries ``createPageHTML(3, <0-based page>, "index",
  "html")``, ``var countPage = 3`` and visible 首页/上一页/下一页/尾页 anchors. Items are
  ``<ul class="list"><li><a href="./YYYYMM/tYYYYMMDD_NNNN.htm" title="full title">text</a>
  <span>YYYY-MM-DD</span></li>``; the visible text of long titles is cut with ``...`` (the
  ``title`` attribute is always complete).
- details: ``/tjj/zfxxgk/zfxxgknb/YYYYMM/tYYYYMMDD_NNNN.htm``; head metas ArticleTitle,
  PubDate (``YYYY-MM-DD HH:MM``), ContentSource, ColumnName; metadata layout A
  (``table.xxgk``, ``td.lab`` label cells, ``&nbsp;`` padding, mixed colons); body
  ``div.TRS_Editor`` with Word-pasted ``p.MsoNormal`` markup; chrome (访问量, 打印本页,
  关闭窗口) after the body.
- reports 2014–2023 (10). 2023/2022/2021: 2021 table format; 2020/2019: 2019 format;
  2014–2018: prose. 2022 links a PDF, 2021 a DOCX (``P0…`` names, same folder).
  Non-reports: 4. Dead link: the 2013 report (404).

**demo-jyj 示范市教育局** — Hanweb JCMS family, UTF-8

- column: ``/col/col1001/index.html``. The first five records sit in
  ``<div id="2001"><script type="text/xml"><datastore>…</datastore></script></div>``; the
  datastore (column page and dataproxy alike) is exactly::

      <datastore>
      <nextgroup><![CDATA[\
<a href="/module/web/jpage/dataproxy.jsp?page=1&webid=1&path=/&columnid=1001&unitid=2001&webname=示范市教育局&permissiontype=0">\
</a>]]></nextgroup>
      <recordset>
      <record><![CDATA[<li><a href="/art/2024/1/20/art_1001_5001.html" title="…" target="_blank">…</a>\
<span class="bt-data-time">2024-01-20</span></li>]]></record>
      …five records…
      </recordset>
      <totalrecord>13</totalrecord>
      <totalpage>3</totalpage>
      </datastore>

  The ``nextgroup`` link is the jpage proxy template (always ``page=1``); the column page
  also calls ``$('#2001').jpage({… perPage: 5, totalRecord: 13 …})``. Pages 1–3 are answered
  at ``/module/web/jpage/dataproxy.jsp?page=N&…`` (GET or POST; only ``page`` is matched,
  other parameters are ignored) as ``text/xml`` with an XML declaration and the datastore.
- details: ``/art/YYYY/M/D/art_1001_NNNN.html``; metas ArticleTitle, PubDate, ContentSource;
  metadata layout B (``div.xxgk-info`` list of ``<b>label：</b><span>value</span>`` with the
  synonyms 名称, 发文单位, 发文字号, dates as ``YYYY年MM月DD日``); body between
  ``<meta name="ContentStart">`` and ``<meta name="ContentEnd">`` in ``div#zoom``.
- reports 2016–2023 (8); 2017 is the slow page (answers after ``slow_seconds``), expected as a
  timeout failure, so 7 expected reports. Non-reports: 5. The sites file expects reports from
  2015, so the monitor finds 2015 missing (and 2017 unknown: its page failed).

**demo-xian 示范县人民政府** — generic family, every page GBK bytes with
``Content-Type: text/html; charset=gbk`` and ``<meta … charset=gb2312>`` (the pages contain
堃, which GBK has and GB2312 lacks)

- column: ``/xian/xxgk/ndbg/list.html`` → ``list_2.html`` → ``list_3.html`` (6, 6, 4 items),
  linked only by 下一页/尾页 anchors; items ``<li><a href="content_NNN.html">…</a>``.
- details: ``/xian/xxgk/ndbg/content_NNN.html``; ``<h1>`` title, ``div.info`` spans
  (发布机构, 发布日期, 索引号) on all but the 2017 report, which has only a
  ``发布时间：…　来源：…`` line; body ``div.article-content``.
- reports 2011–2023 (13; the 2011 report is a scan: its body is only two PNG images of its pages,
  drawn by :mod:`crawler.demo.image`, which the crawl reads by OCR -- left out, with the column
  then 6, 6, 3 items, when no CJK font is installed; the 2018 title has full-width digits; the 2020 report was published
  on 2021-05-18, after its 31 March deadline: the monitor's late report); 2019 and 2020 in the 2019
  format (table 3 with 23 rows), 2021–2023 in the 2021 format. Non-reports: 3.
"""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass, field

from crawler.demo.content import (
    Block,
    Bureau,
    Report,
    Table,
    block_lines,
    prose_report,
    short_notice,
    structured_report,
    table_grid,
)
from crawler.demo.docx import make_docx
from crawler.demo.image import cjk_font_path, render_pages
from crawler.demo.pdf import make_pdf

HTML_UTF8 = "text/html; charset=utf-8"
HTML_GBK = "text/html; charset=gbk"
XML_UTF8 = "text/xml;charset=UTF-8"
PDF = "application/pdf"
PNG = "image/png"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
JS = "application/javascript; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

DEMO_SITE_KEYS = ("demo-tjj", "demo-jyj", "demo-xian", "demo-qu")
DEMO_CITY = "示范市"


@dataclass
class DemoPage:
    body: bytes
    content_type: str
    status: int = 200
    delay: float = 0.0


@dataclass
class ExpectedReport:
    site_key: str
    path: str
    title: str
    report_year: int
    pub_date: str  # YYYY-MM-DD
    publisher: str
    index_no: str | None
    doc_no: str | None
    topic: str | None
    table_format: str | None  # "2021", "2019" or None
    attachments: list[str] = field(default_factory=list)
    # Extra (optional): table 3 as 25 or 23 rows × 7 numbers, in the table's row order.
    table3: list[list[int]] | None = None


@dataclass
class ExpectedFailure:
    site_key: str
    path: str
    kind: str  # "http-404" | "timeout"


@dataclass
class DemoSite:
    pages: dict[str, DemoPage]
    expected_reports: list[ExpectedReport]
    expected_failures: list[ExpectedFailure]
    list_paths: dict[str, list[str]]


@dataclass(frozen=True)
class _SiteInfo:
    key: str
    name: str
    region: str
    level: str
    family: str
    first_report_year: int


SITE_INFO = {
    "demo-tjj": _SiteInfo("demo-tjj", "示范市统计局", "示范市", "department", "trs", 2014),
    # first_report_year 2015 although the column starts with 2016: the monitor's built-in
    # missing report (demo-xian's 2020 report, published in May, is its late one).
    "demo-jyj": _SiteInfo("demo-jyj", "示范市教育局", "示范市", "department", "hanweb", 2015),
    "demo-xian": _SiteInfo("demo-xian", "示范县人民政府", "示范市示范县", "government", "generic", 2012),
    # The list2.trsapi column and the moved report (crawler/demo/site_qu.py).
    "demo-qu": _SiteInfo("demo-qu", "示范区管理委员会", "示范市示范区", "government", "trs", 2016),
}

TJJ_COLUMN = "/tjj/zfxxgk/zfxxgknb/"
JYJ_COLUMN = "/col/col1001/index.html"
JYJ_PROXY = "/module/web/jpage/dataproxy.jsp"
XIAN_COLUMN = "/xian/xxgk/ndbg/"


def demo_sites_toml(base_url: str) -> str:
    """The sites-file text for the demo bureaus served at ``base_url`` (``http://host:port``)."""
    base = base_url.rstrip("/")
    columns = {
        "demo-tjj": TJJ_COLUMN + "index.html",
        "demo-jyj": JYJ_COLUMN,
        "demo-xian": XIAN_COLUMN + "list.html",
        "demo-qu": "/qu/zwgk/zfxxgknb/",
    }
    out = ["# The bundled demo site (crawler/demo): three bureaus of the fictional 示范市.", ""]
    for key in DEMO_SITE_KEYS:
        info = SITE_INFO[key]
        out += [
            "[[sites]]",
            f'key = "{info.key}"',
            f'name = "{info.name}"',
            f'region = "{info.region}"',
            f'level = "{info.level}"',
            f'family = "{info.family}"',
            f'list_urls = ["{base}{columns[key]}"]',
            f"first_report_year = {info.first_report_year}",
            "",
        ]
    return "\n".join(out)


def build_demo_site(slow_seconds: float = 30.0) -> DemoSite:
    """Every page of the demo site and the crawl's expected outcome. Pure and deterministic."""
    pages: dict[str, DemoPage] = {}
    reports: list[ExpectedReport] = []
    failures: list[ExpectedFailure] = []
    _build_common(pages)
    _build_tjj(pages, reports, failures)
    _build_jyj(pages, reports, failures, slow_seconds)
    _build_xian(pages, reports, failures)
    from crawler.demo.site_qu import QU_COLUMN, build_qu  # it builds on this module's helpers

    build_qu(pages, reports)
    list_paths = {
        "demo-tjj": [TJJ_COLUMN + "index.html"],
        "demo-jyj": [JYJ_COLUMN],
        "demo-xian": [XIAN_COLUMN + "list.html"],
        "demo-qu": [QU_COLUMN],
    }
    return DemoSite(pages, reports, failures, list_paths)


# --- small helpers -----------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _a(text: str) -> str:
    return html.escape(text, quote=True)


def _counter(seed: str) -> int:
    return random.Random(seed).randint(300, 9000)


def _utf8(text: str) -> DemoPage:
    return DemoPage(text.encode("utf-8"), HTML_UTF8)


def _gbk(text: str) -> DemoPage:
    return DemoPage(text.encode("gbk"), HTML_GBK)


def _zh_date(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{y}年{m}月{d}日"


def _minus_days(iso: str, days: int) -> str:
    from datetime import date, timedelta

    return (date.fromisoformat(iso) - timedelta(days=days)).isoformat()


# --- rendering report blocks -------------------------------------------------------------

_WORD_BODY = "font-size:16.0pt;font-family:仿宋_GB2312;mso-hansi-font-family:宋体"
_WORD_CELL = "font-size:10.0pt;font-family:宋体;mso-bidi-font-family:宋体;mso-font-kerning:0pt"


def _word_runs(text: str, style: str) -> str:
    """Text as Word pastes it: digit runs in their own ``lang="EN-US"`` span."""
    out = []
    for part in re.split(r"(\d+)", text):
        if not part:
            continue
        if part.isdigit():
            out.append(f'<span lang="EN-US" style="{style}">{part}</span>')
        else:
            out.append(f'<span style="{style}">{_e(part)}</span>')
    return "".join(out)


def _word_table(table: Table) -> str:
    rows = []
    for r, row in enumerate(table.rows):
        cells = []
        for cell in row:
            attrs = f' width="{64 * cell.colspan}"'
            if cell.rowspan > 1:
                attrs += f' rowspan="{cell.rowspan}"'
            if cell.colspan > 1:
                attrs += f' colspan="{cell.colspan}"'
            style = (
                f"width:{48 * cell.colspan}.0pt;border:solid windowtext 1.0pt;"
                "border-top:none;mso-border-alt:solid windowtext .5pt;padding:0cm 5.4pt 0cm 5.4pt"
            )
            if cell.text == "":
                inner = '<p class="MsoNormal" align="center" style="text-align:center">' \
                        f'<span lang="EN-US" style="{_WORD_CELL}">&nbsp;</span></p>'
            else:
                inner = "".join(
                    '<p class="MsoNormal" align="center" style="text-align:center;'
                    'mso-pagination:widow-orphan">'
                    + ("<b>" if cell.header else "")
                    + _word_runs(line, _WORD_CELL)
                    + ("</b>" if cell.header else "")
                    + "</p>"
                    for line in cell.text.split("\n")
                )
            cells.append(f'<td{attrs} valign="middle" style="{style}">{inner}</td>')
        rows.append(f'<tr style="mso-yfti-irow:{r};height:20.25pt">' + "".join(cells) + "</tr>")
    return (
        '<div align="center"><table class="MsoNormalTable" border="1" cellspacing="0" '
        'cellpadding="0" style="border-collapse:collapse;border:none;mso-border-alt:solid '
        'windowtext .5pt;mso-yfti-tbllook:1184;mso-padding-alt:0cm 5.4pt 0cm 5.4pt">'
        + "\n".join(rows)
        + "</table></div>"
    )


def render_word(blocks: list[Block]) -> str:
    """Word-pasted HTML (TRS editors keep all of Word's markup)."""
    out = []
    indent = ('style="text-indent:32.0pt;mso-char-indent-count:2.0;line-height:28.0pt;'
              'mso-line-height-rule:exactly"')
    for block in blocks:
        if block.kind == "heading":
            out.append(
                f'<p class="MsoNormal" {indent}><b><span style="font-size:16.0pt;'
                f'font-family:黑体;mso-hansi-font-family:宋体">{_e(block.text)}</span></b>'
                f'<span lang="EN-US" style="{_WORD_BODY}"><o:p></o:p></span></p>'
            )
        elif block.kind == "para":
            out.append(
                f'<p class="MsoNormal" {indent}>{_word_runs(block.text, _WORD_BODY)}'
                f'<span lang="EN-US" style="{_WORD_BODY}"><o:p></o:p></span></p>'
            )
        elif block.table is not None:
            out.append(_word_table(block.table))
            out.append('<p class="MsoNormal"><span lang="EN-US"><o:p>&nbsp;</o:p></span></p>')
    return "\n".join(out)


def _plain_table(table: Table, split: str) -> str:
    rows = []
    for row in table.rows:
        cells = []
        for cell in row:
            attrs = ""
            if cell.rowspan > 1:
                attrs += f' rowspan="{cell.rowspan}"'
            if cell.colspan > 1:
                attrs += f' colspan="{cell.colspan}"'
            text = split.join(_e(line) for line in cell.text.split("\n"))
            tag = "th" if cell.header and split == "<br>" else "td"
            cells.append(f"<{tag}{attrs}>{text}</{tag}>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ('<table border="1" cellspacing="0" cellpadding="3" width="100%" '
            'style="border-collapse:collapse">\n' + "\n".join(rows) + "\n</table>")


def render_plain(blocks: list[Block], split: str = "") -> str:
    """Editor HTML of a plainer CMS: indented paragraphs, bold headings, bordered tables."""
    out = []
    for block in blocks:
        if block.kind == "heading":
            out.append(f'<p style="text-indent:2em;"><strong>{_e(block.text)}</strong></p>')
        elif block.kind == "para":
            out.append(f'<p style="text-indent:2em;">{_e(block.text)}</p>')
        elif block.table is not None:
            out.append(_plain_table(block.table, split))
    return "\n".join(out)


# --- shared pages ------------------------------------------------------------------------


def _build_common(pages: dict[str, DemoPage]) -> None:
    pages["/robots.txt"] = DemoPage(b"User-agent: *\nDisallow: /private/\n", TEXT)
    pages["/private/index.html"] = _utf8(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>内部管理</title></head>"
        "<body><p>内部管理页面（robots.txt 禁止抓取）。</p></body></html>"
    )
    items = "\n".join(
        f'<li><a href="{path}">{_e(SITE_INFO[key].name)} 政府信息公开年报</a></li>'
        for key, path in (
            ("demo-tjj", TJJ_COLUMN + "index.html"),
            ("demo-jyj", JYJ_COLUMN),
            ("demo-xian", XIAN_COLUMN + "list.html"),
        )
    )
    pages["/"] = _utf8(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<title>示范市政府网站群（演示）</title></head><body>\n"
        "<h1>示范市政府网站群（演示站点）</h1>\n"
        "<p>本站点为 nianbao 项目自带的演示网站，所有机构、数据和文字均为虚构。</p>\n"
        f"<ul>\n{items}\n</ul>\n</body></html>"
    )


# --- demo-tjj: TRS -----------------------------------------------------------------------

TJJ = Bureau(
    name="示范市统计局",
    short="我局",
    office="办公室",
    focus="统计数据发布、统计执法监督和统计咨询服务",
    topics=("统计公报", "月度统计数据", "统计执法检查结果", "统计法规政策解读"),
    phone="0000-61230001",
    address="示范市人民大道88号",
    enforcement=True,
    scale=12,
)
TJJ_INDEX_PREFIX = "11990000MB1A00001T"

# (report year or None, title, pub date, hh:mm, article id, extra)
_TJJ_ITEMS: list[tuple[int | None, str, str, str, int, dict]] = [
    (None, "2023年示范市国民经济和社会发展统计公报", "2024-03-20", "15:00", 1019, {}),
    (None, "示范市统计局关于开展统计执法检查的通知", "2024-03-05", "10:20", 1018, {}),
    (None, "示范市统计局2024年政务公开工作要点", "2024-02-28", "16:45", 1017, {}),
    (2023, "示范市统计局2023年政府信息公开工作年度报告", "2024-01-15", "09:30", 1001,
     {"format": "2021", "blank_zero": True, "doc_no": "示统办〔2024〕2号"}),
    (None, "示范市统计局2022年度部门决算公开说明", "2023-08-30", "11:05", 1016, {}),
    (2022, "示范市统计局2022年政府信息公开工作年度报告", "2023-01-20", "10:00", 1002,
     {"format": "2021", "pdf": "P020230120123456789012.pdf"}),
    (2021, "示范市统计局2021年政府信息公开工作年度报告", "2022-01-18", "14:10", 1003,
     {"format": "2021", "docx": "P020220118598765432101.docx"}),
    (2020, "示范市统计局2020年政府信息公开工作年度报告", "2021-01-22", "09:00", 1004,
     {"format": "2019"}),
    (2019, "示范市统计局2019年政府信息公开工作年度报告", "2020-01-16", "17:20", 1005,
     {"format": "2019"}),
    (2018, "示范市统计局2018年政府信息公开工作年度报告", "2019-01-25", "08:50", 1006, {}),
    (2017, "示范市统计局2017年政府信息公开工作年度报告", "2018-01-30", "10:30", 1007, {}),
    (2016, "示范市统计局2016年度政府信息公开工作年度报告", "2017-02-14", "15:40", 1008, {}),
    (2015, "示范市统计局2015年政府信息公开工作年度报告", "2016-01-12", "09:15", 1009,
     {"prose": {"proactive": 156, "applications": 10}}),
    (2014, "示范市统计局2014年度政府信息公开工作年度报告", "2015-01-09", "11:00", 1010, {}),
    (2013, "示范市统计局2013年政府信息公开工作年度报告", "2014-01-10", "10:00", 1011,
     {"dead": True}),
]
TJJ_PER_PAGE = 5


def _tjj_rel(pub: str, article_id: int) -> str:
    ymd = pub.replace("-", "")
    return f"{ymd[:6]}/t{ymd}_{article_id}.htm"


def _tjj_list_page(number: int, count: int, items: list[tuple]) -> str:
    name = "index.html" if number == 0 else f"index_{number}.html"

    def page_name(n: int) -> str:
        return "index.html" if n == 0 else f"index_{n}.html"

    lis = []
    for _year, title, pub, _hm, article_id, _extra in items:
        shown = title if len(title) <= 22 else title[:21] + "..."
        lis.append(
            f'<li><a href="./{_tjj_rel(pub, article_id)}" title="{_a(title)}" target="_blank">'
            f"{_e(shown)}</a><span>{pub}</span></li>"
        )
    nav = []
    if number > 0:
        nav.append(f'<a href="{page_name(0)}">首页</a>')
        nav.append(f'<a href="{page_name(number - 1)}">上一页</a>')
    else:
        nav.append("<span>首页</span><span>上一页</span>")
    if number < count - 1:
        nav.append(f'<a href="{page_name(number + 1)}">下一页</a>')
        nav.append(f'<a href="{page_name(count - 1)}">尾页</a>')
    else:
        nav.append("<span>下一页</span><span>尾页</span>")
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\
 "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<title>政府信息公开年报_示范市统计局</title>
<meta name="SiteName" content="示范市统计局">
<meta name="ColumnName" content="政府信息公开年报">
<meta name="ColumnType" content="政府信息公开年报">
<script type="text/javascript" src="/tjj/js/createPageHTML.js"></script>
</head>
<body>
<div class="header"><div class="logo">示范市统计局</div>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/tjj/zfxxgk/zfxxgknb/index.html">政府信息公开年报</a></li></ul></div>
<div class="position">您当前的位置：<a href="/">首页</a> &gt; 政府信息公开 &gt; 政府信息公开年报</div>
<div class="list-box">
<h2 class="list-title">政府信息公开年报</h2>
<ul class="list">
{chr(10).join(lis)}
</ul>
<div class="page">
<script type="text/javascript">
var currentPage = {number};//所在页从0开始
var prevPage = currentPage-1//上一页
var nextPage = currentPage+1//下一页
var countPage = {count}//共多少页
createPageHTML({count}, {number}, "index", "html");
</script>
<div class="page-links">{" ".join(nav)}</div>
</div>
</div>
<div class="footer">主办单位：示范市统计局　地址：示范市人民大道88号　网站标识码：0000000001<br>本页面：{name}</div>
</body>
</html>
"""


_TJJ_PAGER_JS = """// TRS list pager: writes 首页 上一页 下一页 尾页 for index.html, index_1.html ...
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt) {
  if (_nPageCount == null || _nPageCount <= 1) { return; }
  function name(n) { return n == 0 ? _sPageName + "." + _sPageExt : _sPageName + "_" + n + "." + _sPageExt; }
  var html = "<span>共" + _nPageCount + "页</span> ";
  if (_nCurrIndex > 0) { html += "<a href='" + name(0) + "'>首页</a> <a href='" + name(_nCurrIndex - 1) + "'>上一页</a> "; }
  if (_nCurrIndex < _nPageCount - 1) { html += "<a href='" + name(_nCurrIndex + 1) + "'>下一页</a> \
<a href='" + name(_nPageCount - 1) + "'>尾页</a>"; }
  document.write(html);
}
"""


def _tjj_detail(title: str, pub: str, hm: str, index_no: str, doc_no: str | None,
                body_html: str, visits: int, *, site_name: str = "示范市统计局",
                publisher: str = "示范市统计局", column: str = TJJ_COLUMN) -> str:
    written = _minus_days(pub, 3)
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\
 "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:o="urn:schemas-microsoft-com:office:office">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<title>{_e(title)}_政府信息公开年报_{site_name}</title>
<meta name="SiteName" content="{site_name}">
<meta name="ColumnName" content="政府信息公开年报">
<meta name="ColumnType" content="政府信息公开年报">
<meta name="ArticleTitle" content="{_a(title)}">
<meta name="PubDate" content="{pub} {hm}">
<meta name="ContentSource" content="{publisher}">
<meta name="Keywords" content="政府信息公开,年度报告">
<style type="text/css">.xxgk td{{border:1px solid #ddd;padding:4px}} .lab{{background:#f3f6fa;width:90px}}</style>
</head>
<body>
<div class="header"><div class="logo">{site_name}</div>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="{column}index.html">政府信息公开年报</a></li></ul></div>
<div class="position">您当前的位置：<a href="/">首页</a> &gt; 政府信息公开 &gt; <a href="../index.html">政府信息公开年报</a></div>
<div class="main">
<table class="xxgk" width="100%" cellspacing="0" cellpadding="0">
<tr><td class="lab">索&nbsp;引&nbsp;号：</td><td>{index_no}</td><td class="lab">主题分类：</td><td>综合政务</td></tr>
<tr><td class="lab">发布机构:</td><td>{publisher}</td><td class="lab">成文日期：</td><td>{written}</td></tr>
<tr><td class="lab">标&nbsp;&nbsp;&nbsp;&nbsp;题：</td><td colspan="3">{_e(title)}</td></tr>
<tr><td class="lab">文&nbsp;&nbsp;&nbsp;&nbsp;号：</td><td>{_e(doc_no or "")}</td><td class="lab">发布日期：</td><td>{pub}</td>\
</tr>
</table>
<div class="article">
<h1 class="article-title">{_e(title)}</h1>
<div class="article-info"><span>发布时间：{pub} {hm}</span>　<span>来源：{publisher}</span>　<span>字号：[ \
<a href="javascript:doZoom(18)">大</a> <a href="javascript:doZoom(16)">中</a> <a href="javascript:doZoom(14)">小</a> ]</span>\
</div>
<div class="TRS_Editor">\
<style type="text/css">.TRS_Editor P{{margin-top:0;margin-bottom:12px;line-height:2;font-family:宋体;font-size:12pt;}}</style>
<div class="Custom_UnionStyle">
{body_html}
</div></div>
</div>
<div class="article-tools">【访问量：<span id="visits">{visits}</span>】　<a href="javascript:window.print()">【打印本页】</a>　\
<a href="javascript:window.close()">【关闭窗口】</a></div>
</div>
<div class="footer">主办单位：{site_name}　地址：示范市人民大道88号　网站标识码：0000000001　示ICP备00000001号</div>
</body>
</html>
"""


def _report_content(bureau: Bureau, year: int, seed: str, extra: dict) -> Report:
    fmt = extra.get("format")
    if fmt:
        return structured_report(
            bureau, year, seed, fmt,
            blank_zero=extra.get("blank_zero", False),
            section5_heading=extra.get("section5", "五、存在的主要问题及改进情况"),
        )
    return prose_report(bureau, year, seed, extra.get("prose"))


def _build_tjj(pages: dict[str, DemoPage], reports: list[ExpectedReport],
               failures: list[ExpectedFailure]) -> None:
    pages["/tjj/js/createPageHTML.js"] = DemoPage(_TJJ_PAGER_JS.encode("utf-8"), JS)
    count = -(-len(_TJJ_ITEMS) // TJJ_PER_PAGE)
    for n in range(count):
        chunk = _TJJ_ITEMS[n * TJJ_PER_PAGE:(n + 1) * TJJ_PER_PAGE]
        name = "index.html" if n == 0 else f"index_{n}.html"
        pages[TJJ_COLUMN + name] = _utf8(_tjj_list_page(n, count, chunk))
    seq = 0
    for year, title, pub, hm, article_id, extra in reversed(_TJJ_ITEMS):
        seq += 1
        rel = _tjj_rel(pub, article_id)
        path = TJJ_COLUMN + rel
        folder = path.rsplit("/", 1)[0] + "/"
        if extra.get("dead"):
            failures.append(ExpectedFailure("demo-tjj", path, "http-404"))
            continue
        index_no = f"{TJJ_INDEX_PREFIX}/{pub[:4]}-{seq:05d}"
        visits = _counter(f"tjj-visits-{article_id}")
        if year is None:
            blocks = short_notice(title, "示范市统计局", _zh_date(pub), f"tjj-{article_id}")
            pages[path] = _utf8(_tjj_detail(title, pub, hm, index_no, None, render_word(blocks), visits))
            continue
        content = _report_content(TJJ, year, f"tjj-{year}", extra)
        body = render_word(content.blocks)
        attachments: list[str] = []
        if "pdf" in extra:
            name = extra["pdf"]
            pages[folder + name] = DemoPage(make_pdf(title, block_lines(content.blocks)), PDF)
            attachments.append(folder + name)
            body += (f'\n<p class="MsoNormal">附件：<a href="./{name}" target="_blank">'
                     f"{_e(title)}.pdf</a></p>")
        if "docx" in extra:
            name = extra["docx"]
            grid = next(table_grid(b.table) for b in content.blocks
                        if b.table is not None and b.table.kind == "table3")
            pages[folder + name] = DemoPage(
                make_docx(title, block_lines(content.blocks, skip_tables=("table3",)), grid), DOCX)
            attachments.append(folder + name)
            body += (f'\n<p class="MsoNormal">附件：<a href="./{name}" target="_blank">'
                     f"{_e(title)}.docx</a></p>")
        doc_no = extra.get("doc_no")
        pages[path] = _utf8(_tjj_detail(title, pub, hm, index_no, doc_no, body, visits))
        reports.append(ExpectedReport(
            site_key="demo-tjj", path=path, title=title, report_year=year, pub_date=pub,
            publisher="示范市统计局", index_no=index_no, doc_no=doc_no, topic="综合政务",
            table_format=content.table_format, attachments=attachments, table3=content.table3,
        ))


# --- demo-jyj: Hanweb --------------------------------------------------------------------

JYJ = Bureau(
    name="示范市教育局",
    short="我局",
    office="办公室",
    focus="教育改革发展和群众关心的招生入学、教育收费等热点问题",
    topics=("招生考试", "教育经费", "学校安全", "教师招聘", "民办教育"),
    phone="0000-61230002",
    address="示范市文化路16号",
    enforcement=True,
    scale=40,
)
JYJ_COLUMN_ID = 1001
JYJ_UNIT_ID = 2001
JYJ_PER_PAGE = 5

# (report year or None, title, pub date, hh:mm, article id, extra)
_JYJ_ITEMS: list[tuple[int | None, str, str, str, int, dict]] = [
    (None, "示范市2024年义务教育学校招生入学政策解读", "2024-04-10", "16:00", 5013, {}),
    (None, "示范市教育局2024年政务公开工作要点", "2024-03-12", "10:40", 5012, {}),
    (None, "示范市教育局关于做好2024年春季学期中小学开学工作的通知", "2024-02-20", "09:10", 5011, {}),
    (None, "示范市教育局2023年度法治政府建设情况报告", "2024-01-30", "15:25", 5010, {}),
    (2023, "示范市教育局2023年政府信息公开工作年度报告", "2024-01-20", "10:12", 5001,
     {"format": "2021"}),
    (None, "示范市教育局关于公布2023年市级示范幼儿园名单的通知", "2023-12-15", "11:30", 5009, {}),
    (2022, "示范市教育局2022年政府信息公开工作年度报告", "2023-01-19", "09:48", 5002,
     {"format": "2021", "blank_zero": True}),
    (2021, "示范市教育局2021年政府信息公开工作年度报告", "2022-01-21", "14:05", 5003,
     {"format": "2021", "doc_no": "示教函〔2022〕3号"}),
    (2020, "示范市教育局2020年政府信息公开工作年度报告", "2021-01-26", "08:30", 5004,
     {"format": "2019"}),
    (2019, "示范市教育局2019年政府信息公开工作年度报告", "2020-01-17", "16:20", 5005,
     {"format": "2019"}),
    (2018, "示范市教育局2018年度政府信息公开年报", "2019-03-08", "10:00", 5006, {}),
    (2017, "示范市教育局2017年政府信息公开工作年度报告", "2018-03-15", "09:00", 5007,
     {"slow": True}),
    (2016, "示范市教育局2016年政府信息公开工作年度报告", "2017-03-22", "15:00", 5008, {}),
]


def _jyj_path(pub: str, article_id: int) -> str:
    y, m, d = (int(x) for x in pub.split("-"))
    return f"/art/{y}/{m}/{d}/art_{JYJ_COLUMN_ID}_{article_id}.html"


def _jyj_datastore(items: list[tuple], total: int, pages_total: int) -> str:
    nextgroup = (
        f'<a href="{JYJ_PROXY}?page=1&webid=1&path=/&columnid={JYJ_COLUMN_ID}'
        f'&unitid={JYJ_UNIT_ID}&webname=示范市教育局&permissiontype=0"></a>'
    )
    records = "\n".join(
        f'<record><![CDATA[<li><a href="{_jyj_path(pub, aid)}" title="{_a(title)}" target="_blank">'
        f'{_e(title)}</a><span class="bt-data-time">{pub}</span></li>]]></record>'
        for _y, title, pub, _hm, aid, _x in items
    )
    return (
        f"<datastore>\n<nextgroup><![CDATA[{nextgroup}]]></nextgroup>\n<recordset>\n{records}\n"
        f"</recordset>\n<totalrecord>{total}</totalrecord>\n<totalpage>{pages_total}</totalpage>\n"
        "</datastore>"
    )


def _jyj_column(datastore: str, total: int) -> str:
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>政府信息公开年报 示范市教育局</title>
<meta name="SiteName" content="示范市教育局">
<meta name="ColumnName" content="政府信息公开年报">
<script type="text/javascript" src="/module/jslib/jquery/jquery.js"></script>
<script type="text/javascript" src="/module/jslib/jquery/jpage/jquery.jpage.js"></script>
</head>
<body>
<div class="top"><div class="logo">示范市教育局</div>
<div class="nav"><a href="/">首页</a> | <a href="{JYJ_COLUMN}">政府信息公开年报</a></div></div>
<div class="bt-position">当前位置：<a href="/">首页</a> &gt; 政府信息公开 &gt; 政府信息公开年报</div>
<div class="main-right">
<div class="lm-title">政府信息公开年报</div>
<div class="default_pgContainer" id="{JYJ_UNIT_ID}"><script type="text/xml">{datastore}</script></div>
<script type="text/javascript">
$(document).ready(function () {{
  $('#{JYJ_UNIT_ID}').jpage({{
    dataStore: dataStore, perPage: {JYJ_PER_PAGE}, totalRecord: {total}, groupSize: 3,
    proxyUrl: '{JYJ_PROXY}', barPosition: 'bottom', ajaxParam: {{ col: 1, webid: 1, path: '/',
    columnid: {JYJ_COLUMN_ID}, sourceContentType: 1, unitid: '{JYJ_UNIT_ID}', webname: '示范市教育局',
    permissiontype: 0 }}
  }});
}});
</script>
</div>
<div class="footer">示范市教育局 版权所有　地址：示范市文化路16号　网站标识码：0000000002</div>
</body>
</html>
"""


_JYJ_JPAGE_JS = """// jpage stub for the demo: the real plugin pages through dataproxy.jsp with page=N.
(function ($) { if ($) { $.fn.jpage = function () { return this; }; } })(window.jQuery);
"""


def _jyj_detail(title: str, pub: str, hm: str, index_no: str, doc_no: str | None,
                body_html: str) -> str:
    written = _minus_days(pub, 2)
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{_e(title)}</title>
<meta name="SiteName" content="示范市教育局">
<meta name="ColumnName" content="政府信息公开年报">
<meta name="ArticleTitle" content="{_a(title)}">
<meta name="PubDate" content="{pub} {hm}">
<meta name="ContentSource" content="示范市教育局">
<meta name="Description" content="{_a(title)}">
</head>
<body>
<div class="top"><div class="logo">示范市教育局</div>
<div class="nav"><a href="/">首页</a> | <a href="{JYJ_COLUMN}">政府信息公开年报</a></div></div>
<div class="bt-position">当前位置：<a href="/">首页</a> &gt; 政府信息公开 &gt; <a href="{JYJ_COLUMN}">政府信息公开年报</a></div>
<div class="xxgk-info">
<ul>
<li><b>索引号：</b><span>{index_no}</span></li>
<li><b>主题分类：</b><span>政务公开</span></li>
<li><b>发文单位：</b><span>示范市教育局</span></li>
<li><b>成文日期：</b><span>{_zh_date(written)}</span></li>
<li class="long"><b>名称：</b><span>{_e(title)}</span></li>
<li><b>发文字号：</b><span>{_e(doc_no or "")}</span></li>
<li><b>发布日期：</b><span>{_zh_date(pub)}</span></li>
<li><b>公开方式：</b><span>主动公开</span></li>
</ul>
</div>
<div class="article">
<div class="art-title">{_e(title)}</div>
<div class="art-info"><span>发布日期：{pub} {hm}</span> <span>信息来源：示范市教育局</span> <span>浏览次数：\
<script>document.write({_counter("jyj-" + index_no)})</script></span></div>
<div id="zoom"><!--ZJEG_RSS.content.begin--><meta name="ContentStart">
{body_html}
<meta name="ContentEnd"><!--ZJEG_RSS.content.end--></div>
</div>
<div class="art-tools"><a href="javascript:window.print()">打印本页</a> <a href="javascript:window.close()">关闭窗口</a></div>
<div class="footer">示范市教育局 版权所有　地址：示范市文化路16号　网站标识码：0000000002</div>
</body>
</html>
"""


def _build_jyj(pages: dict[str, DemoPage], reports: list[ExpectedReport],
               failures: list[ExpectedFailure], slow_seconds: float) -> None:
    pages["/module/jslib/jquery/jquery.js"] = DemoPage(b"/* jQuery stub for the demo */\n", JS)
    pages["/module/jslib/jquery/jpage/jquery.jpage.js"] = DemoPage(_JYJ_JPAGE_JS.encode(), JS)
    total = len(_JYJ_ITEMS)
    count = -(-total // JYJ_PER_PAGE)
    for n in range(1, count + 1):
        chunk = _JYJ_ITEMS[(n - 1) * JYJ_PER_PAGE:n * JYJ_PER_PAGE]
        store = _jyj_datastore(chunk, total, count)
        if n == 1:
            pages[JYJ_COLUMN] = _utf8(_jyj_column(store, total))
        pages[f"{JYJ_PROXY}?page={n}"] = DemoPage(
            ('<?xml version="1.0" encoding="UTF-8"?>\n' + store + "\n").encode("utf-8"), XML_UTF8)
    seq = 0
    for year, title, pub, hm, article_id, extra in reversed(_JYJ_ITEMS):
        seq += 1
        path = _jyj_path(pub, article_id)
        index_no = f"001990001/{pub[:4]}-{seq:05d}"
        if year is None:
            blocks = short_notice(title, "示范市教育局", _zh_date(pub), f"jyj-{article_id}")
            pages[path] = _utf8(_jyj_detail(title, pub, hm, index_no, None, render_plain(blocks)))
            continue
        content = _report_content(JYJ, year, f"jyj-{year}", extra)
        doc_no = extra.get("doc_no")
        page = _utf8(_jyj_detail(title, pub, hm, index_no, doc_no, render_plain(content.blocks, "<br>")))
        if extra.get("slow"):
            page.delay = slow_seconds
            pages[path] = page
            failures.append(ExpectedFailure("demo-jyj", path, "timeout"))
            continue
        pages[path] = page
        reports.append(ExpectedReport(
            site_key="demo-jyj", path=path, title=title, report_year=year, pub_date=pub,
            publisher="示范市教育局", index_no=index_no, doc_no=doc_no, topic="政务公开",
            table_format=content.table_format, attachments=[], table3=content.table3,
        ))


# --- demo-xian: generic, GBK -------------------------------------------------------------

XIAN = Bureau(
    name="示范县人民政府",
    short="我县",
    office="办公室",
    focus="全县经济社会发展中心工作和群众关切",
    topics=("重大建设项目", "财政预决算", "乡村振兴", "社会救助", "公共资源交易"),
    phone="0000-71230000",
    address="示范县堃山路1号",
    enforcement=False,
    scale=25,
)
XIAN_PUBLISHER = "示范县人民政府办公室"
XIAN_PER_PAGE = 6

# (report year or None, title, pub date, content id, extra)
_XIAN_ITEMS: list[tuple[int | None, str, str, int, dict]] = [
    (None, "示范县2023年国民经济和社会发展统计公报", "2024-04-02", 115, {}),
    (2023, "示范县人民政府2023年政府信息公开工作年度报告", "2024-03-25", 112, {"format": "2021"}),
    (None, "示范县人民政府关于做好2024年春耕生产工作的通知", "2024-03-01", 114, {}),
    (None, "示范县人民政府办公室关于印发示范县2023年政务公开工作要点的通知", "2023-05-10", 113, {}),
    (2022, "示范县人民政府2022年政府信息公开工作年度报告", "2023-03-28", 111,
     {"format": "2021", "section5": "五、存在问题及改进情况"}),
    (2021, "示范县人民政府2021年政府信息公开工作年度报告", "2022-03-30", 110, {"format": "2021"}),
    (2020, "示范县人民政府2020年政府信息公开工作年度报告", "2021-05-18", 109, {"format": "2019"}),
    (2019, "示范县2019年度政府信息公开工作年度报告", "2020-03-27", 108, {"format": "2019"}),
    (2018, "示范县２０１８年政府信息公开工作年度报告", "2019-03-22", 107, {}),
    (2017, "示范县人民政府2017年政府信息公开工作年度报告", "2018-03-20", 106, {"no_info": True}),
    (2016, "示范县人民政府2016年政府信息公开工作年度报告", "2017-03-24", 105, {}),
    (2015, "示范县人民政府2015年政府信息公开工作年度报告", "2016-03-29", 104, {}),
    (2014, "示范县人民政府2014年政府信息公开工作年度报告", "2015-03-27", 103, {}),
    (2013, "示范县人民政府2013年政府信息公开工作年度报告", "2014-03-28", 102, {}),
    (2012, "示范县人民政府2012年度政府信息公开工作年度报告", "2013-03-26", 101,
     {"prose": {"applications": 0}}),
    # The scanned report (图片版): the body is only PNG images of its pages (crawler.demo.image),
    # read by OCR. Left out when no CJK font is installed to draw it.
    (2011, "示范县人民政府2011年政府信息公开工作年度报告", "2012-03-28", 100, {"image_only": True}),
]

_XIAN_HEAD = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>{title}</title>
<link rel="stylesheet" type="text/css" href="/xian/css/style.css">
</head>
<body>
<div class="top"><div class="logo">示范县人民政府</div>
<div class="menu"><a href="/xian/index.html">网站首页</a> | <a href="/xian/xxgk/ndbg/list.html">政府信息公开年度报告</a></div>\
</div>
"""
_XIAN_FOOT = """<div class="bottom">主办：示范县人民政府办公室　地址：示范县堃山路1号　电话：0000-71230000<br>
网站标识码：0000000003　示ICP备00000003号</div>
</body>
</html>
"""


def _xian_list(number: int, count: int, items: list[tuple], total: int) -> str:
    def name(n: int) -> str:
        return "list.html" if n == 1 else f"list_{n}.html"

    lis = "\n".join(
        f'<li><span class="date">[{pub}]</span><a href="content_{cid}.html" target="_blank">'
        f"{_e(title)}</a></li>"
        for _y, title, pub, cid, _x in items
    )
    nav = [f"共{total}条记录　第{number}/{count}页　"]
    nav.append(f'<a href="{name(1)}">首页</a>')
    nav.append(f'<a href="{name(number - 1)}">上一页</a>' if number > 1 else "<span>上一页</span>")
    nav.append(f'<a href="{name(number + 1)}">下一页</a>' if number < count else "<span>下一页</span>")
    nav.append(f'<a href="{name(count)}">尾页</a>')
    return (
        _XIAN_HEAD.format(title="政府信息公开年度报告-示范县人民政府")
        + '<div class="location">当前位置：<a href="/xian/index.html">首页</a> &gt;&gt; 政府信息公开'
        " &gt;&gt; 政府信息公开年度报告</div>\n"
        f'<div class="list">\n<ul>\n{lis}\n</ul>\n</div>\n<div class="pages">{" ".join(nav)}</div>\n'
        + _XIAN_FOOT
    )


def _xian_detail(title: str, pub: str, index_no: str | None, body_html: str, visits: int) -> str:
    if index_no is None:
        info = f'<div class="source">发布时间：{pub}　来源：{XIAN_PUBLISHER}</div>'
    else:
        info = (
            f'<div class="info"><span>发布机构：{XIAN_PUBLISHER}</span>'
            f"<span>发布日期：{pub}</span><span>索引号：{index_no}</span>"
            f"<span>浏览次数：{visits}</span></div>"
        )
    return (
        _XIAN_HEAD.format(title=_e(title) + "-示范县人民政府")
        + '<div class="location">当前位置：<a href="/xian/index.html">首页</a> &gt;&gt; 政府信息公开'
        ' &gt;&gt; <a href="list.html">政府信息公开年度报告</a></div>\n'
        f'<div class="content-box">\n<h1>{_e(title)}</h1>\n{info}\n'
        f'<div class="article-content">\n{body_html}\n</div>\n'
        '<div class="print"><a href="javascript:window.print()">【打印本页】</a>'
        ' <a href="javascript:window.close()">【关闭窗口】</a></div>\n</div>\n'
        + _XIAN_FOOT
    )


def _build_xian(pages: dict[str, DemoPage], reports: list[ExpectedReport],
                failures: list[ExpectedFailure]) -> None:
    pages["/xian/css/style.css"] = DemoPage(
        b"body{font-size:14px}.list li{line-height:2}.info span{margin-right:2em}\n",
        "text/css")
    pages["/xian/index.html"] = _gbk(
        _XIAN_HEAD.format(title="示范县人民政府")
        + '<div class="main"><h2>政府信息公开</h2><ul><li><a href="/xian/xxgk/ndbg/list.html">'
        "政府信息公开年度报告</a></li></ul></div>\n" + _XIAN_FOOT
    )
    items = [i for i in _XIAN_ITEMS if not i[4].get("image_only") or cjk_font_path() is not None]
    total = len(items)
    count = -(-total // XIAN_PER_PAGE)
    for n in range(1, count + 1):
        chunk = items[(n - 1) * XIAN_PER_PAGE:n * XIAN_PER_PAGE]
        name = "list.html" if n == 1 else f"list_{n}.html"
        pages[XIAN_COLUMN + name] = _gbk(_xian_list(n, count, chunk, total))
    seq = 0
    for year, title, pub, cid, extra in reversed(items):
        seq += 0 if extra.get("image_only") else 1  # the scan came last: index numbers unchanged
        path = f"{XIAN_COLUMN}content_{cid}.html"
        index_no = None if extra.get("no_info") else f"013990021/{pub[:4]}-{seq:05d}"
        visits = _counter(f"xian-{cid}")
        if year is None:
            blocks = short_notice(title, XIAN_PUBLISHER, _zh_date(pub), f"xian-{cid}")
            pages[path] = _gbk(_xian_detail(title, pub, index_no, render_plain(blocks), visits))
            continue
        content = _report_content(XIAN, year, f"xian-{year}", extra)
        body_html = render_plain(content.blocks)
        if extra.get("image_only"):
            body_html = ""
            for number, png in enumerate(render_pages(title, block_lines(content.blocks)), 1):
                name = f"content_{cid}_{number}.png"
                pages[f"{XIAN_COLUMN}{name}"] = DemoPage(png, PNG)
                body_html += f'<p style="text-align:center"><img src="{name}" width="800" alt=""></p>\n'
        pages[path] = _gbk(_xian_detail(title, pub, index_no, body_html, visits))
        reports.append(ExpectedReport(
            site_key="demo-xian", path=path, title=title, report_year=year, pub_date=pub,
            publisher=XIAN_PUBLISHER, index_no=index_no, doc_no=None, topic=None,
            table_format=content.table_format, attachments=[], table3=content.table3,
        ))
