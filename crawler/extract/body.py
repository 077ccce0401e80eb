"""The article body: which element holds it, and its text.

Order: an explicit CSS selector → Hanweb's ``<meta name="ContentStart">``…``ContentEnd`` region
→ known body containers of the common site platforms → a text-density fallback (the block
with the most non-link Chinese text).
"""

from __future__ import annotations

import copy

import lxml.html
from lxml import etree

from ._text import BLOCK_TAGS, SKIP_TAGS, is_hidden, linearise, select
from .attachments import is_attachment_url

__all__ = ["BODY_CONTAINERS", "body_element", "body_text", "content_region", "region_anchor"]

# (kind, value): "id" matches the id exactly, "class" one class token. Priority = list order.
BODY_CONTAINERS: tuple[tuple[str, str], ...] = (
    ("id", "zoom"),
    ("id", "Zoom"),
    ("id", "ZOOM"),
    ("class", "TRS_Editor"),
    ("class", "TRS_UEDITOR"),
    ("class", "trs_editor_view"),
    ("id", "ivs_content"),
    ("id", "UCAP-CONTENT"),
    ("class", "pages_content"),
    ("class", "article-content"),
    ("class", "article_content"),
    ("id", "article_content"),
    ("class", "xxgk_content"),
    ("id", "zoomcon"),
    ("id", "fontzoom"),
    ("class", "zw-content"),
    ("class", "zw_content"),
    ("id", "zwnr"),
    ("class", "Custom_UnionStyle"),
    ("id", "js_content"),
    ("class", "detail-content"),
    ("class", "details-content"),
    ("class", "content_text"),
    ("id", "content_text"),
    ("class", "wzcon"),
    ("class", "bt_content"),
)

_PRIORITY = {entry: i for i, entry in enumerate(BODY_CONTAINERS)}


_CONTAINER_IDS = frozenset(value for kind, value in BODY_CONTAINERS if kind == "id")
_CONTAINER_CLASSES = frozenset(value for kind, value in BODY_CONTAINERS if kind == "class")
# Attribute nodes are cheap to collect (an element-predicate XPath over the whole tree costs
# ten times more); their parents are the elements. The union keeps document order.
_ID_CLASS_ATTRS = etree.XPath("//@id | //@class")
_MARKERS = etree.XPath("//meta[@name='ContentStart' or @name='ContentEnd']")


def _find_containers(tree: etree._Element) -> list[etree._Element]:
    """Known body containers in document order (each element once)."""
    found: list[etree._Element] = []
    seen: set[etree._Element] = set()
    for attr in _ID_CLASS_ATTRS(tree):
        if attr.attrname == "id":
            hit = attr.strip() in _CONTAINER_IDS
        else:
            hit = not _CONTAINER_CLASSES.isdisjoint(attr.split())
        if hit:
            el = attr.getparent()
            if el not in seen:
                seen.add(el)
                found.append(el)
    return found


_MIN_TEXT = 10  # characters of text a container needs unless it holds images/tables/links


def _container_priority(el: etree._Element) -> int | None:
    best = None
    element_id = el.get("id")
    if element_id is not None:
        best = _PRIORITY.get(("id", element_id))
    classes = el.get("class")
    if classes:
        for token in classes.split():
            p = _PRIORITY.get(("class", token))
            if p is not None and (best is None or p < best):
                best = p
    return best


def content_region(tree: etree._Element, markers: list[etree._Element] | None = None):
    """The Hanweb ``ContentStart``…``ContentEnd`` region as one element, or None.

    When the markers' parent holds nothing but the region, the parent itself is returned;
    otherwise a detached ``<div>`` with copies of the nodes between the markers.
    """
    pair = _marker_pair(tree, markers)
    if pair is None:
        return None
    start, end = pair
    if end is not None and end.getparent() is not start.getparent():
        ancestor = _common_ancestor(start, end)
        return None if ancestor.tag in ("body", "html") else ancestor
    parent = start.getparent()
    if parent is None:
        return None
    between: list[etree._Element] = []
    outside_text = (parent.text or "").strip()
    sibling = start.getnext()
    while sibling is not None and sibling is not end:
        between.append(sibling)
        sibling = sibling.getnext()
    after = []
    if end is not None:
        after.append(end.tail or "")
        sibling = end.getnext()
        while sibling is not None:
            after.append(_text_of(sibling))
            sibling = sibling.getnext()
    before = []
    sibling = start.getprevious()
    while sibling is not None:
        before.append(_text_of(sibling))
        sibling = sibling.getprevious()
    if not outside_text and not "".join(before).strip() and not "".join(after).strip():
        return parent
    region = lxml.html.Element("div")
    region.text = start.tail
    for node in between:
        region.append(copy.deepcopy(node))
    return region


def _marker_pair(tree: etree._Element, markers: list[etree._Element] | None = None):
    """``(ContentStart, ContentEnd or None)`` outside ``<head>``, preferring a pair that
    shares a parent (the normal Hanweb output); None without a start marker."""
    if markers is None:
        markers = _MARKERS(tree)
    markers = [m for m in markers if not _in_head(m)]
    starts = [m for m in markers if m.get("name") == "ContentStart"]
    ends = [m for m in markers if m.get("name") == "ContentEnd"]
    if not starts:
        return None
    for start in starts:
        parent = start.getparent()
        end = next((e for e in ends if e.getparent() is parent and _follows(e, start)), None)
        if end is not None:
            return start, end
    start = starts[0]
    return start, next((e for e in ends if _follows(e, start)), None)


def region_anchor(tree: etree._Element) -> etree._Element | None:
    """The in-tree element around the Hanweb region (where a detached copy came from)."""
    pair = _marker_pair(tree)
    return pair[0].getparent() if pair else None


def _in_head(el: etree._Element) -> bool:
    return any(ancestor.tag == "head" for ancestor in el.iterancestors())


def _text_of(el: etree._Element) -> str:
    if not isinstance(el.tag, str):
        return el.tail or ""
    if el.tag in SKIP_TAGS:
        return el.tail or ""
    return (el.text_content() or "") + (el.tail or "")


def _follows(later: etree._Element, earlier: etree._Element) -> bool:
    for node in earlier.itersiblings():
        if node is later:
            return True
    for node in earlier.iterdescendants():
        if node is later:
            return True
    # different branches: compare document order via the ancestor chains
    return _doc_index(later) > _doc_index(earlier)


def _doc_index(el: etree._Element) -> tuple[int, ...]:
    path = []
    current = el
    while current.getparent() is not None:
        parent = current.getparent()
        path.append(parent.index(current))
        current = parent
    return tuple(reversed(path))


def _common_ancestor(a: etree._Element, b: etree._Element) -> etree._Element:
    ancestors = set()
    current = a
    while current is not None:
        ancestors.add(current)
        current = current.getparent()
    current = b
    while current is not None:
        if current in ancestors:
            return current
        current = current.getparent()
    return a.getroottree().getroot()


def wide_chars(text: str) -> int:
    """Roughly how many CJK characters (and full-width punctuation) ``text`` holds.

    UTF-8 spends three bytes on each of them and one on ASCII, so the byte surplus halves to
    the count; far cheaper than a regex over every text node.
    """
    return (len(text.encode("utf-8", "surrogatepass")) - len(text)) >> 1


def _has_content(el: etree._Element) -> bool:
    """Enough text, or an image/table/embedded document/attachment link (图片版, PDF-only)."""
    text = el.text_content()
    if wide_chars(text) >= _MIN_TEXT or len(text.strip()) >= 3 * _MIN_TEXT:
        return True
    for node in el.iter("img", "table", "iframe", "embed", "object", "a"):
        if node.tag != "a" or is_attachment_url(node.get("href") or ""):
            return True
    return False


def body_element(tree: etree._Element, selector: str | None = None) -> etree._Element | None:
    """The element holding the article body; None only for a page without a ``<body>``.

    An explicit ``selector`` wins when it matches; otherwise Hanweb markers, then the known
    containers (first by priority, the one with most text among equals), then text density.
    """
    if selector:
        matches = select(tree, selector)
        if matches:
            if len(matches) == 1:
                return matches[0]
            return max(matches, key=lambda el: len(el.text_content()))

    markers = _MARKERS(tree)
    if markers:
        region = content_region(tree, markers)
        if region is not None and _has_content(region):
            return region

    by_priority: dict[int, list[etree._Element]] = {}
    for el in _find_containers(tree):
        priority = _container_priority(el)
        if priority is not None:
            by_priority.setdefault(priority, []).append(el)
    for priority in sorted(by_priority):
        candidates = [el for el in by_priority[priority] if _has_content(el)]
        if candidates:
            return max(candidates, key=lambda el: len(el.text_content()))

    dense = densest_block(tree)
    if dense is not None:
        return dense
    body = tree.find("body") if tree.tag == "html" else None
    return body if body is not None else tree


_NO_CREDIT = frozenset({"a", "button", "label", "select", "option", "nav", "header", "footer"})
_NO_CREDIT_ALL = _NO_CREDIT | SKIP_TAGS
_TEXT_NODES = etree.XPath("//body//text()")
_CONTAINER_TAGS = frozenset(
    {"div", "td", "th", "article", "section", "main", "body", "form", "center", "blockquote",
     "dd", "li", "table", "tbody"}
)
_SENTENCE_PUNCT = ("，", "。", "；", "、")


def densest_block(tree: etree._Element) -> etree._Element | None:
    """The element with the most non-link Chinese prose, readability style.

    Each text node's Chinese characters (plus a bonus for sentence punctuation) credit the
    nearest block fully and that block's parent by half, so a container of many paragraphs
    beats any single paragraph, and navigation (link text) scores nothing.
    """
    scores: dict[etree._Element, float] = {}
    # per owner element: (block, parent of block) or None when its text earns no credit
    placement: dict[etree._Element, tuple[etree._Element, etree._Element | None] | None] = {}
    for text in _TEXT_NODES(tree):
        if len(text) < 2 or text.isspace():
            continue
        count = wide_chars(text)
        if count < 2:
            continue
        owner = text.getparent()
        if text.is_tail:
            owner = owner.getparent()
            if owner is None:
                continue
        if owner in placement:
            where = placement[owner]
        else:
            where = placement[owner] = _placement(owner)
        if where is None:
            continue
        for mark in _SENTENCE_PUNCT:
            count += 2 * text.count(mark)
        block, parent = where
        scores[block] = scores.get(block, 0.0) + count
        if parent is not None:
            scores[parent] = scores.get(parent, 0.0) + count / 2
    if not scores:
        return None
    best = max(scores.items(), key=lambda item: item[1])[0]
    # A paragraph (or, with broken nesting like <p><span><p>…, an inline element) is not a
    # body container: the article is the nearest container around it.
    while best.tag not in _CONTAINER_TAGS and best.getparent() is not None:
        best = best.getparent()
    return best


def _placement(owner: etree._Element) -> tuple[etree._Element, etree._Element | None] | None:
    """(nearest block, its parent) for text owned by ``owner``; None if it earns no credit."""
    block = None
    current = owner
    while current is not None:
        tag = current.tag
        if tag in _NO_CREDIT_ALL or is_hidden(current):
            return None
        if block is None and tag in BLOCK_TAGS:
            block = current
        if tag == "body":
            break
        current = current.getparent()
    if block is None:
        return None
    return block, block.getparent()


def body_text(element: etree._Element | None) -> str:
    """The body as text (see :func:`crawler.extract._text.linearise`); "" for None."""
    if element is None:
        return ""
    return linearise(element)
