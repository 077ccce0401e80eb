"""Turn fetched bytes into text: forced → HTTP header → BOM → <meta> → detection → UTF-8.

Chinese government sites still serve GBK/GB2312 pages, sometimes with no charset or a wrong
one. GB2312 and GBK are subsets of GB18030, so every GB-family label decodes as GB18030 (a page
labelled GB2312 routinely uses GBK-only characters). A declared charset that produces decode
errors loses to another candidate that decodes cleanly; only when nothing decodes cleanly do
we fall back to replacement characters, and then ``had_replacements`` says so.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["DecodedHtml", "decode_html", "normalize_encoding_name", "undecodable_reason"]

_META_SNIFF_BYTES = 4096
# A page with more replacement characters than this share of its visible characters is not text
# in any charset (random or binary bytes served as HTML); a few bad bytes in a real page are
# far below it and keep the page.
MAX_UNDECODABLE_SHARE = 0.05

_GB_FAMILY = {
    "gb2312",
    "gbk",
    "x-gbk",
    "gb_2312",
    "gb_2312-80",
    "gb2312-80",
    "gb18030",
    "cp936",
    "ms936",
    "windows-936",
    "euc-cn",
    "euccn",
    "x-euc-cn",
    "csgb2312",
    "chinese",
    "iso-ir-58",
}
_UTF8_ALIASES = {"utf8", "utf-8", "unicode-1-1-utf-8", "x-unicode20utf8", "unicode"}
# Single-byte "western" labels that decode any byte string without error: a Chinese page
# mislabelled with one of them must not come out as mojibake.
_SINGLE_BYTE_WESTERN = {"latin-1", "iso8859-1", "cp1252", "ascii"}

_HEADER_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.I)
_META_TAG_RE = re.compile(rb"<meta\b[^>]*>", re.I)
_META_CHARSET_RE = re.compile(rb"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.I)
_XML_DECL_RE = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9_.:\-]+)", re.I)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@dataclass
class DecodedHtml:
    """Decoded page text, the encoding used, and whether U+FFFD had to be substituted."""

    text: str
    encoding: str
    had_replacements: bool


def normalize_encoding_name(name: str | bytes | None) -> str | None:
    """A Python codec name for a charset label, GB-family folded to ``gb18030``; None if unknown."""
    if name is None:
        return None
    if isinstance(name, bytes):
        name = name.decode("ascii", "ignore")
    label = name.strip().strip("\"'").lower()
    if not label:
        return None
    if label in _GB_FAMILY:
        return "gb18030"
    if label in _UTF8_ALIASES:
        return "utf-8"
    try:
        canonical = codecs.lookup(label).name
    except LookupError:
        return None
    if canonical in {"gbk", "gb2312", "gb18030"}:
        return "gb18030"
    if canonical == "utf-8":
        return "utf-8"
    return canonical


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET_RE.search(content_type)
    return normalize_encoding_name(match.group(1)) if match else None


def _bom_encoding(raw: bytes) -> tuple[str | None, int]:
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return encoding, len(bom)
    return None, 0


def _meta_charset(raw: bytes) -> str | None:
    """``<meta charset>`` or ``<meta http-equiv content="…; charset=…">``, else an XML
    declaration's encoding."""
    head = raw[:_META_SNIFF_BYTES]
    for tag in _META_TAG_RE.finditer(head):
        match = _META_CHARSET_RE.search(tag.group(0))
        if match:
            encoding = normalize_encoding_name(match.group(1))
            if encoding:
                # A page that claims UTF-16 in ASCII-compatible bytes is not UTF-16.
                return "utf-8" if encoding.startswith("utf-16") else encoding
    match = _XML_DECL_RE.match(head)
    if match:
        return normalize_encoding_name(match.group(1))
    return None


def _strict(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _has_high_bytes(raw: bytes) -> bool:
    return not raw.isascii()


def _detected_encodings(raw: bytes) -> list[str]:
    """Guesses from bs4's detector (charset-normalizer/chardet when installed)."""
    guesses: list[str] = []
    from bs4.dammit import EncodingDetector

    try:
        detector = EncodingDetector(raw, is_html=True)
        for encoding in detector.encodings:
            normalized = normalize_encoding_name(encoding)
            if normalized and normalized not in guesses:
                guesses.append(normalized)
    except Exception:
        pass
    return guesses


def decode_html(
    raw: bytes,
    content_type: str | None = None,
    forced_encoding: str | None = None,
) -> DecodedHtml:
    """Decode a fetched page; see the module docstring for the order of evidence."""
    if raw is None:
        raw = b""
    if isinstance(raw, str):  # tolerate already-decoded input
        return DecodedHtml(raw, "utf-8", False)

    forced = normalize_encoding_name(forced_encoding)
    if forced:
        text = _strict(raw, forced)
        if text is not None:
            return DecodedHtml(_drop_bom(text), forced, False)
        return DecodedHtml(_drop_bom(raw.decode(forced, "replace")), forced, True)

    bom_encoding, bom_len = _bom_encoding(raw)
    declared: list[str] = []
    header = _header_charset(content_type)
    if header:
        declared.append(header)
    if bom_encoding:
        declared.append(bom_encoding)
    meta = _meta_charset(raw)
    if meta:
        declared.append(meta)

    if not _has_high_bytes(raw) and not (bom_encoding and bom_encoding.startswith("utf-")):
        # Pure ASCII: every ASCII-compatible declaration gives the same text.
        first = declared[0] if declared else "utf-8"
        if first.startswith(("utf-16", "utf-32")):
            first = "utf-8"
        return DecodedHtml(raw.decode("ascii"), first, False)

    candidates: list[str] = []
    for encoding in declared:
        if encoding not in candidates:
            candidates.append(encoding)

    primary = candidates[0] if candidates else None
    # A page that is valid UTF-8 with multi-byte sequences is UTF-8 whatever its label says:
    # GBK text practically never forms valid UTF-8, while UTF-8 text often "decodes" as GB18030
    # or any single-byte charset without an error (as mojibake).
    utf8_text = _strict(raw[bom_len:] if bom_encoding == "utf-8" else raw, "utf-8")
    if utf8_text is not None and not (primary or "").startswith(("utf-16", "utf-32")):
        return DecodedHtml(utf8_text, "utf-8", False)

    for encoding in candidates:
        if encoding in _SINGLE_BYTE_WESTERN:
            continue  # decodes anything; only trusted after the multi-byte candidates below
        text = _strict(raw, encoding)
        if text is not None:
            return DecodedHtml(_drop_bom(text), encoding, False)

    fallbacks = ["utf-8", "gb18030"]
    for encoding in _detected_encodings(raw):
        if encoding not in fallbacks and _is_multibyte(encoding):
            fallbacks.append(encoding)
    for encoding in fallbacks:
        if encoding in candidates and encoding not in _SINGLE_BYTE_WESTERN:
            continue  # already tried
        text = _strict(raw, encoding)
        if text is not None:
            return DecodedHtml(_drop_bom(text), encoding, False)

    for encoding in candidates:
        if encoding in _SINGLE_BYTE_WESTERN:
            text = _strict(raw, encoding)
            if text is not None:
                return DecodedHtml(text, encoding, False)

    # Nothing decodes cleanly: the candidate needing the fewest replacement characters.
    lossy = [e for e in candidates if e not in _SINGLE_BYTE_WESTERN]
    lossy += [e for e in ("utf-8", "gb18030") if e not in lossy]
    best_text, best_encoding, best_count = "", lossy[0], None
    for encoding in lossy:
        text = raw.decode(encoding, "replace")
        count = text.count("\ufffd")
        if best_count is None or count < best_count:
            best_text, best_encoding, best_count = text, encoding, count
    return DecodedHtml(_drop_bom(best_text), best_encoding, True)


def undecodable_reason(decoded: DecodedHtml) -> str | None:
    """Why a decoded page is not text at all (the recorded reason), or None when it is text."""
    if not decoded.had_replacements:
        return None
    visible = sum(1 for ch in decoded.text if not ch.isspace())
    share = decoded.text.count("\ufffd") / max(visible, 1)
    if share <= MAX_UNDECODABLE_SHARE:
        return None
    return f"undecodable page: {share:.0%} of its characters are invalid in every charset tried"


def _is_multibyte(encoding: str) -> bool:
    """Detector guesses worth trusting: multi-byte codecs reject most wrong inputs."""
    return encoding.startswith(
        ("utf-", "big5", "gb", "shift_jis", "euc", "cp949", "cp950", "iso2022")
    )


def _drop_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text
