"""Extraction: pure functions from a fetched page to plain values.

Parse once (:func:`parse_html`), then share the lxml tree across the helpers::

    decoded = decode_html(raw, content_type)
    tree = parse_html(decoded.text, base_url=url)
    fields = extract_detail(tree, url)

or in one call: ``fields, decoded = extract_detail_from_bytes(raw, url, content_type)``.
"""

from .attachments import attachment_links, is_attachment_url
from .body import body_element, body_text
from .dates import normalize_date
from .decode import DecodedHtml, decode_html
from .detail import DetailFields, extract_detail, extract_detail_from_bytes, strip_site_suffix
from .metadata import FIELDS, head_meta, labelled_fields, normalize_label
from .page import base_url_of, parse_html
from .years import report_year_from_title

__all__ = [
    "FIELDS",
    "DecodedHtml",
    "DetailFields",
    "attachment_links",
    "base_url_of",
    "body_element",
    "body_text",
    "decode_html",
    "extract_detail",
    "extract_detail_from_bytes",
    "head_meta",
    "is_attachment_url",
    "labelled_fields",
    "normalize_date",
    "normalize_label",
    "parse_html",
    "report_year_from_title",
    "strip_site_suffix",
]
