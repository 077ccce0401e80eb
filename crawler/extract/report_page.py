"""A report page read in one call: the spider's whole extraction, plain values in and out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crawler.extract.decode import undecodable_reason
from crawler.extract.detail import DetailFields, extract_detail_from_bytes
from storage.sectioning import sections_json


@dataclass(frozen=True)
class ReportPage:
    """What a report page holds, or why it holds no report.

    ``failure`` is the reason to record when the page is not a report at all (bytes that decode
    to noise, or no title and no body); ``sections`` is the body split into the report's parts
    (None when the page failed).
    """

    fields: DetailFields
    encoding: str
    failure: str | None
    sections: list[dict[str, Any]] | None


def read_report_page(
    raw: bytes,
    url: str,
    content_type: str | None = None,
    forced_encoding: str | None = None,
    selectors: Mapping[str, str] | None = None,
) -> ReportPage:
    """Decode, extract and section one report page (arguments as for
    :func:`~crawler.extract.detail.extract_detail_from_bytes`)."""
    fields, decoded = extract_detail_from_bytes(raw, url, content_type, forced_encoding, selectors)
    # Random or binary bytes served as a page decode to noise, not to a report to archive.
    failure = undecodable_reason(decoded)
    if failure is None and not fields.body_text and not fields.title:
        failure = "no report content found on the page"
    sections = sections_json(fields.body_text) if failure is None else None
    return ReportPage(fields=fields, encoding=decoded.encoding, failure=failure, sections=sections)
