"""A minimal PDF writer for the demo's report attachments, with extractable Chinese text.

The text is set in the predefined CJK font ``STSong-Light`` (character collection Adobe-GB1,
which every PDF viewer must know) through a Type0 font with the predefined CMap
``UniGB-UCS2-H``: a string's bytes are UCS-2 big-endian code units, which that CMap maps to
Adobe-GB1 CIDs. The font is not embedded. A ``/ToUnicode`` CMap maps every code used back to
Unicode, so text extractors (pypdf, pdfminer, pdftotext) recover the Chinese text without
needing CMap resources of their own.

Only BMP characters are supported (the demo text is plain GB2312/GBK Chinese and ASCII).
The layout is deliberately simple: A4 pages, one font size, lines wrapped by width (printable
ASCII half an em, everything else one em), paragraphs separated by a blank half line. A
:class:`TextBox` paragraph is wrapped at its own narrow width instead, as text in a table cell,
one column of a two-column layout or a sidebar is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PAGE_WIDTH = 595
PAGE_HEIGHT = 842
MARGIN = 64
FONT_SIZE = 11
TITLE_SIZE = 16
LEADING = 1.6  # × font size
BOX_INDENT = 2.0  # ems: a text box starts this far right of the margin


@dataclass(frozen=True)
class TextBox:
    """A paragraph set in a narrow box (a table cell, one column of a two-column layout, a
    sidebar): wrapped at ``width`` ems, without a first-line indent, so that its lines end at the
    box's right edge, far short of the page's right margin."""

    text: str
    width: float  # ems


def make_pdf(title: str, paragraphs: Sequence[str | TextBox]) -> bytes:
    """A valid PDF: ``title`` centred on the first page, then ``paragraphs`` wrapped on A4 pages."""
    pages = _layout(title, paragraphs)
    texts = [p.text if isinstance(p, TextBox) else p for p in paragraphs]
    used = sorted({ord(ch) for ch in title + "".join(texts) if ch not in "\r\n"} | {0x20})
    for code in used:
        if code > 0xFFFF:
            raise ValueError(f"character U+{code:X} is outside the BMP")

    objects: list[bytes] = []  # objects[i] is object number i + 1

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in once the page tree exists
    pages_obj = add(b"")
    tounicode = add(_stream(_tounicode_cmap(used)))
    descendant = add(
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >>"
        b" /FontDescriptor " + _ref(add(_font_descriptor())) + b" /DW 1000 /W [1 95 500] >>"
    )
    font = add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light-UniGB-UCS2-H"
        b" /Encoding /UniGB-UCS2-H /DescendantFonts [" + _ref(descendant) + b"]"
        b" /ToUnicode " + _ref(tounicode) + b" >>"
    )
    page_ids = []
    for content in pages:
        stream_id = add(_stream(content))
        page_ids.append(
            add(
                b"<< /Type /Page /Parent " + _ref(pages_obj)
                + f" /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}]".encode()
                + b" /Resources << /Font << /F1 " + _ref(font) + b" >> >>"
                + b" /Contents " + _ref(stream_id) + b" >>"
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages " + _ref(pages_obj) + b" >>"
    objects[pages_obj - 1] = (
        b"<< /Type /Pages /Kids [" + b" ".join(_ref(p) for p in page_ids) + b"]"
        + f" /Count {len(page_ids)} >>".encode()
    )
    info = add(
        b"<< /Title " + _text_string(title) + b" /Producer (nianbao demo)"
        b" /CreationDate (D:20240101000000+08'00') >>"
    )

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R /Info {info} 0 R >>\n"
        f"startxref\n{xref_at}\n%%EOF\n"
    ).encode()
    return bytes(out)


def _ref(number: int) -> bytes:
    return f"{number} 0 R".encode()


def _stream(data: bytes) -> bytes:
    return f"<< /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream"


def _hex(text: str) -> bytes:
    return b"<" + text.encode("utf-16-be").hex().upper().encode() + b">"


def _text_string(text: str) -> bytes:
    """A PDF text string in UTF-16BE with BOM (for the document info dictionary)."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def _font_descriptor() -> bytes:
    return (
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6"
        b" /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120"
        b" /CapHeight 880 /StemV 93 >>"
    )


def _tounicode_cmap(codes: list[int]) -> bytes:
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<0000> <FFFF>",
        "endcodespacerange",
    ]
    for start in range(0, len(codes), 100):
        chunk = codes[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines.extend(f"<{c:04X}> <{c:04X}>" for c in chunk)
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")


def _width(ch: str) -> float:
    """Advance in ems, as the font dictionary declares it: UniGB-UCS2-H maps printable ASCII to
    CIDs 1–95, given half width (``/W [1 95 500]``); every other CID is ``/DW 1000``."""
    return 0.5 if 0x20 <= ord(ch) <= 0x7E else 1.0


def _wrap(text: str, size: float, indent: float = 0.0, limit: float | None = None) -> list[str]:
    """``text`` in lines of at most ``limit`` ems (default: the page's width between margins)."""
    if limit is None:
        limit = (PAGE_WIDTH - 2 * MARGIN) / size
    lines, current, used = [], "", indent
    for ch in text:
        w = _width(ch)
        if used + w > limit and current:
            lines.append(current)
            current, used = "", 0.0
        current += ch
        used += w
    if current or not lines:
        lines.append(current)
    return lines


def _layout(title: str, paragraphs: Sequence[str | TextBox]) -> list[bytes]:
    """Content streams, one per page."""
    pages: list[list[bytes]] = [[]]
    y: float = PAGE_HEIGHT - MARGIN

    def emit(x: float, size: float, line: str) -> None:
        nonlocal y
        if y < MARGIN:
            pages.append([])
            y = PAGE_HEIGHT - MARGIN
        pages[-1].append(
            f"BT /F1 {size:g} Tf 1 0 0 1 {x:.2f} {y:.2f} Tm ".encode() + _hex(line) + b" Tj ET"
        )
        y -= size * LEADING

    for line in _wrap(title, TITLE_SIZE):
        width = sum(_width(ch) for ch in line) * TITLE_SIZE
        emit(max(MARGIN, (PAGE_WIDTH - width) / 2), TITLE_SIZE, line)
    y -= FONT_SIZE
    for paragraph in paragraphs:
        if isinstance(paragraph, TextBox):
            for line in _wrap(" ".join(paragraph.text.split("\n")).strip(), FONT_SIZE, limit=paragraph.width):
                emit(MARGIN + BOX_INDENT * FONT_SIZE, FONT_SIZE, line)
            y -= FONT_SIZE * 0.4
            continue
        text = " ".join(paragraph.split("\n")).strip()
        if not text:
            continue
        indent = 2.0
        for i, line in enumerate(_wrap(text, FONT_SIZE, indent)):
            emit(MARGIN + (indent * FONT_SIZE if i == 0 else 0), FONT_SIZE, line)
        y -= FONT_SIZE * 0.4
    return [b"\n".join(ops) for ops in pages]
