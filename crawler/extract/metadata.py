"""Metadata by label: 索引号 / 发布机构 / 发布日期 … wherever and however a page shows them.

Bureau pages carry the same facts in many shapes: ``<td>索引号</td><td>…</td>`` tables (also
``<th>`` and ``dt/dd``), ``<li><b>发布机构：</b>…</li>`` lists, ``<span>来源：…</span>`` runs, and
several pairs on one line (``发布时间：2018-03-20　来源：XX办公室``). Everything is found by the
*label* (with synonyms; spaces, ``&nbsp;``/``&ensp;``/U+3000, colons and brackets ignored),
never by position, and only from short label cells or line prefixes, not from body prose.

Only text nodes that contain a label are looked at, and each block around such a node is
linearised once, so a page costs a fraction of a millisecond.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from ._text import BLOCK_TAGS, CELL_TAGS, SKIP_TAGS, collapse_ws, select
from .dates import normalize_date

__all__ = [
    "FIELDS",
    "LABELS",
    "LabelledValue",
    "head_meta",
    "labelled_candidates",
    "labelled_fields",
    "normalize_label",
    "unlabelled_doc_no",
    "valid_publisher",
    "valid_values",
]

FIELDS = ("title", "index_no", "publisher", "pub_date", "written_date", "doc_no", "topic")

# label → (field, rank). Lower rank wins; 来源 is weaker than an explicit 发布机构, a bare
# 时间/日期 weaker still, and a bare 分类 weaker than 主题分类.
LABELS: dict[str, tuple[str, int]] = {
    "索引号": ("index_no", 0),
    "信息索引号": ("index_no", 0),
    "索取号": ("index_no", 0),
    "发布机构": ("publisher", 0),
    "发文单位": ("publisher", 0),
    "发文机关": ("publisher", 0),
    "发文机构": ("publisher", 0),
    "公开主体": ("publisher", 0),
    "发布单位": ("publisher", 0),
    "发布部门": ("publisher", 0),
    "公开机构": ("publisher", 0),
    "信息来源": ("publisher", 1),
    "来源": ("publisher", 1),
    "发布日期": ("pub_date", 0),
    "发布时间": ("pub_date", 0),
    "公开日期": ("pub_date", 0),
    "公开时间": ("pub_date", 0),
    "时间": ("pub_date", 2),
    "日期": ("pub_date", 2),
    "成文日期": ("written_date", 0),
    "发文日期": ("written_date", 0),
    "成文时间": ("written_date", 0),
    "印发日期": ("written_date", 0),
    "生成日期": ("written_date", 1),
    "文号": ("doc_no", 0),
    "发文字号": ("doc_no", 0),
    "发文文号": ("doc_no", 0),
    "文件编号": ("doc_no", 0),
    "主题分类": ("topic", 0),
    "分类": ("topic", 1),
    "标题": ("title", 0),
    "名称": ("title", 0),
    "文件名称": ("title", 0),
    "信息名称": ("title", 0),
}

_SOFT = "\x1f"  # marks an element boundary inside a linearised line
_BREAK = "\x1e"  # a real line break (block boundary or <br>); source newlines are spaces
_GAP = r"[\s\x1f]*"
_OPEN_BRACKETS = "【[［(（〔<《"
_CLOSE_BRACKETS = "】]］)）〕>》"


def _label_pattern(label: str) -> str:
    return _GAP.join(re.escape(ch) for ch in label)


# Longest first so 信息来源 wins over 来源 at the same position.
_LABEL_ALT = "|".join(_label_pattern(label) for label in sorted(LABELS, key=len, reverse=True))
# Python's re tries every alternative at every position; a one-character lookahead lets it
# skip positions where no label (or bracket before one) can start.
_FIRST_CHARS = "".join(sorted({label[0] for label in LABELS}))
# A label somewhere in a text node (cheap pre-filter for which blocks to read).
_LABEL_SEARCH_RE = re.compile(_LABEL_ALT)  # starts with literals: re's prefix scan is fast
# A label that starts a pair: at a boundary, optionally bracketed, then a colon (or a
# closing bracket).
_BOUNDARY = r"(?:^|(?<=[\s\x1f|｜/\\,，;；:：、·•>》】\]］)）" + _OPEN_BRACKETS + r"0-9A-Za-z]))"
_PAIR_RE = re.compile(
    "(?=[" + re.escape(_OPEN_BRACKETS) + _FIRST_CHARS + "])"
    + _BOUNDARY
    + r"[" + re.escape(_OPEN_BRACKETS) + r"]?"
    + _GAP
    + r"(?P<label>" + _LABEL_ALT + r")"
    + _GAP
    + r"(?:[:：]|[" + re.escape(_CLOSE_BRACKETS) + r"]" + _GAP + r"[:：]?)"
)
# A label that is the whole content of an inline element, no colon: "\x1f索引号\x1f…".
_INLINE_LABEL_RE = re.compile(
    r"(?=[\s" + re.escape(_OPEN_BRACKETS) + _FIRST_CHARS + r"])"
    + r"(?:^|(?<=\x1f))[\s]*[" + re.escape(_OPEN_BRACKETS) + r"]?" + _GAP
    + r"(?P<label>" + _LABEL_ALT + r")"
    + _GAP + r"[" + re.escape(_CLOSE_BRACKETS) + r"]?[^\S\x1f]*(?=\x1f)"
)
# Any short "word：" after a boundary ends a value (浏览次数：, 字号：, 点击：).
_OTHER_LABEL_RE = re.compile(
    r"(?:(?<=[\s\x1f|｜【\[］]))[\u4e00-\u9fffA-Za-z]{2,8}[\s\x1f]*[:：]"
)
# Candidate separators inside a line: whitespace runs and vertical bars (see _hard_cut).
_SEP_CANDIDATE_RE = re.compile(r"[^\S\x1f\x1e]+|[|｜]")
_LEADING_GAP_RE = re.compile(r"^[\s\x1f]*")
# A cell concatenating several values (or empty slots for them): parts separated by a line
# break or U+3000, or a run of NBSPs anywhere (templates pad the slots with &nbsp;&nbsp;).
_MULTI_VALUE_RE = re.compile("\\S\\s*[\x1e\u3000]\\s*\\S|\u00a0\\s*\u00a0")
_LABEL_STRIP_RE = re.compile(r"[\s\x1f:：" + re.escape(_OPEN_BRACKETS + _CLOSE_BRACKETS) + r"]")
_URL_RE = re.compile(r"^(?:https?:)?//|^www\.|\.(?:s?html?|jsp|aspx?|php)\b", re.I)
_PUNCT_ONLY_RE = re.compile(r"^[\s\-—–_/\\|｜.。,，:：;；*＊]*$")
_EDGE_PUNCT = " \t\n\x1f|｜/\\,，;；:：、·•"

MAX_LINE = 220  # a longer line is prose, not a metadata row
MAX_VALUE = 200


def normalize_label(text: str) -> str:
    """``索&ensp;引&ensp;号：`` → ``索引号``: spaces, NBSP/ensp/U+3000, colons, brackets removed."""
    return _LABEL_STRIP_RE.sub("", text or "")


@dataclass
class LabelledValue:
    """One label/value pair found on the page."""

    field: str
    label: str
    rank: int
    value: str  # whitespace-collapsed; "" when the page shows the label with no value
    raw: str  # as found (multi-valued cells keep their separators)
    order: int  # document order of discovery
    block: etree._Element
    group: etree._Element  # the table/list/block the pair belongs to
    cell: bool  # a bare label cell (no colon), value taken from the neighbouring cell


# ---------------------------------------------------------------------------- linearising


def _own_lines(block: etree._Element) -> list[str]:
    """The block's own text as lines, nested blocks excluded, inline boundaries marked."""
    out: list[str] = []
    append = out.append
    if block.text:
        append(block.text)
    stack: list[tuple[etree._Element, bool]] = [(child, False) for child in reversed(block)]
    while stack:
        node, closing = stack.pop()
        if closing:
            append(_SOFT)
            if node.tail:
                append(node.tail)
            continue
        tag = node.tag
        if not isinstance(tag, str) or tag in SKIP_TAGS:
            if node.tail:
                append(node.tail)
            continue
        if tag == "br" or tag in BLOCK_TAGS:
            append(_BREAK)
            if node.tail:
                append(node.tail)
            continue
        append(_SOFT)
        if node.text:
            append(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))
    return "".join(out).split(_BREAK)


def _flat_value(el: etree._Element) -> str:
    """All text of a value cell (nested blocks included), raw whitespace kept."""
    parts: list[str] = []
    if el.text:
        parts.append(el.text)
    for node in el.iterdescendants():
        tag = node.tag
        if isinstance(tag, str) and tag not in SKIP_TAGS and node.text:
            if tag in BLOCK_TAGS or tag == "br":
                parts.append(_BREAK)
            # text of elements inside skipped ones is rare enough to ignore
            parts.append(node.text)
        elif isinstance(tag, str) and (tag in BLOCK_TAGS or tag == "br"):
            parts.append(_BREAK)
        if node.tail:
            parts.append(node.tail)
    return "".join(parts)


def _clean_value(raw: str) -> str:
    value = collapse_ws(raw.replace(_SOFT, "").replace(_BREAK, " "))
    value = value.strip(_EDGE_PUNCT)
    # An unbalanced closing bracket at the end belongs to the surrounding prose.
    while value and value[-1] in _CLOSE_BRACKETS:
        opening = _OPEN_BRACKETS[_CLOSE_BRACKETS.index(value[-1])]
        if value.count(opening) >= value.count(value[-1]):
            break
        value = value[:-1].rstrip(_EDGE_PUNCT)
    while value and value[0] in _OPEN_BRACKETS:
        closing = _CLOSE_BRACKETS[_OPEN_BRACKETS.index(value[0])]
        if value.count(closing) >= value.count(value[0]):
            break
        value = value[1:].lstrip(_EDGE_PUNCT)
    return value


def _is_label_text(text: str) -> str | None:
    """The canonical label if ``text`` is nothing but a label (with colon/brackets/spaces)."""
    norm = normalize_label(text)
    return norm if norm in LABELS else None


# ---------------------------------------------------------------------------- discovery


def _nearest_block(node: etree._Element) -> etree._Element:
    current = node
    while current is not None:
        if isinstance(current.tag, str) and current.tag in BLOCK_TAGS:
            return current
        parent = current.getparent()
        if parent is None:
            return current
        current = parent
    return node


_GROUP_OF_TAG = {"td": ("table", 4), "th": ("table", 4), "tr": ("table", 3), "li": ("ul ol", 1),
                 "dt": ("dl", 1), "dd": ("dl", 1)}


def _group_of(block: etree._Element) -> etree._Element:
    """The metadata group a pair belongs to: its table or list, else the block itself."""
    spec = _GROUP_OF_TAG.get(block.tag)
    if spec is None:
        return block
    wanted, depth = spec
    current = block.getparent()
    for _ in range(depth):
        if current is None:
            break
        if current.tag in wanted.split():
            return current
        current = current.getparent()
    return block


def _next_value_element(
    block: etree._Element,
) -> tuple[etree._Element | None, etree._Element]:
    """``(value element, label holder)`` for a bare label block.

    The value is in the next sibling cell/dd/element. When the label sits alone inside a
    wrapper (``<td><p>索引号</p></td>``) the wrapper is the label holder. For a header row of
    labels above a row of values, the value is the cell in the same column below.
    """
    current = block
    for _ in range(3):
        sibling = current.getnext()
        while sibling is not None and not isinstance(sibling.tag, str):
            sibling = sibling.getnext()
        if sibling is not None:
            if current.tag in CELL_TAGS and _is_label_text(collapse_ws(_flat_value(sibling))):
                return _same_column_below(current), current
            return sibling, current
        parent = current.getparent()
        if parent is None or parent.tag in ("tr", "table", "body", "html"):
            break
        if collapse_ws(_flat_value(parent)) != collapse_ws(_flat_value(current)):
            break
        current = parent
    if current.tag in CELL_TAGS:
        return _same_column_below(current), current
    return None, current


def _same_column_below(cell: etree._Element) -> etree._Element | None:
    row = cell.getparent()
    if row is None or row.tag != "tr":
        return None
    cells = [c for c in row if isinstance(c.tag, str) and c.tag in CELL_TAGS]
    if not all(_is_label_text(collapse_ws(_flat_value(c))) for c in cells):
        return None
    next_row = row.getnext()
    while next_row is not None and (not isinstance(next_row.tag, str) or next_row.tag != "tr"):
        next_row = next_row.getnext()
    if next_row is None:
        return None
    below = [c for c in next_row if isinstance(c.tag, str) and c.tag in CELL_TAGS]
    if len(below) != len(cells):
        return None
    return below[cells.index(cell)]


def _iter_roots(tree: etree._Element, scope_selector: str | None) -> list[etree._Element]:
    if scope_selector:
        roots = select(tree, scope_selector)
        if roots:
            return roots
        return []
    body = tree.find("body") if tree.tag == "html" else None
    return [body if body is not None else tree]


# Inside the body only its first elements are searched: a metadata table inside the body
# container comes before the text, and skipping the rest keeps big Word-pasted bodies cheap.
BODY_SCAN_ELEMENTS = 200


def _label_blocks(
    root: etree._Element, exclude: etree._Element | None = None
) -> list[etree._Element]:
    """Blocks (in document order) whose own text contains a label."""
    elements = list(root.iter())
    if exclude is not None and exclude is not root:
        try:
            start = elements.index(exclude)
        except ValueError:
            start = -1
        if start >= 0:
            size = len(list(exclude.iter()))
            if size > BODY_SCAN_ELEMENTS:
                del elements[start + BODY_SCAN_ELEMENTS:start + size]
    seen: set[etree._Element] = set()
    blocks: list[etree._Element] = []
    search = _LABEL_SEARCH_RE.search
    for node in elements:
        tag = node.tag
        if tag.__class__ is str and tag not in SKIP_TAGS:
            text = node.text
            if text and search(text):
                block = _nearest_block(node)
                if block not in seen:
                    seen.add(block)
                    blocks.append(block)
        tail = node.tail
        if tail and node is not root and search(tail):
            parent = node.getparent()
            if parent is not None and parent.tag not in SKIP_TAGS:
                block = _nearest_block(parent)
                if block not in seen:
                    seen.add(block)
                    blocks.append(block)
    return blocks


def _hard_cut(text: str) -> int:
    """Where a value ends: a bar, a tab, U+3000, or two or more spaces typed on one source line.

    Whitespace that contains a source newline is just wrapping (it renders as one space).
    """
    for match in _SEP_CANDIDATE_RE.finditer(text):
        run = match.group(0)
        if run in ("|", "｜") or "\t" in run or "\u3000" in run:
            return match.start()
        if len(run) >= 2 and "\n" not in run and "\r" not in run:
            return match.start()
    return len(text)


def _pairs_in_line(line: str) -> list[tuple[str, str, bool]]:
    """``(label, raw value, bare)`` for the ``label：value`` pairs in one linearised line.

    ``bare`` pairs have no colon: the label is the whole content of an inline element
    (``<span>索引号</span><span>…</span>``); they are believed only in a group of labels.
    """
    matches = list(_PAIR_RE.finditer(line))
    if _SOFT in line:
        taken = [(m.start(), m.end()) for m in matches]
        for match in _INLINE_LABEL_RE.finditer(line):
            if not any(a < match.end() and match.start() < b for a, b in taken):
                matches.append(match)
        matches.sort(key=lambda m: m.start())
    pairs = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        rest = line[match.end():end]
        # skip leading gaps, then stop at a hard separator or another "word：" label
        stripped = _LEADING_GAP_RE.sub("", rest, count=1)
        cut = _hard_cut(stripped)
        other = _OTHER_LABEL_RE.search(stripped, 0, cut)
        if other:
            cut = other.start()
        bare = match.re is _INLINE_LABEL_RE
        pairs.append((normalize_label(match.group("label")), stripped[:cut], bare))
    return pairs


def labelled_candidates(
    tree: etree._Element,
    scope_selector: str | None = None,
    *,
    exclude: etree._Element | None = None,
) -> list[LabelledValue]:
    """Every label/value pair on the page, in document order (validated values only).

    Pairs inside ``exclude`` (the body) count only in a table/line that shows at least two
    different fields, so a body table cell ``名称`` does not become the title, and only the
    first :data:`BODY_SCAN_ELEMENTS` elements of it are read. Bare label cells (no colon)
    need such a group everywhere.
    """
    found: list[LabelledValue] = []
    order = 0
    for root in _iter_roots(tree, scope_selector):
        for block in _label_blocks(root, exclude):
            lines = _own_lines(block)
            meaningful = [ln for ln in lines if ln.strip(" \t\n\r\x1f\u3000\u00a0")]
            label = _is_label_text(meaningful[0]) if len(meaningful) == 1 else None
            if label is not None:
                # A block holding nothing but a label: the value is in the next cell/element.
                # Without a colon that is only believed inside a group of several labels.
                bare = not re.search("[:：" + re.escape(_CLOSE_BRACKETS) + "]", meaningful[0])
                value_el, holder = _next_value_element(block)
                raw = _flat_value(value_el) if value_el is not None else ""
                if _is_label_text(collapse_ws(raw)) or _PAIR_RE.match(collapse_ws(raw)):
                    raw = ""  # the neighbour is another label (this one is shown empty)
                field, rank = LABELS[label]
                found.append(
                    LabelledValue(field, label, rank, _clean_value(raw), raw, order, block,
                                  _group_of(holder), cell=bare)
                )
                order += 1
                continue
            for line in lines:
                if len(line) > 3 * MAX_LINE:
                    continue
                visible = collapse_ws(line.replace(_SOFT, ""))
                if not visible or len(visible) > MAX_LINE:
                    continue
                pairs = _pairs_in_line(line)
                if not pairs:
                    continue
                for label, raw, bare in pairs:
                    field, rank = LABELS[label]
                    found.append(
                        LabelledValue(field, label, rank, _clean_value(raw), raw, order, block,
                                      _group_of(block), cell=bare)
                    )
                    order += 1
    return _filter_groups(found, exclude)


def _inside(el: etree._Element, container: etree._Element) -> bool:
    current: etree._Element | None = el
    while current is not None:
        if current is container:
            return True
        current = current.getparent()
    return False


def _filter_groups(
    found: list[LabelledValue], exclude: etree._Element | None
) -> list[LabelledValue]:
    fields_per_group: dict[etree._Element, set[str]] = {}
    for item in found:
        fields_per_group.setdefault(item.group, set()).add(item.field)
    kept = []
    for item in found:
        strong_group = len(fields_per_group[item.group]) >= 2
        if item.cell and not strong_group:
            continue
        if exclude is not None and not strong_group and _inside(item.block, exclude):
            continue
        kept.append(item)
    return kept


# ---------------------------------------------------------------------------- validation


def _valid_value(item: LabelledValue) -> str | None:
    value = item.value
    if not value or _PUNCT_ONLY_RE.match(value) or len(value) > MAX_VALUE:
        return None
    field = item.field
    if field in ("pub_date", "written_date"):
        return normalize_date(value)
    if field == "publisher":
        return valid_publisher(value)
    if field == "index_no":
        if len(value) > 80 or not re.search(r"[0-9A-Za-z]", value):
            return None
        return value
    if field == "doc_no":
        return value if len(value) <= 80 else None
    if field == "topic":
        if len(value) > 40:
            return None
        # A bare 分类 cell listing several classifications (主题/体裁/…) names no single topic.
        if item.rank > 0 and _MULTI_VALUE_RE.search(item.raw.replace(_SOFT, "")):
            return None
        return value
    if field == "title":
        if _URL_RE.match(value):
            return None
        return value
    return value


def valid_publisher(value: str | None) -> str | None:
    """A publisher name, or None for URLs, dates, punctuation and overlong text."""
    value = collapse_ws(value)
    if not value or len(value) > 60 or _URL_RE.search(value) or normalize_date(value):
        return None
    if not re.search(r"[\u4e00-\u9fffA-Za-z]", value):
        return None
    return value


def labelled_fields(
    tree: etree._Element,
    scope_selector: str | None = None,
    *,
    exclude: etree._Element | None = None,
) -> dict[str, str]:
    """Canonical field → value from labelled pairs (best label rank, then page order).

    Dates come back as ``YYYY-MM-DD``. Fields the page does not label are absent.
    """
    best: dict[str, tuple[int, int, str]] = {}
    for item in labelled_candidates(tree, scope_selector, exclude=exclude):
        value = _valid_value(item)
        if value is None:
            continue
        key = (item.rank, item.order)
        current = best.get(item.field)
        if current is None or key < current[:2]:
            best[item.field] = (item.rank, item.order, value)
    return {field: best[field][2] for field in FIELDS if field in best}


def valid_values(items: Iterable[LabelledValue], field: str) -> list[str]:
    """Validated values for one field, best first (rank, then page order)."""
    chosen = []
    for item in sorted((i for i in items if i.field == field), key=lambda i: (i.rank, i.order)):
        value = _valid_value(item)
        if value is not None and value not in chosen:
            chosen.append(value)
    return chosen


# ---------------------------------------------------------------------------- head <meta>

_META_CANONICAL = {
    name.lower(): name
    for name in (
        "ArticleTitle", "PubDate", "ContentSource", "ColumnName", "ColumnType", "Url",
        "SiteName", "SiteDomain", "SiteIDCode", "Keywords", "Description", "Author",
        "ColumnDescription", "ColumnKeywords", "Image", "DocId", "ChnlId", "SiteId",
        "Maketime", "firstpublishedtime", "lastmodifiedtime", "publishdate", "source",
    )
}


def head_meta(tree: etree._Element) -> dict[str, str]:
    """``<meta name=… content=…>`` values (first non-empty per name).

    Well-known names come back in their usual spelling whatever case the page uses
    (``url`` → ``Url``); wrappers that moved the metas into the body are covered too.
    """
    result: dict[str, str] = {}
    for meta in tree.iter("meta"):
        name = meta.get("name") or meta.get("property")
        if not name:
            continue
        content = collapse_ws(meta.get("content"))
        if not content:
            continue
        key = _META_CANONICAL.get(name.strip().lower(), name.strip())
        result.setdefault(key, content)
    return result


# ---------------------------------------------------------------------------- unlabelled 文号

# A document number on its own: 岚综管综〔2016〕266号, 闽政办[2020]1号, 国办发（2019）第12号.
_DOC_NO_CORE = r"[〔\[［【(（]\s*(?:19|20)\d{2}\s*[〕\]］】)）]\s*第?\s*\d{1,5}\s*号"
DOC_NO_RE = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]{1,16}\s*" + _DOC_NO_CORE)
# The bracketed year and number alone: starts with a bracket, so a whole page scans fast.
_DOC_NO_CORE_RE = re.compile(_DOC_NO_CORE)
_DOC_NO_TEXT_NODES = etree.XPath("//body//text()[contains(., '号')]")


def _in_link_or_list(el: etree._Element) -> bool:
    """Inside a link or list item: a reference to another document, not this one's number."""
    if el.tag in ("a", "li", "option"):
        return True
    return any(a.tag in ("a", "li") for a in el.iterancestors())


def unlabelled_doc_no(tree: etree._Element, before: etree._Element | None) -> str | None:
    """A 文号 shown without a label (TRS ``div.fbt``, a line under the title).

    Only an element whose whole text is one document number counts, only above the body
    (``before``) and not inside links or list items: body prose and side lists cite other
    documents' numbers.
    """
    if before is None or not _DOC_NO_CORE_RE.search(tree.text_content()):
        return None
    order = {el: i for i, el in enumerate(tree.iter())}
    limit = order.get(before)
    if limit is None:
        return None
    for text in _DOC_NO_TEXT_NODES(tree):
        owner = text.getparent()
        if text.is_tail:
            owner = owner.getparent()
        if owner is None or owner.tag in SKIP_TAGS or order.get(owner, limit) >= limit:
            continue
        if len(text) > 60 or _in_link_or_list(owner):
            continue
        value = collapse_ws(owner.text_content())
        if len(value) <= 40 and DOC_NO_RE.fullmatch(value):
            return value
    return None
