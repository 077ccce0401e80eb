"""Links to attached documents (pdf, doc, xls, ofd, zip …), as absolute URLs."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urljoin, urlsplit

from lxml import etree

__all__ = ["ATTACHMENT_EXTENSIONS", "attachment_anchors", "attachment_links", "is_attachment_url"]

ATTACHMENT_EXTENSIONS = frozenset(
    {"pdf", "doc", "docx", "wps", "xls", "xlsx", "et", "ofd", "zip", "rar"}
)
_EXT_RE = re.compile(r"\.([A-Za-z0-9]{2,5})$")
# Download endpoints name the file in the query: downfile.jsp?filename=XXX.pdf
_FILE_PARAMS = frozenset({"filename", "file", "filepath", "path", "name", "fn"})
_IGNORED_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "about:", "#")
# How far above the body element to look when the body itself links no attachment.
_MAX_CLIMB = 4


def _extension(path: str) -> str | None:
    match = _EXT_RE.search(path)
    return match.group(1).lower() if match else None


def is_attachment_url(href: str) -> bool:
    """True when the link's path (query and fragment ignored) ends in an attachment extension,
    or a download endpoint names such a file in its query."""
    try:
        parts = urlsplit(href.strip())
    except ValueError:
        return False
    if _extension(parts.path) in ATTACHMENT_EXTENSIONS:
        return True
    if parts.query:
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            if key.lower() in _FILE_PARAMS and _extension(urlsplit(value).path) in ATTACHMENT_EXTENSIONS:
                return True
    return False


def _links_in(scope: etree._Element, base_url: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for anchor in scope.iter("a", "area"):
        href = anchor.get("href")
        if not href:
            continue
        href = "".join(href.split())  # hrefs wrapped over several source lines
        if not href or href.lower().startswith(_IGNORED_SCHEMES):
            continue
        if not is_attachment_url(href):
            continue
        url = urljoin(base_url, href) if base_url else href
        url = url.split("#", 1)[0]
        if url not in seen:
            seen.add(url)
            text = " ".join("".join(anchor.itertext()).split()) or (anchor.get("title") or "").strip()
            found.append((url, text))
    return found


def attachment_links(
    scope: etree._Element | None,
    base_url: str,
    *,
    anchor: etree._Element | None = None,
) -> list[str]:
    """Absolute, de-duplicated attachment URLs in document order (see :func:`attachment_anchors`)."""
    return [url for url, _ in attachment_anchors(scope, base_url, anchor=anchor)]


def attachment_anchors(
    scope: etree._Element | None,
    base_url: str,
    *,
    anchor: etree._Element | None = None,
) -> list[tuple[str, str]]:
    """``(absolute URL, link text)`` of each attachment link, de-duplicated, in document order.

    ``scope`` is normally the body element; when it links nothing, the search widens to its
    surroundings (up to a few ancestors, not the whole page) because many sites list
    附件 under the body. ``anchor`` is where to start widening when ``scope`` is a detached
    copy (the Hanweb content region).
    """
    if scope is None:
        return []
    found = _links_in(scope, base_url)
    if found:
        return found
    current = scope
    if anchor is not None and anchor is not scope:
        current = anchor
        found = _links_in(anchor, base_url)
        if found:
            return found
    for _ in range(_MAX_CLIMB):
        parent = current.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        current = parent
        found = _links_in(current, base_url)
        if found:
            return found
    return []
