"""Parse a page once with lxml; every other helper works on the shared tree."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import lxml.html
from lxml import etree

__all__ = ["base_url_of", "empty_document", "parse_html"]

_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
# The text is handed to libxml2 as UTF-8 bytes: as fast as str input, and libxml2 then
# replaces NULs and other bytes it cannot use instead of refusing the whole string.
_PARSER = etree.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8")
# Every element is an ``lxml.html.HtmlElement`` (text_content, cssselect …), looked up in C:
# lxml.html's own per-tag lookup runs Python code for every element proxy and costs ~10 %.
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)


def empty_document(base_url: str | None = None) -> lxml.html.HtmlElement:
    """``<html><head/><body/></html>``."""
    return lxml.html.document_fromstring(
        "<html><head></head><body></body></html>", parser=_PARSER, base_url=base_url
    )


def parse_html(text: str | bytes | None, base_url: str | None = None) -> lxml.html.HtmlElement:
    """The page's ``<html>`` element; never raises on broken, empty or odd input.

    A leading XML declaration (which lxml refuses in str input) is dropped, NULs and other
    unusable characters are replaced. The result always has a ``<body>`` (possibly empty).
    """
    if text is None:
        return empty_document(base_url)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    if text.lstrip()[:5].lower() == "<?xml":
        text = _XML_DECL_RE.sub("", text, count=1)
    if not text.strip():
        return empty_document(base_url)
    data = text.encode("utf-8", "replace")
    try:
        root = lxml.html.document_fromstring(data, parser=_PARSER, base_url=base_url)
    except (etree.ParserError, ValueError, etree.XMLSyntaxError):
        try:
            root = lxml.html.document_fromstring(
                b"<html><body>" + data + b"</body></html>", parser=_PARSER, base_url=base_url
            )
        except (etree.ParserError, ValueError, etree.XMLSyntaxError):
            return empty_document(base_url)
    if root is None:
        return empty_document(base_url)
    if root.tag != "html":  # lxml returns the single element for some fragments
        wrapper = empty_document(base_url)
        wrapper.body.append(root)
        return wrapper
    body = root.find("body")
    if body is None:
        body = etree.SubElement(root, "body")
    _merge_stray_roots(root, body)
    return root


def _merge_stray_roots(root: lxml.html.HtmlElement, body: lxml.html.HtmlElement) -> None:
    """Fold extra top-level ``<html>`` elements into the first one's body.

    An included template that carries its own ``</html>`` makes libxml2 start a second
    document element; everything after it (often the whole article) would be unreachable
    from the first root. Top-level siblings cannot be removed in lxml, so they are emptied.
    """
    head = root.find("head")
    sibling = root.getnext()
    while sibling is not None:
        following = sibling.getnext()
        if isinstance(sibling.tag, str):
            if sibling.text and sibling.text.strip():
                _append_text(body, sibling.text)
            for child in list(sibling):
                if child.tag in ("head", "body"):
                    target = head if child.tag == "head" and head is not None else body
                    if child.text and child.text.strip() and target is body:
                        _append_text(body, child.text)
                    for grandchild in list(child):
                        target.append(grandchild)
                    if child.tail and child.tail.strip():
                        _append_text(body, child.tail)
                else:
                    body.append(child)
            sibling.clear()
        sibling = following


def _append_text(parent: lxml.html.HtmlElement, text: str) -> None:
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def base_url_of(tree: lxml.html.HtmlElement, fallback: str | None) -> str:
    """The URL relative links resolve against: ``<base href>`` joined to ``fallback``."""
    fallback = fallback or ""
    for base in tree.iter("base"):
        href = (base.get("href") or "").strip()
        if href and not href.lower().startswith(("javascript:", "data:")):
            return urljoin(fallback, href)
        break
    if not fallback:
        docinfo_url = tree.getroottree().docinfo.URL
        if docinfo_url:
            return docinfo_url
    return fallback
