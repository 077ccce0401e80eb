"""demo-qu 示范区管理委员会: a TRS column in the newer ``list2.trsapi`` template, and a move.

- column: ``/qu/zwgk/zfxxgknb/`` (``index.html``) and ``index_1.html``, 5 and 3 items. Neither
  page has ``createPageHTML``/``countPage`` or a 下一页 anchor: the only pager is the
  ``listModel({maxStaticIndex: 1, pagebar: {prepage: 5, recordCount: '8'}})`` call, as on the
  real Pingtan column. A crawl that does not read it sees five of the eight reports.
- items: ``<dl><dd><a href="./YYYYMM/tYYYYMMDD_NNNN.htm" title="…">…</a></dd><dd>date</dd></dl>``;
  details reuse the TRS detail layout (metas, ``table.xxgk``, ``div.TRS_Editor``).
- reports 2016–2024 (9; 2021–2024 in the 2021 table format, 2019–2020 in the 2019 format, the
  rest prose), all published on time (a local government's own report: 31 March).
- **the PDF-only report** (2024, :data:`PDF_ONLY_YEAR`): its page's body is only an attachment
  link to a PDF made by :func:`crawler.demo.pdf.make_pdf` (tables 2, 3 and 4 as unruled text
  rows), so the crawl takes its text, sections and tables from the PDF. One paragraph wraps
  保密审查协调机制 at a full line's end (保密审查 / 协调机制): the text layer keeps the break,
  and only :func:`crawler.attachments.layout.join_wrapped_lines` makes the phrase searchable.
  Right after it, a note set in a narrow box eight characters wide (:class:`crawler.demo.pdf.TextBox`,
  as text in a table cell or one column of a two-column layout) runs 政府信息公开属性源头认定机制
  over three lines (…政府信息 / 公开属性源头认定 / 机制，…): each line is far short of the page's
  measure, and only the box's own right edge, where its lines end alike, shows them to be wraps.

**The move** (:func:`moved_report_pages`): the night after, the site reorganises its column and
re-publishes the 2019 report under ``/qu/xxgk/ndbg/202409/t20240902_3919.htm``; the old page
answers 404 and page 2 of the column links the new address. The report must stay one document
with two URLs, and raise no removal alert.
"""

from __future__ import annotations

from crawler.demo.content import Bureau, block_lines
from crawler.demo.pdf import TextBox, make_pdf
from crawler.demo.site import (
    DemoPage,
    ExpectedReport,
    render_word,
)
from crawler.demo.site import (
    _report_content as report_content,
)
from crawler.demo.site import (
    _tjj_detail as trs_detail,
)
from crawler.demo.site import (
    _utf8 as utf8,
)

QU = Bureau(
    name="示范区管理委员会",
    short="本委",
    office="党政办公室",
    focus="营商环境、项目建设和便民服务",
    topics=("重大项目", "财政预决算", "行政审批", "公共服务"),
    phone="0000-61230004",
    address="示范区滨海大道1号",
    enforcement=True,
    scale=20,
)
QU_KEY = "demo-qu"
QU_COLUMN = "/qu/zwgk/zfxxgknb/"
QU_PER_PAGE = 5
QU_INDEX_PREFIX = "11990000MB1A00004Q"
QU_PUBLISHER = "示范区管理委员会办公室"

# (report year, pub date, hh:mm, article id, extra)
_QU_ITEMS: list[tuple[int, str, str, int, dict]] = [
    (2024, "2025-03-28", "16:00", 3024, {"format": "2021", "pdf_only": "P020250328390012345678.pdf"}),
    (2023, "2024-03-20", "10:00", 3023, {"format": "2021"}),
    (2022, "2023-03-21", "09:30", 3022, {"format": "2021"}),
    (2021, "2022-03-18", "15:10", 3021, {"format": "2021"}),
    (2020, "2021-03-25", "11:00", 3020, {"format": "2019"}),
    (2019, "2020-03-27", "16:40", 3019, {"format": "2019"}),
    (2018, "2019-03-22", "09:00", 3018, {}),
    (2017, "2018-03-26", "10:20", 3017, {}),
    (2016, "2017-03-24", "14:00", 3016, {}),
]
MOVED_YEAR = 2019
PDF_ONLY_YEAR = 2024
WRAPPED_PHRASE = "保密审查协调机制"
# 36 characters: after the two-em indent the PDF's first line ends with 保密审查 (40 em).
_WRAP_LEAD = "本委健全信息发布审核流程，党政办公室会同保密工作机构共同建立政府信息公开"
WRAPPED_PARAGRAPH = (_WRAP_LEAD + WRAPPED_PHRASE
                     + "，对拟公开的政府信息逐件审查，全年未发生因公开政府信息导致泄密的情况。")
# A note in a narrow box: at eight characters a line the phrase runs over three lines,
# 本委落实政府信息 / 公开属性源头认定 / 机制，拟公开信息 / 逐件审查。
THREE_LINE_PHRASE = "政府信息公开属性源头认定机制"
THREE_LINE_BOX = TextBox("本委落实" + THREE_LINE_PHRASE + "，拟公开信息逐件审查。", width=8)
MOVED_TO = "/qu/xxgk/ndbg/202409/t20240902_3919.htm"


def _title(year: int) -> str:
    return f"示范区管理委员会{year}年度政府信息公开工作年度报告"


def _path(pub: str, article_id: int) -> str:
    ymd = pub.replace("-", "")
    return f"{QU_COLUMN}{ymd[:6]}/t{ymd}_{article_id}.htm"


def _list_page(number: int, items: list[tuple[str, str, str]]) -> str:
    """Page ``number`` (0-based) of the column; ``items`` are (href, title, date)."""
    dls = "\n".join(
        f'<dl><dd class="trt-col-sm-24 text_align_left"><a href="{href}" target="_blank" title="{title}">'
        f'{title}</a></dd><dd class="trt-col-4 text_align_left">{date}</dd></dl>'
        for href, title, date in items
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>政府信息公开年报_示范区管理委员会</title>
<meta name="SiteName" content="示范区管理委员会">
<meta name="ColumnName" content="政府信息公开年报">
<script src="/qu/js/require.js"></script>
</head>
<body>
<div class="header"><div class="logo">示范区管理委员会</div></div>
<div class="position">当前位置：<a href="/">首页</a> &gt; 政务公开 &gt; 政府信息公开年报</div>
<div class="rules_tabs_01" ms-visible="showStatic">
{dls}
</div>
<div class="rules_tabs_01" ms-visible="!showStatic" style="display: none">
  <dl ms-repeat="list"><dd><a ms-attr-href="el.chnldocurl" ms-attr-title="el.doctitle" ms-text="el.doctitle|html"></a></dd></dl>
</div>
<div class="page_base" ms-controller="list_pagebar" ms-include-src="pgTemp" ms-if="pageCount>0"></div>
<div class="footer">示范区管理委员会 主办　本页面：{"index.html" if number == 0 else f"index_{number}.html"}</div>
<script>
    require(["list2.trsapi", "tools"], function(listModel, tools) {{
        listModel({{
            quickMode: "动静结合",
            maxStaticIndex: 1,
            listArgs: {{ channelid: SiteInfo.searchId, classsql: "chnlid=4001", sortfield: "-docreltime" }},
            pagebar: {{ prepage: {QU_PER_PAGE}, recordCount: '{len(_QU_ITEMS)}', pgTemp: "pgBar_xxgk.html",
                       pgCountMode: "recordCount", displayNum: 2 }}
        }});
    }});
</script>
</body>
</html>
"""


def _href(path: str, list_folder: str = QU_COLUMN) -> str:
    return "./" + path[len(list_folder):] if path.startswith(list_folder) else path


def _list_items(moved: bool) -> list[tuple[str, str, str]]:
    items = []
    for year, pub, _hm, article_id, _extra in _QU_ITEMS:
        path = MOVED_TO if moved and year == MOVED_YEAR else _path(pub, article_id)
        items.append((_href(path), _title(year), pub))
    return items


def list_pages(moved: bool = False) -> dict[str, DemoPage]:
    """The column's two static pages (before or after the move)."""
    items = _list_items(moved)
    return {
        # The configured column URL is the folder, as on the real site.
        QU_COLUMN: utf8(_list_page(0, items[:QU_PER_PAGE])),
        QU_COLUMN + "index_1.html": utf8(_list_page(1, items[QU_PER_PAGE:])),
    }


def build_qu(pages: dict[str, DemoPage], reports: list[ExpectedReport]) -> None:
    pages["/qu/js/require.js"] = DemoPage(
        b"// require.js stub for the demo: the real page loads TRS's list2.trsapi module.\n",
        "application/javascript",
    )
    pages.update(list_pages())
    for seq, (year, pub, hm, article_id, extra) in enumerate(reversed(_QU_ITEMS), start=1):
        path = _path(pub, article_id)
        title = _title(year)
        index_no = f"{QU_INDEX_PREFIX}/{pub[:4]}-{seq:05d}"
        content = report_content(QU, year, f"qu-{year}", extra)
        body = render_word(content.blocks)
        attachments: list[str] = []
        if "pdf_only" in extra:
            name = extra["pdf_only"]
            attachment = path.rsplit("/", 1)[0] + "/" + name
            pages[attachment] = DemoPage(make_pdf(title, pdf_paragraphs(content.blocks)), "application/pdf")
            attachments.append(attachment)
            body = (f'<p class="MsoNormal">附件：<a href="./{name}" target="_blank">'
                    f"{title}.pdf</a></p>")
        pages[path] = utf8(trs_detail(
            title, pub, hm, index_no, None, body, 100 + seq,
            site_name=QU.name, publisher=QU_PUBLISHER, column=QU_COLUMN,
        ))
        reports.append(ExpectedReport(
            site_key=QU_KEY, path=path, title=title, report_year=year, pub_date=pub,
            publisher=QU_PUBLISHER, index_no=index_no, doc_no=None, topic="综合政务",
            table_format=content.table_format, attachments=attachments, table3=content.table3,
        ))


def pdf_paragraphs(blocks) -> list[str | TextBox]:
    """The PDF-only report's paragraphs: the report's, with :data:`WRAPPED_PARAGRAPH` and
    :data:`THREE_LINE_BOX` after （三）政府信息管理 in section 一."""
    lines = block_lines(blocks)
    at = next(i for i, line in enumerate(lines) if line.startswith("（三）政府信息管理")) + 1
    return [*lines[:at], WRAPPED_PARAGRAPH, THREE_LINE_BOX, *lines[at:]]


def moved_report_pages(pages: dict[str, DemoPage]) -> tuple[str, str, dict[str, DemoPage]]:
    """The move: (old path, new path, pages to serve from then on). The old path is to be
    removed (404); the new one serves the same report; the column's pages link the new one."""
    _year, pub, _hm, article_id, _extra = next(item for item in _QU_ITEMS if item[0] == MOVED_YEAR)
    old = _path(pub, article_id)
    changed = list_pages(moved=True)
    changed[MOVED_TO] = pages[old]
    return old, MOVED_TO, changed
