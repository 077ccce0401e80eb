"""Tables 2, 3 and 4 of a post-2019 report, read from grids by normalized label.

Rows and columns are recognised by the words in their labels (with alternatives for the usual
variants and typos, and a character-bigram fallback for table-3 rows), never by position, except
as a last resort when a table has no header at all (a flattened table in a PDF's text), where the
printed order of the official form is the only thing left.
"""

from __future__ import annotations

import re
from collections import Counter

from .grid import Grid, normalize_label, parse_number, strip_ordinal

__all__ = [
    "TABLE3_COLUMNS",
    "TABLE3_ROWS_2019",
    "TABLE3_ROWS_2021",
    "TABLE4_GROUPS",
    "TABLE4_OUTCOMES",
    "parse_table2",
    "parse_table3",
    "parse_table4",
]

TABLE3_COLUMNS = (
    "natural_person", "commercial", "research", "social_welfare", "legal_services", "other", "total",
)
_RESULT_ROWS = (
    "granted", "partially_granted",
    "denied_state_secret", "denied_law", "denied_three_safety", "denied_third_party",
    "denied_internal", "denied_process", "denied_enforcement", "denied_inquiry",
    "unavailable_not_held", "unavailable_needs_creation", "unavailable_unclear",
    "not_processed_petition", "not_processed_repeat", "not_processed_publication",
    "not_processed_excessive", "not_processed_confirmation",
)
TABLE3_ROWS_2019 = ("new_requests", "carried_over", *_RESULT_ROWS, "other", "total", "carried_forward")
TABLE3_ROWS_2021 = (
    "new_requests", "carried_over", *_RESULT_ROWS,
    "other_no_correction", "other_no_fee", "other_misc", "total", "carried_forward",
)
TABLE4_GROUPS = ("review", "litigation_direct", "litigation_after_review")
TABLE4_OUTCOMES = ("upheld", "corrected", "other", "pending", "total")

# Row key → words of its label (regular expressions over the normalized label, alternatives for
# variants and common typos). Checked in this order against the row's own label (the item).
_ROW_WORDS: tuple[tuple[str, str], ...] = (
    ("new_requests", r"新收|本年新"),
    ("carried_over", r"上年结转|上年度结转"),
    ("carried_forward", r"结转下年|下年度继续|继续办理"),
    ("partially_granted", r"部分公开|部份公开"),
    ("granted", r"^(?:予以|予已|给予)公开"),
    ("denied_state_secret", r"国家秘密|国家机密"),
    ("denied_law", r"法律行政法规禁止|禁止公开"),
    ("denied_three_safety", r"三安全|一稳定|危及"),
    ("denied_third_party", r"第三方"),
    ("denied_internal", r"内部事务"),
    ("denied_process", r"过程性"),
    ("denied_enforcement", r"执法案卷"),
    ("denied_inquiry", r"查询事项|行政查询"),
    ("unavailable_not_held", r"不掌握"),
    ("unavailable_needs_creation", r"另行制作|现成信息"),
    ("unavailable_unclear", r"不明确"),
    ("not_processed_petition", r"信访|举报|投诉"),
    ("not_processed_repeat", r"重复申请"),
    ("not_processed_publication", r"出版物"),
    ("not_processed_excessive", r"大量反复|大量申请"),
    ("not_processed_confirmation", r"确认|重新出具"),
    ("other_no_correction", r"不补正|逾期未补正"),
    ("other_no_fee", r"缴纳费用|收费通知"),
    ("other", r"^其他处理$"),
    ("total", r"^(?:总计|合计)$"),
)
_ROW_PATTERNS = tuple((key, re.compile(words)) for key, words in _ROW_WORDS)
# The official labels, for the bigram fallback when no words match (a typo in the key word).
_CANONICAL = {
    "granted": "予以公开",
    "partially_granted": "部分公开区分处理的只计这一情形不计其他情形",
    "denied_state_secret": "属于国家秘密",
    "denied_law": "其他法律行政法规禁止公开",
    "denied_three_safety": "危及三安全一稳定",
    "denied_third_party": "保护第三方合法权益",
    "denied_internal": "属于三类内部事务信息",
    "denied_process": "属于四类过程性信息",
    "denied_enforcement": "属于行政执法案卷",
    "denied_inquiry": "属于行政查询事项",
    "unavailable_not_held": "本机关不掌握相关政府信息",
    "unavailable_needs_creation": "没有现成信息需要另行制作",
    "unavailable_unclear": "补正后申请内容仍不明确",
    "not_processed_petition": "信访举报投诉类申请",
    "not_processed_repeat": "重复申请",
    "not_processed_publication": "要求提供公开出版物",
    "not_processed_excessive": "无正当理由大量反复申请",
    "not_processed_confirmation": "要求行政机关确认或重新出具已获取信息",
    "other_no_correction": "申请人无正当理由逾期不补正行政机关不再处理其政府信息公开申请",
    "other_no_fee": "申请人逾期未按收费通知要求缴纳费用行政机关不再处理其政府信息公开申请",
    "new_requests": "本年新收政府信息公开申请数量",
    "carried_over": "上年结转政府信息公开申请数量",
    "carried_forward": "结转下年度继续办理",
}
_FALLBACK_MIN_DICE = 0.6

_COLUMN_WORDS: tuple[tuple[str, str], ...] = (
    ("commercial", r"商业"),
    ("research", r"科研"),
    ("social_welfare", r"公益"),
    ("legal_services", r"法律服务"),
    ("total", r"总计|合计"),
    ("natural_person", r"自然人"),
    ("other", r"^其他$"),
)


def _dice(a: str, b: str) -> float:
    x = Counter(a[i:i + 2] for i in range(len(a) - 1))
    y = Counter(b[i:i + 2] for i in range(len(b) - 1))
    total = sum(x.values()) + sum(y.values())
    return 2 * sum((x & y).values()) / total if total else 0.0


def _distinct(cells: list[str]) -> list[str]:
    out: list[str] = []
    for cell in cells:
        if cell and (not out or out[-1] != cell):
            out.append(cell)
    return out


def _match(patterns, text: str) -> str | None:
    for key, pattern in patterns:
        if pattern.search(text):
            return key
    return None


def _row_key(labels: list[str], previous: str | None) -> str | None:
    """The table-3 row key of a row whose label cells are ``labels`` (group first, item last)."""
    item = normalize_label(strip_ordinal(labels[-1]))
    key = _match(_ROW_PATTERNS, item)
    if key is not None:
        return key
    whole = normalize_label("".join(labels))
    if item == "其他":
        # 2021's "3.其他" under （六）其他处理; alone it is the 2019 single row.
        if previous in ("other_no_correction", "other_no_fee"):
            return "other_misc"
        return "other" if "其他处理" in whole and previous != "other" else None
    if "其他处理" in item:
        return "other"
    best, score = None, 0.0
    for candidate, label in _CANONICAL.items():
        value = _dice(item, label)
        if value > score:
            best, score = candidate, value
    return best if score >= _FALLBACK_MIN_DICE else None


def _numeric_tail(cells: list[str], width: int) -> list[int | float] | None:
    if len(cells) < width:
        return None
    values = [parse_number(c) for c in cells[-width:]]
    if any(v is None for v in values):
        return None
    return values  # type: ignore[return-value]


def _columns(header_rows: Grid, keys_words) -> dict[str, int]:
    """Column key → grid index, from the header rows above the data (deepest header first)."""
    patterns = tuple((key, re.compile(words)) for key, words in keys_words)
    width = max((len(r) for r in header_rows), default=0)
    found: dict[str, int] = {}
    for c in range(width):
        texts = _distinct([row[c] if c < len(row) else "" for row in header_rows])
        if not texts:
            continue
        key = _match(patterns, normalize_label(texts[-1])) or _match(
            patterns, normalize_label("".join(texts))
        )
        if key and key not in found:
            found[key] = c
    return found


def _read_table3_rows(grid: Grid, indexes: list[int] | None) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    previous: str | None = None
    for row in grid:
        if indexes is not None:
            if max(indexes) >= len(row):
                continue
            # a missing number in any column (a None) leaves the list short: the row is skipped
            values = [v for v in (parse_number(row[i]) for i in indexes) if v is not None]
            label_cells = row[: min(indexes)]
            if len(values) != len(indexes):
                continue
        else:  # no usable header: the form's printed column order
            tail = _numeric_tail(row, len(TABLE3_COLUMNS))
            if tail is None:
                continue
            values, label_cells = tail, row[: len(row) - len(TABLE3_COLUMNS)]
        labels = [c for c in _distinct(label_cells) if parse_number(c) is None]
        if not labels:
            continue
        key = _row_key(labels, previous)
        if key is None or key in rows:
            continue
        rows[key] = [int(v) for v in values]
        previous = key
        if key == "carried_forward":
            break
    return rows


def parse_table3(grid: Grid) -> dict | None:
    """``{"columns": [...], "rows": {key: [7 ints]}}`` or None when this is not table 3.

    Columns are found by their header words; a grid whose header does not line up with its
    numbers (text split on whitespace) is read in the form's printed column order."""
    first_data = next(
        (i for i, row in enumerate(grid) if any("新收" in normalize_label(c) for c in row)),
        None,
    )
    if first_data is None:
        return None
    columns = _columns(grid[:first_data], _COLUMN_WORDS)
    rows: dict[str, list[int]] = {}
    if len(columns) == len(TABLE3_COLUMNS):
        rows = _read_table3_rows(grid[first_data:], [columns[k] for k in TABLE3_COLUMNS])
    if len(rows) < 3:
        rows = _read_table3_rows(grid[first_data:], None)
    if len(rows) < 3:
        return None
    order = TABLE3_ROWS_2021 if any(k.startswith("other_") for k in rows) else TABLE3_ROWS_2019
    return {"columns": list(TABLE3_COLUMNS), "rows": {k: rows[k] for k in order if k in rows}}


def table3_format(table3: dict) -> str:
    rows = table3["rows"]
    return "2021" if any(key.startswith("other_") for key in rows) else "2019"


_T4_GROUP_WORDS = (
    ("litigation_after_review", r"复议后"),
    ("litigation_direct", r"直接起诉|未经复议"),
    ("review", r"行政复议"),
)
_T4_OUTCOME_WORDS = (
    ("upheld", r"维持"),
    ("corrected", r"纠正"),
    ("pending", r"尚未|审结"),
    ("total", r"总计|合计"),
    ("other", r"其他"),
)


def parse_table4(grid: Grid, use_header: bool = True) -> dict | None:
    """``{"review": {...5}, "litigation_direct": {...}, "litigation_after_review": {...}}``.

    Columns by their header words; without a header lined up with the numbers
    (``use_header=False``: text split on whitespace) in the form's printed order."""
    data_index = next(
        (i for i, row in enumerate(grid) if _numeric_tail(row, 15) is not None), None
    )
    if data_index is None:
        return None
    data = grid[data_index]
    group_patterns = tuple((k, re.compile(w)) for k, w in _T4_GROUP_WORDS)
    outcome_patterns = tuple((k, re.compile(w)) for k, w in _T4_OUTCOME_WORDS)
    result: dict[str, dict[str, int]] = {g: {} for g in TABLE4_GROUPS}
    offset = len(data) - 15
    for c in range(offset, len(data)):
        header = [row[c] for row in grid[:data_index] if c < len(row)] if use_header else []
        texts = _distinct(header)
        group = _match(group_patterns, normalize_label("".join(texts))) if texts else None
        outcome = _match(outcome_patterns, normalize_label(texts[-1])) if texts else None
        if group is None or outcome is None:  # no header: the form's printed order
            group = TABLE4_GROUPS[(c - offset) // 5]
            outcome = TABLE4_OUTCOMES[(c - offset) % 5]
        value = parse_number(data[c])
        result[group].setdefault(outcome, int(value or 0))
    if any(len(result[g]) != 5 for g in TABLE4_GROUPS):
        return None
    return {g: {o: result[g][o] for o in TABLE4_OUTCOMES} for g in TABLE4_GROUPS}


# Table 2: row label → key, column header → field.
_T2_ROW_WORDS = (
    ("regulations", r"^规章$"),
    ("normative_documents", r"规范性文件"),
    ("licensing", r"行政许可"),
    ("other_services", r"其他对外管理服务"),
    ("penalty", r"行政处罚"),
    ("enforcement", r"行政强制"),
    ("fees", r"行政事业性收费"),
    ("procurement", r"政府集中采购|集中采购"),
)
_T2_FIELD_WORDS = (
    ("issued", r"制发"),
    ("repealed", r"废止"),
    ("in_force", r"现行有效"),
    ("new_made", r"新制作"),
    ("new_published", r"新公开"),
    ("total_published", r"对外公开总"),
    ("decisions", r"处理决定"),
    ("previous_count", r"上一年"),
    ("change", r"增减|增/减|增\/减"),
    ("amount_10k_yuan", r"金额"),
    ("count", r"项目数量"),
)


def parse_table2(grid: Grid) -> dict | None:
    """``{row_key: {field: number}}`` for the rows of table 2 that were recognised.

    Row keys: regulations, normative_documents, licensing, other_services (2019), penalty,
    enforcement, fees, procurement (2019). Fields (2021): issued, repealed, in_force,
    decisions, amount_10k_yuan; (2019): new_made, new_published, total_published,
    previous_count, change, decisions, count, amount_10k_yuan."""
    row_patterns = tuple((k, re.compile(w)) for k, w in _T2_ROW_WORDS)
    field_patterns = tuple((k, re.compile(w)) for k, w in _T2_FIELD_WORDS)
    header: list[str] = []
    out: dict[str, dict[str, int | float]] = {}
    for row in grid:
        if not row:
            continue
        label = normalize_label(strip_ordinal(row[0]))
        if "信息内容" in label or label == "内容":
            header = row
            continue
        key = _match(row_patterns, label)
        if key is None or key in out:
            continue
        values: dict[str, int | float] = {}
        for c in range(1, len(row)):
            name = _match(field_patterns, normalize_label(header[c])) if c < len(header) else None
            number = parse_number(row[c])
            if name and number is not None and name not in values:
                values[name] = number
        if values:
            out[key] = values
    return out or None


