"""Everything the archive wants from one report/document detail page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from ._text import collapse_ws
from .attachments import attachment_anchors
from .body import body_element, body_text, region_anchor
from .dates import normalize_date
from .decode import DecodedHtml, decode_html
from .metadata import (
    head_meta,
    labelled_candidates,
    unlabelled_doc_no,
    valid_publisher,
    valid_values,
)
from .page import base_url_of, parse_html
from .tables import tables_from_element
from .years import report_year_from_title

__all__ = [
    "JSON_KEYS",
    "REQUIRED_FIELDS",
    "DetailFields",
    "extract_detail",
    "extract_detail_from_bytes",
    "strip_site_suffix",
    "visible_titles",
]

JSON_KEYS = (
    "title", "index_no", "publisher", "pub_date", "doc_no", "topic", "report_year",
    "body_text", "attachments", "tables",
)
# Reported in missing_fields when extraction could not find them.
REQUIRED_FIELDS = ("title", "index_no", "publisher", "pub_date", "report_year")


@dataclass
class DetailFields:
    """What a detail page shows; a field the page does not show is None."""

    title: str | None = None
    index_no: str | None = None
    publisher: str | None = None
    pub_date: str | None = None  # YYYY-MM-DD
    written_date: str | None = None  # 成文日期, YYYY-MM-DD
    doc_no: str | None = None
    topic: str | None = None
    report_year: int | None = None
    body_text: str = ""
    attachments: list[str] = field(default_factory=list)
    # Statistics tables (crawler.extract.tables); None when the report has none.
    tables: dict[str, Any] | None = None
    # The link text of each attachment URL (not printed by `nianbao extract`).
    attachment_titles: dict[str, str] = field(default_factory=dict)
    # The body shows images but (almost) no text: a scanned report (图片版).
    image_only: bool = False
    # An image-only body's images (absolute http(s) URLs, document order): the report's pages,
    # which the crawl fetches and reads by OCR. Empty when the body has text.
    images: list[str] = field(default_factory=list)
    missing_fields: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        """Exactly the keys of :data:`JSON_KEYS` (missing values → None)."""
        return {key: getattr(self, key) for key in JSON_KEYS}


# ---------------------------------------------------------------------------- titles

# Separators between an article title and the column/site names in <title>.
_TITLE_SEP_RE = re.compile(r"\s*(?:_+|\|+|｜+|\s[-–—]+\s|——|--)\s*")
_TRAILING_SUFFIX_RE = re.compile(r"^(.+?)\s*(?:[-_|｜–—]+)\s*([^-_|｜–—]{1,30})$")
_TITLE_CLASS_RE = re.compile(r"(?:^|[\s_-])(?:article[_-]?)?(?:title|tit|bt)(?:$|[\s_-])", re.I)
_MAX_TITLE = 300


def strip_site_suffix(text: str | None) -> str:
    """``标题_栏目_网站`` / ``标题 - 网站`` / ``标题|网站`` → ``标题``."""
    text = collapse_ws(text)
    if not text:
        return ""
    parts = [p for p in _TITLE_SEP_RE.split(text) if p]
    if parts and len(parts[0]) >= 4:
        return parts[0]
    return text


def visible_titles(tree: etree._Element, site_name: str | None = None) -> list[str]:
    """Title candidates a reader sees, best first: headings that the ``<title>`` confirms,
    headings naming a report, the ``<title>`` without its site suffix, other headings.
    ``site_name`` (the SiteName meta) is never a title unless nothing else is there."""
    title_el = None
    head = tree.find("head") if tree.tag == "html" else None
    if head is not None:
        title_el = head.find("title")
    if title_el is None:
        title_el = next(tree.iter("title"), None)
    raw_title = collapse_ws(title_el.text_content()) if title_el is not None else ""
    stripped = strip_site_suffix(raw_title)

    headings: list[str] = []
    body = tree.find("body") if tree.tag == "html" else tree
    if body is None:
        body = tree
    for el in body.iter("h1", "h2", "h3", "div", "td", "p", "span", "strong"):
        if el.tag not in ("h1", "h2", "h3"):
            classes = el.get("class")
            if not classes or not _TITLE_CLASS_RE.search(classes):
                continue
        text = collapse_ws(el.text_content())
        if 4 <= len(text) <= _MAX_TITLE and text not in headings:
            headings.append(text)

    # A <title> without separators may be just the site name; then it confirms nothing.
    confirming = bool(raw_title) and stripped != raw_title and stripped != site_name
    ordered: list[str] = []
    if confirming:
        for text in headings:
            if text == stripped or (len(text) >= 6 and text in raw_title):
                ordered.append(text)
    # A heading that names a report beats a <title> that may only name the site.
    for text in headings:
        if text not in ordered and text != site_name and report_year_from_title(text) is not None:
            ordered.append(text)
    if stripped and stripped not in ordered and stripped != site_name:
        ordered.append(stripped)
    for text in headings:
        if text not in ordered and len(text) >= 6 and text != site_name:
            ordered.append(text)
    if not ordered and stripped:
        ordered.append(stripped)
    return ordered


def _choose_title(candidates: list[str]) -> str | None:
    """The first candidate, minus a ``-站点`` style suffix another candidate confirms."""
    candidates = [c for c in (collapse_ws(c) for c in candidates) if c]
    if not candidates:
        return None
    chosen = candidates[0]
    others = set(candidates[1:])
    for _ in range(3):
        match = _TRAILING_SUFFIX_RE.match(chosen)
        if not match:
            break
        prefix = match.group(1).strip()
        if prefix in others:
            chosen = prefix
        else:
            break
    return chosen


# ---------------------------------------------------------------------------- extraction

# Fewer visible characters than this (once attachment link texts are set aside) is no text.
MIN_TEXT_CHARS = 100


def own_text_chars(text: str, link_texts: list[str]) -> int:
    """Visible characters of ``text`` that are not attachment link texts or 附件 labels."""
    for link_text in link_texts:
        if link_text:
            text = text.replace(link_text, "")
    return len(re.sub(r"\s+|附件[:：]?", "", text))


def is_image_only(body: etree._Element | None, text: str, link_texts: list[str]) -> bool:
    """A body that shows images and (almost) no text of its own: a scanned report."""
    if body is None or own_text_chars(text, link_texts) >= MIN_TEXT_CHARS:
        return False
    return any(True for _ in body.iter("img"))


# At most this many images of an image-only body are fetched and read by OCR.
MAX_BODY_IMAGES = 40


def body_images(body: etree._Element | None, base_url: str) -> list[str]:
    """The absolute URLs of the body's ``<img>`` (``src`` or a lazy loader's ``data-src``)."""
    urls: list[str] = []
    for img in body.iter("img") if body is not None else ():
        src = (img.get("src") or img.get("data-src") or img.get("data-original") or "").strip()
        if not src or src.startswith("data:"):
            continue
        url = urljoin(base_url, src)
        if urlsplit(url).scheme in ("http", "https") and url not in urls:
            urls.append(url)
    return urls[:MAX_BODY_IMAGES]


def _meta_get(meta: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = meta.get(name)
        if value:
            return value
    return None


def extract_detail(
    tree: etree._Element,
    url: str,
    selectors: Mapping[str, str] | None = None,
) -> DetailFields:
    """Fields of a parsed detail page.

    Sources, in order of trust: labelled metadata on the page, then head ``<meta>``
    (ArticleTitle, PubDate, ContentSource), then the visible title (``h1``, ``.title``,
    ``<title>`` without its site suffix). The report year comes from the title.
    ``selectors`` may name a ``body`` and a ``metadata`` CSS selector for odd sites.
    """
    selectors = selectors or {}
    body = body_element(tree, selectors.get("body"))
    anchor = body
    if body is not None and body.getparent() is None and body is not tree:
        # a detached copy of the Hanweb region: anchor searches at the marker's parent
        anchor = region_anchor(tree)
    exclude = anchor
    if exclude is not None and exclude.tag in ("body", "html"):
        exclude = None

    items = labelled_candidates(tree, selectors.get("metadata"), exclude=exclude)
    meta = head_meta(tree)

    def labelled(name: str) -> str | None:
        values = valid_values(items, name)
        return values[0] if values else None

    title_candidates = valid_values(items, "title")
    article_title = _meta_get(meta, "ArticleTitle")
    if article_title:
        title_candidates.append(article_title)
    if not title_candidates or _TRAILING_SUFFIX_RE.match(title_candidates[0]):
        # needed as the title itself, or to confirm that "-站点" is a suffix
        title_candidates.extend(visible_titles(tree, _meta_get(meta, "SiteName")))
    title = _choose_title(title_candidates)

    pub_date = labelled("pub_date") or normalize_date(
        _meta_get(meta, "PubDate", "firstpublishedtime", "publishdate") or ""
    )
    publisher = labelled("publisher") or valid_publisher(_meta_get(meta, "ContentSource"))

    base = base_url_of(tree, url)
    text = body_text(body)
    report_year = report_year_from_title(title) if title else None
    anchors = attachment_anchors(body, base, anchor=anchor) if body is not None else []
    fields = DetailFields(
        title=title,
        index_no=labelled("index_no"),
        publisher=publisher,
        pub_date=pub_date,
        written_date=labelled("written_date"),
        doc_no=labelled("doc_no") or unlabelled_doc_no(tree, anchor),
        topic=labelled("topic"),
        report_year=report_year,
        body_text=text,
        attachments=[url for url, _ in anchors],
        tables=tables_from_element(body, text, report_year),
        attachment_titles={url: link_text for url, link_text in anchors},
        image_only=is_image_only(body, text, [link_text for _, link_text in anchors]),
    )
    if fields.image_only:
        fields.images = body_images(body, base)
    fields.missing_fields = [name for name in REQUIRED_FIELDS if getattr(fields, name) is None]
    return fields


def extract_detail_from_bytes(
    raw: bytes,
    url: str,
    content_type: str | None = None,
    forced_encoding: str | None = None,
    selectors: Mapping[str, str] | None = None,
) -> tuple[DetailFields, DecodedHtml]:
    """Decode, parse once and extract: the spider's one call per detail page."""
    decoded = decode_html(raw, content_type=content_type, forced_encoding=forced_encoding)
    tree = parse_html(decoded.text, base_url=url)
    return extract_detail(tree, url, selectors), decoded
