"""The text of the demo reports: sections, prose and the three statistics tables.

Everything here is invented for the fictional 示范市 and generated deterministically from a
seed, so the demo site is byte-identical on every build. A report is a list of
:class:`Block` values (headings, paragraphs, tables); the site module renders the same blocks
as Word-pasted HTML, plain HTML, PDF paragraphs or a DOCX table.

Table 3 (applications received and handled) is generated so that the checks a parser can run
hold: 一 + 二 = （七）总计 + 四 in every column, the 总计 column is the sum of the six applicant
columns, and （七） is the sum of （一）…（六）.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# --- table model -------------------------------------------------------------------------


@dataclass
class Cell:
    """One table cell. ``text`` may contain ``\\n``: the words are split across ``<p>`` tags."""

    text: str
    rowspan: int = 1
    colspan: int = 1
    header: bool = False


@dataclass
class Table:
    caption: str
    rows: list[list[Cell]]
    kind: str = ""  # "table2" | "table3" | "table4"


@dataclass
class Block:
    kind: str  # "heading" | "para" | "table"
    text: str = ""
    table: Table | None = None


@dataclass
class Report:
    """One report's content: blocks plus the table-3 numbers (25 or 23 rows × 7), if any."""

    blocks: list[Block]
    table_format: str | None
    table3: list[list[int]] | None = None
    extra: dict[str, int] = field(default_factory=dict)


def table_grid(table: Table) -> list[list[str]]:
    """Expand row/col spans into a full rectangular grid (text in the top-left cell only)."""
    grid: dict[tuple[int, int], str] = {}
    width = 0
    for r, row in enumerate(table.rows):
        c = 0
        for cell in row:
            while (r, c) in grid:
                c += 1
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    grid[(r + dr, c + dc)] = ""
            grid[(r, c)] = cell.text.replace("\n", "")
            c += cell.colspan
            width = max(width, c)
    return [[grid.get((r, c), "") for c in range(width)] for r in range(len(table.rows))]


def block_lines(blocks: list[Block], skip_tables: tuple[str, ...] = ()) -> list[str]:
    """The report as plain paragraphs, tables flattened one row per line (for PDF and DOCX).

    Tables whose kind is in ``skip_tables`` are left out (the DOCX writer adds one as a real
    table instead).
    """
    lines: list[str] = []
    for block in blocks:
        if block.kind == "table" and block.table is not None:
            if block.table.kind in skip_tables:
                continue
            for row in table_grid(block.table):
                cells = [c for c in row if c != ""]
                if cells:
                    lines.append(" ".join(cells))
        else:
            lines.append(block.text)
    return lines


# --- table 3 -----------------------------------------------------------------------------

APPLICANT_COLUMNS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计")

# (group label, item label or None) for the result rows between 二 and 四.
_RESULT_ROWS_COMMON = [
    ("（一）予以公开", None),
    ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", None),
    ("（三）不予公开", "1.属于国家秘密"),
    ("（三）不予公开", "2.其他法律行政法规禁止公开"),
    ("（三）不予公开", "3.危及“三安全一稳定”"),
    ("（三）不予公开", "4.保护第三方合法权益"),
    ("（三）不予公开", "5.属于三类内部事务信息"),
    ("（三）不予公开", "6.属于四类过程性信息"),
    ("（三）不予公开", "7.属于行政执法案卷"),
    ("（三）不予公开", "8.属于行政查询事项"),
    ("（四）无法提供", "1.本机关不掌握相关政府信息"),
    ("（四）无法提供", "2.没有现成信息需要另行制作"),
    ("（四）无法提供", "3.补正后申请内容仍不明确"),
    ("（五）不予处理", "1.信访举报投诉类申请"),
    ("（五）不予处理", "2.重复申请"),
    ("（五）不予处理", "3.要求提供公开出版物"),
    ("（五）不予处理", "4.无正当理由大量反复申请"),
    ("（五）不予处理", "5.要求行政机关确认或重新出具已获取信息"),
]
_OTHER_2021 = [
    ("（六）其他处理", "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
    ("（六）其他处理", "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
    ("（六）其他处理", "3.其他"),
]
_OTHER_2019 = [("（六）其他处理", None)]

# How likely each result row is to be non-zero, and its typical size (relative to `scale`).
_ROW_WEIGHT = {
    "（一）予以公开": (1.0, 0.55),
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）": (0.6, 0.08),
    "（三）不予公开": (0.12, 0.03),
    "（四）无法提供": (0.45, 0.12),
    "（五）不予处理": (0.2, 0.04),
    "（六）其他处理": (0.25, 0.05),
}
_COLUMN_SHARE = (1.0, 0.35, 0.04, 0.05, 0.12, 0.08)


def result_rows(table_format: str) -> list[tuple[str, str | None]]:
    other = _OTHER_2021 if table_format == "2021" else _OTHER_2019
    return _RESULT_ROWS_COMMON + other


def carried_over(bureau_name: str, year: int) -> list[int]:
    """The applications a bureau carries from ``year`` into the next (six columns): row 四 of
    that year's report and row 二 of the next one's, so the demo's reports agree across years."""
    rng = random.Random(f"{bureau_name}-carried-over-{year}")
    return [rng.choice((0, 0, 1, 3)) if c in (0, 1) else 0 for c in range(6)]


def make_table3_numbers(rng: random.Random, table_format: str, scale: int,
                        carry: tuple[list[int], list[int]] | None = None) -> list[list[int]]:
    """Rows 一, 二, （一）…（六）items, （七）, 四 — each 7 numbers — satisfying the checks.

    ``carry`` is (carried in, carried out) when the report must agree with its neighbours."""
    results: list[list[int]] = []
    for group, _item in result_rows(table_format):
        chance, size = _ROW_WEIGHT[group]
        row = []
        for share in _COLUMN_SHARE:
            if rng.random() < chance * min(1.0, share * 1.5):
                row.append(max(1, round(rng.uniform(0.5, 1.5) * size * scale * share)))
            else:
                row.append(0)
        results.append(row)
    if sum(results[0]) == 0:
        results[0][0] = max(1, scale // 2)
    total = [sum(row[c] for row in results) for c in range(6)]
    carried_in = [min(total[c], rng.choice((0, 0, 1, 2))) if c in (0, 1) else 0 for c in range(6)]
    carried_out = [rng.choice((0, 0, 1, 3)) if c in (0, 1) else 0 for c in range(6)]
    if carry is not None:
        carried_in, carried_out = list(carry[0]), list(carry[1])
        for c in range(6):  # every application carried in is handled this year or carried on
            shortfall = carried_in[c] - total[c] - carried_out[c]
            if shortfall > 0:
                results[0][c] += shortfall
                total[c] += shortfall
    new = [total[c] + carried_out[c] - carried_in[c] for c in range(6)]
    rows = [new, carried_in, *results, total, carried_out]
    return [[*row, sum(row)] for row in rows]


def _split_header(text: str) -> str:
    """Header words split across paragraphs, the way Word tables paste."""
    return {
        "法人或其他组织": "法人或\n其他组织",
        "商业企业": "商业\n企业",
        "社会公益组织": "社会公益\n组织",
        "法律服务机构": "法律服务\n机构",
        "科研机构": "科研\n机构",
    }.get(text, text)


def table3(numbers: list[list[int]], table_format: str, blank_zero: bool = False) -> Table:
    """Table 3 with the real three-row header and rowspan/colspan labels.

    ``blank_zero`` leaves zero cells of the result rows empty (an empty cell means 0).
    """

    def nums(row: list[int], blank: bool) -> list[Cell]:
        return [Cell("" if (blank and n == 0) else str(n)) for n in row]

    rows: list[list[Cell]] = [
        [
            Cell("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", 3, 3, True),
            Cell("申请人情况", 1, 7, True),
        ],
        [
            Cell("自然人", 2, 1, True),
            Cell(_split_header("法人或其他组织"), 1, 5, True),
            Cell("总计", 2, 1, True),
        ],
        [Cell(_split_header(name), header=True) for name in APPLICANT_COLUMNS[1:6]],
        [Cell("一、本年新收政府信息公开申请数量", 1, 3), *nums(numbers[0], False)],
        [Cell("二、上年结转政府信息公开申请数量", 1, 3), *nums(numbers[1], False)],
    ]
    labels = result_rows(table_format)
    group_sizes: dict[str, int] = {}
    for group, _ in labels:
        group_sizes[group] = group_sizes.get(group, 0) + 1
    span = len(labels) + 1  # the result rows plus （七）总计
    seen_groups: set[str] = set()
    for i, (group, item) in enumerate(labels):
        row: list[Cell] = []
        if i == 0:
            row.append(Cell("三、本年度办理结果", span, 1))
        if item is None:
            row.append(Cell(group, 1, 2))
        else:
            if group not in seen_groups:
                row.append(Cell(group, group_sizes[group], 1))
            row.append(Cell(item))
        seen_groups.add(group)
        row.extend(nums(numbers[2 + i], blank_zero))
        rows.append(row)
    rows.append([Cell("（七）总计", 1, 2), *nums(numbers[-2], False)])
    rows.append([Cell("四、结转下年度继续办理", 1, 3), *nums(numbers[-1], False)])
    return Table("三、收到和处理政府信息公开申请情况", rows, "table3")


# --- table 2 -----------------------------------------------------------------------------


def table2(rng: random.Random, table_format: str, enforcement: bool) -> Table:
    """Table 2 (proactive disclosure) in the 2021 layout or the 2019 trial layout."""
    caption = "二、主动公开政府信息情况"

    def head(item: str) -> list[Cell]:
        return [Cell(f"第二十条第{item}项", 1, 4, True)]

    penalties = rng.randint(8, 60) if enforcement else 0
    licences = rng.randint(20, 400) if enforcement else rng.randint(0, 12)
    if table_format == "2021":
        made = rng.randint(0, 4)
        repealed = rng.randint(0, 2)
        rows = [
            head("（一）"),
            [Cell("信息内容", header=True), Cell("本年制发件数", header=True),
             Cell("本年废止件数", header=True), Cell("现行有效件数", header=True)],
            [Cell("规章"), Cell("0"), Cell("0"), Cell("0")],
            [Cell("行政规范性文件"), Cell(str(made)), Cell(str(repealed)),
             Cell(str(made + rng.randint(3, 20)))],
            head("（五）"),
            [Cell("信息内容", header=True), Cell("本年处理决定数量", 1, 3, True)],
            [Cell("行政许可"), Cell(str(licences), 1, 3)],
            head("（六）"),
            [Cell("信息内容", header=True), Cell("本年处理决定数量", 1, 3, True)],
            [Cell("行政处罚"), Cell(str(penalties), 1, 3)],
            [Cell("行政强制"), Cell(str(rng.randint(0, 3) if enforcement else 0), 1, 3)],
            head("（八）"),
            [Cell("信息内容", header=True), Cell("本年收费金额（单位：万元）", 1, 3, True)],
            [Cell("行政事业性收费"), Cell("0", 1, 3)],
        ]
        return Table(caption, rows, "table2")
    new = rng.randint(0, 4)
    rows = [
        head("（一）"),
        [Cell("信息内容", header=True), Cell("本年新\n制作数量", header=True),
         Cell("本年新\n公开数量", header=True), Cell("对外公开\n总数量", header=True)],
        [Cell("规章"), Cell("0"), Cell("0"), Cell("0")],
        [Cell("规范性文件"), Cell(str(new)), Cell(str(new)), Cell(str(new + rng.randint(5, 30)))],
        head("（五）"),
        [Cell("信息内容", header=True), Cell("上一年\n项目数量", header=True),
         Cell("本年增/减", header=True), Cell("处理决定数量", header=True)],
        [Cell("行政许可"), Cell(str(rng.randint(2, 15))), Cell("0"), Cell(str(licences))],
        [Cell("其他对外管理服务事项"), Cell(str(rng.randint(0, 6))), Cell("0"), Cell("0")],
        head("（六）"),
        [Cell("信息内容", header=True), Cell("上一年\n项目数量", header=True),
         Cell("本年增/减", header=True), Cell("处理决定数量", header=True)],
        [Cell("行政处罚"), Cell(str(rng.randint(5, 40))), Cell(f"+{rng.randint(1, 3)}"),
         Cell(str(penalties))],
        [Cell("行政强制"), Cell(str(rng.randint(0, 4))), Cell("0"), Cell("0")],
        head("（八）"),
        [Cell("信息内容", header=True), Cell("上一年\n项目数量", header=True),
         Cell("本年增/减", 1, 2, True)],
        [Cell("行政事业性收费"), Cell("0"), Cell("0", 1, 2)],
        head("（九）"),
        [Cell("信息内容", header=True), Cell("采购项目数量", header=True),
         Cell("采购总金额", 1, 2, True)],
        [Cell("政府集中采购"), Cell(str(rng.randint(1, 9))),
         Cell(f"{rng.randint(10, 480)}.{rng.randint(0, 9)}万元", 1, 2)],
    ]
    return Table(caption, rows, "table2")


# --- table 4 -----------------------------------------------------------------------------


def make_table4_numbers(rng: random.Random, scale: int) -> list[int]:
    """15 numbers: 复议, 直接起诉, 复议后起诉 — each 维持, 纠正, 其他, 尚未审结, 总计."""
    out: list[int] = []
    for chance in (0.5 if scale > 10 else 0.2, 0.2, 0.15):
        part = [rng.randint(0, 2) if rng.random() < chance else 0 for _ in range(4)]
        out.extend([*part, sum(part)])
    return out


def table4(numbers: list[int]) -> Table:
    outcome = ["结果\n维持", "结果\n纠正", "其他\n结果", "尚未\n审结", "总计"]
    rows = [
        [Cell("行政复议", 1, 5, True), Cell("行政诉讼", 1, 10, True)],
        [*(Cell(o, 2, 1, True) for o in outcome),
         Cell("未经复议直接起诉", 1, 5, True), Cell("复议后起诉", 1, 5, True)],
        [Cell(o, header=True) for o in outcome * 2],
        [Cell(str(n)) for n in numbers],
    ]
    return Table("四、政府信息公开行政复议、行政诉讼情况", rows, "table4")


# --- prose -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bureau:
    """Who writes the report, and what they talk about."""

    name: str  # 示范市统计局
    short: str  # 我局 / 本县
    office: str  # 局办公室
    focus: str  # 统计数据发布和统计服务
    topics: tuple[str, ...]  # what proactive disclosure covered
    phone: str
    address: str
    enforcement: bool  # has licensing/penalty work worth numbers
    scale: int  # typical applications per year


def _paras(*texts: str) -> list[Block]:
    return [Block("para", t) for t in texts]


def prose_report(bureau: Bureau, year: int, seed: str, extra: dict[str, int] | None = None) -> Report:
    """A pre-2019 report: six free-form sections with the numbers inside sentences."""
    rng = random.Random(seed)
    nums = {
        "proactive": rng.randint(90, 420),
        "applications": rng.randint(3, 25),
        **(extra or {}),
    }
    proactive = nums["proactive"]
    website = proactive - rng.randint(10, proactive // 3)
    wechat = proactive - website
    apps = nums["applications"]
    granted = apps - rng.randint(0, min(3, apps))
    not_ours = apps - granted
    s = bureau.short
    blocks = _paras(
        f"根据《中华人民共和国政府信息公开条例》（以下简称《条例》）和示范市人民政府办公室关于编制"
        f"{year}年度政府信息公开工作年度报告的通知要求，现将{bureau.name}{year}年政府信息公开工作情况"
        f"报告如下。本报告所列数据的统计期限自{year}年1月1日起至{year}年12月31日止。"
    )
    blocks.append(Block("heading", "一、概述"))
    blocks += _paras(
        f"{year}年，{s}认真贯彻落实《条例》，围绕{bureau.focus}，进一步健全政府信息公开工作机制，"
        f"明确由{bureau.name}{bureau.office}负责政府信息公开的日常工作，做到分管领导、具体科室和工作人员三落实。",
        f"{s}坚持“以公开为原则、不公开为例外”，及时梳理更新政府信息公开目录和公开指南，"
        f"完善信息发布保密审查制度，确保公开信息准确、规范、及时。",
    )
    blocks.append(Block("heading", "二、主动公开政府信息情况"))
    blocks += _paras(
        f"{year}年，{s}共主动公开政府信息{proactive}条，其中通过门户网站公开{website}条，"
        f"通过政务微博、微信公众号等新媒体发布{wechat}条。公开内容主要包括"
        f"{'、'.join(bureau.topics)}等。",
        f"{s}在办公场所设置政府信息公开查阅点，全年接待现场查阅{rng.randint(5, 60)}人次，"
        f"受理咨询{rng.randint(10, 120)}人次。",
    )
    blocks.append(Block("heading", "三、依申请公开政府信息情况"))
    if apps:
        blocks += _paras(
            f"{year}年，{s}共收到依申请公开事项{apps}件，其中当面申请{apps - apps // 2}件，"
            f"网络申请{apps // 2}件。所有申请均在规定期限内答复，其中同意公开{granted}件，"
            f"不属于本机关公开范围{not_ours}件，并已告知申请人相应的获取途径。"
        )
    else:
        blocks += _paras(f"{year}年，{s}未收到依申请公开政府信息的申请。")
    blocks.append(Block("heading", "四、政府信息公开的收费及减免情况"))
    blocks += _paras(f"{year}年，{s}在政府信息公开工作中未收取任何费用，也不存在减免情况。")
    blocks.append(Block("heading", "五、因政府信息公开申请行政复议、提起行政诉讼的情况"))
    blocks += _paras(f"{year}年，{s}未发生因政府信息公开申请提起行政复议和行政诉讼的情况。")
    blocks.append(Block("heading", "六、政府信息公开工作存在的主要问题及改进措施"))
    blocks += _paras(
        f"{s}政府信息公开工作虽然取得了一定成效，但仍存在公开内容不够丰富、部分信息更新不够及时、"
        f"解读形式较为单一等问题。",
        f"{year + 1}年，{s}将进一步加强学习培训，提高工作人员业务水平；拓宽公开渠道，"
        f"丰富政策解读形式；加强监督检查，推动政府信息公开工作规范化、常态化。",
    )
    return Report(blocks, None, None, {"proactive": proactive, "applications": apps})


def structured_report(
    bureau: Bureau,
    year: int,
    seed: str,
    table_format: str,
    blank_zero: bool = False,
    section5_heading: str = "五、存在的主要问题及改进情况",
) -> Report:
    """A report in the 2019-revision six-section shape, with tables 2, 3 and 4."""
    rng = random.Random(seed)
    carry = (carried_over(bureau.name, year - 1), carried_over(bureau.name, year))
    numbers = make_table3_numbers(rng, table_format, bureau.scale, carry)
    review = make_table4_numbers(rng, bureau.scale)
    t2 = table2(rng, table_format, bureau.enforcement)
    s = bureau.short
    apps = numbers[0][6]
    carried_out = numbers[-1][6]
    proactive = rng.randint(120, 680)
    blocks = _paras(
        f"本报告根据《中华人民共和国政府信息公开条例》（以下简称《条例》）第五十条规定编制。"
        f"全文包括总体情况、主动公开政府信息情况、收到和处理政府信息公开申请情况、"
        f"政府信息公开行政复议和行政诉讼情况、存在的主要问题及改进情况、其他需要报告的事项。"
        f"本报告所列数据的统计期限自{year}年1月1日起至{year}年12月31日止。"
        f"如对本报告有疑问，请与{bureau.name}{bureau.office}联系（地址：{bureau.address}；"
        f"电话：{bureau.phone}）。"
    )
    blocks.append(Block("heading", "一、总体情况"))
    blocks += _paras(
        f"{year}年，{s}深入贯彻落实《条例》，围绕{bureau.focus}，"
        f"持续深化政务公开，不断提升政府信息公开工作质量。",
        f"（一）主动公开。全年共主动公开政府信息{proactive}条，内容涵盖"
        f"{'、'.join(bureau.topics)}等。",
        f"（二）依申请公开。全年新收政府信息公开申请{apps}件，均在法定期限内予以答复，"
        f"结转下年度继续办理{carried_out}件。",
        "（三）政府信息管理。严格落实信息发布“三审三校”和保密审查制度，"
        "动态更新政府信息公开指南和目录，对已公开的规范性文件开展清理。",
        "（四）平台建设。优化门户网站政府信息公开专栏，规范栏目设置，"
        "提升移动端访问体验，及时回应群众关切。",
        "（五）监督保障。将政务公开工作纳入年度绩效考核，开展业务培训"
        f"{rng.randint(1, 4)}次，未发生因政府信息公开工作被责任追究的情况。",
    )
    blocks.append(Block("heading", "二、主动公开政府信息情况"))
    blocks.append(Block("table", table=t2))
    blocks.append(Block("heading", "三、收到和处理政府信息公开申请情况"))
    blocks.append(Block("table", table=table3(numbers, table_format, blank_zero)))
    blocks.append(Block("heading", "四、政府信息公开行政复议、行政诉讼情况"))
    blocks.append(Block("table", table=table4(review)))
    blocks.append(Block("heading", section5_heading))
    blocks += _paras(
        f"{year}年，{s}政府信息公开工作取得了一定成效，但与群众期待相比仍有差距："
        "一是政策解读形式不够多样；二是部分栏目信息更新不够及时。",
        f"{year + 1}年，{s}将丰富图表、音视频等解读形式，建立栏目更新责任清单，"
        "定期开展自查，确保信息公开及时、准确、全面。",
    )
    blocks.append(Block("heading", "六、其他需要报告的事项"))
    if table_format == "2021":
        blocks += _paras(
            "依据《政府信息公开信息处理费管理办法》收取信息处理费的情况：本年度未收取信息处理费。",
            f"{year}年，{s}办理人大代表建议{rng.randint(1, 9)}件、政协委员提案{rng.randint(1, 12)}件，"
            "均已按期办结。",
        )
    else:
        blocks += _paras(f"{year}年，{s}无其他需要报告的事项。")
    return Report(blocks, table_format, numbers, {"proactive": proactive, "applications": apps})


def short_notice(title: str, issuer: str, date_text: str, seed: str) -> list[Block]:
    """The body of a non-report item in a column (a notice, a bulletin)."""
    rng = random.Random(seed)
    return _paras(
        "各有关单位：",
        f"为做好相关工作，现将有关事项通知如下。请各单位高度重视，明确责任分工，"
        f"于规定时间内将工作情况报送{issuer}。联系电话：0000-{rng.randint(1000000, 9999999)}。",
        f"{issuer}",
        date_text,
    )
