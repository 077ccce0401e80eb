"""Text from each attachment kind. Run these only inside :mod:`.sandbox`'s child process.

Every reader takes the file's path and returns ``(text, image_only)``. Tables come out one row
per line with cells separated by tabs, which is what
:func:`crawler.extract.tables.tables_from_text` reads. Hostile input is expected: ZIP packages are
checked for bombs before anything is decompressed, XML is parsed without entities or network.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path

from lxml import etree

from .layout import Glyph, join_wrapped_lines, lay_out_page
from .sniff import DOC, DOCX, OFD, PDF, WPS, XLS, XLSX

__all__ = ["READERS", "UnreadableError", "ZipBombError", "check_zip", "read_file"]

# A ZIP package whose members would expand beyond these is refused before decompression.
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ZIP_RATIO = 200  # uncompressed / compressed, per member (text XML rarely exceeds ~20)
MAX_ZIP_MEMBERS = 5000
# Fewer visible characters than this in a whole PDF with pages: a scan (no text layer).
MIN_TEXT_CHARS = 20
_TOOL_TIMEOUT = 60


class UnreadableError(Exception):
    """The file is corrupt or not what its type says; the message is the recorded reason."""


class ZipBombError(UnreadableError):
    """A ZIP package that would expand far beyond its size."""


def check_zip(path: Path) -> zipfile.ZipFile:
    """Open a ZIP package after checking its declared sizes (zipfile never reads past them)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableError(f"corrupt ZIP package: {exc}") from None
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise ZipBombError(f"zip bomb suspected: {len(members)} members")
    total = sum(m.file_size for m in members)
    if total > MAX_UNZIPPED_BYTES:
        raise ZipBombError(f"zip bomb suspected: would expand to {total} bytes")
    for member in members:
        if member.file_size > 1024 * 1024 and member.file_size > MAX_ZIP_RATIO * max(member.compress_size, 1):
            raise ZipBombError(
                f"zip bomb suspected: {member.filename} expands {member.file_size // max(member.compress_size, 1)}×"
            )
    return archive


def _visible(text: str) -> int:
    return len(re.sub(r"\s+", "", text))


def read_pdf(path: Path) -> tuple[str, bool]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path, strict=False)
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise UnreadableError(f"corrupt PDF: {type(exc).__name__}: {exc}"[:300]) from None
    # The text layer keeps the page's line wraps: join them (pages separated by form feeds).
    text = join_wrapped_lines("\f".join(pages)).strip()
    return text, bool(pages) and _visible(text) < MIN_TEXT_CHARS


def _docx_cells(row) -> list[str]:
    cells: list[str] = []
    previous = None
    for cell in row.cells:  # a merged cell is repeated for every grid column it spans
        if cell._tc is previous:
            continue
        previous = cell._tc
        cells.append(re.sub(r"\s+", "", cell.text) or "")
    return cells


def read_docx(path: Path) -> tuple[str, bool]:
    check_zip(path).close()
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises a variety of errors on broken packages
        raise UnreadableError(f"corrupt DOCX: {type(exc).__name__}: {exc}"[:300]) from None
    lines: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = etree.QName(child).localname
        if tag == "p":
            lines.append(Paragraph(child, document).text)
        elif tag == "tbl":
            for row in Table(child, document).rows:
                lines.append("\t".join(_docx_cells(row)))
    text = "\n".join(lines).strip()
    has_images = bool(document.inline_shapes)
    return text, has_images and _visible(text) < MIN_TEXT_CHARS


def read_xlsx(path: Path) -> tuple[str, bool]:
    check_zip(path).close()
    import openpyxl

    lines: list[str] = []
    # A file object: openpyxl refuses paths without an .xlsx extension (ours are digests).
    with path.open("rb") as handle:
        try:
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
            for sheet in book.worksheets:
                lines.append(sheet.title)
                for row in sheet.iter_rows(values_only=True):
                    cells = ["" if v is None else str(v) for v in row]
                    if any(cells):
                        lines.append("\t".join(cells).rstrip("\t"))
            book.close()
        except Exception as exc:  # openpyxl raises many kinds on broken packages
            raise UnreadableError(f"corrupt XLSX: {type(exc).__name__}: {exc}"[:300]) from None
    return "\n".join(lines).strip(), False


def read_xls(path: Path) -> tuple[str, bool]:
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:  # xlrd raises XLRDError, struct.error, AssertionError …
        raise UnreadableError(f"corrupt XLS: {type(exc).__name__}: {exc}"[:300]) from None
    lines: list[str] = []
    for sheet in book.sheets():
        lines.append(sheet.name)
        for r in range(sheet.nrows):
            cells = []
            for value in sheet.row_values(r):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                cells.append(str(value))
            if any(cells):
                lines.append("\t".join(cells).rstrip("\t"))
    return "\n".join(lines).strip(), False


def _run_tool(args: list[str]) -> str | None:
    if shutil.which(args[0]) is None:
        return None
    done = subprocess.run(args, capture_output=True, timeout=_TOOL_TIMEOUT, check=False)
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")


def read_word97(path: Path) -> tuple[str, bool]:
    """DOC and WPS: antiword first (Word 97+), catdoc as the fallback (older Word, WPS)."""
    text = _run_tool(["antiword", "-m", "UTF-8.txt", "-w", "0", str(path)])
    if text is None or not text.strip():
        text = _run_tool(["catdoc", "-d", "utf-8", "-w", str(path)])
    if text is None:
        raise UnreadableError("neither antiword nor catdoc could read the file")
    # One paragraph per line; a document hard-wrapped at each line end gets its lines joined.
    return join_wrapped_lines(text, lines_are_paragraphs=True).strip(), False


_OFD_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _numbers(value: str | None) -> list[float]:
    try:
        return [float(v) for v in (value or "").replace(",", " ").split()]
    except ValueError:
        return []


def _deltas(value: str | None) -> list[float]:
    """An OFD ``DeltaX``/``DeltaY`` list, with its ``g N d`` (N times d) shorthand expanded."""
    out: list[float] = []
    parts = (value or "").split()
    i = 0
    try:
        while i < len(parts) and len(out) < 100_000:
            if parts[i] == "g" and i + 2 < len(parts):
                out.extend([float(parts[i + 2])] * min(int(float(parts[i + 1])), 100_000))
                i += 3
            else:
                out.append(float(parts[i]))
                i += 1
    except ValueError:
        return out
    return out


def _ofd_glyphs(root: etree._Element) -> tuple[list[Glyph], bool]:
    """Every character of a page's TextObjects placed on the page, and whether it has images.

    A TextCode's X/Y are its first glyph's position (baseline) inside the object's Boundary,
    transformed by the object's CTM; DeltaX/DeltaY give the advance to each next glyph (the last
    one repeats when the list is short; without one a glyph advances by its width)."""
    glyphs: list[Glyph] = []
    has_images = False
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        if local == "ImageObject":
            has_images = True
            continue
        if local != "TextObject":
            continue
        box = [*_numbers(element.get("Boundary")), 0.0, 0.0][:2]
        size = (_numbers(element.get("Size")) or [3.5])[0] or 3.5
        ctm = _numbers(element.get("CTM"))
        a, b, c, d, e, f = ctm if len(ctm) == 6 else (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        scale = abs(a * d - b * c) ** 0.5 or 1.0
        x = y = 0.0
        for code in element:
            if not isinstance(code.tag, str) or etree.QName(code).localname != "TextCode" or not code.text:
                continue
            x = (_numbers(code.get("X")) or [x])[0]
            y = (_numbers(code.get("Y")) or [y])[0]
            dx, dy = _deltas(code.get("DeltaX")), _deltas(code.get("DeltaY"))
            for k, char in enumerate(code.text):
                step_x = dx[min(k, len(dx) - 1)] if dx else (size if _wide(char) else size / 2)
                step_y = dy[min(k, len(dy) - 1)] if dy else 0.0
                if char not in "\r\n":
                    glyphs.append(Glyph(
                        box[0] + a * x + c * y + e, box[1] + b * x + d * y + f, size * scale, char,
                        step_x * scale if dx and not dy else None,
                    ))
                x += step_x if not dy else 0.0
                y += step_y
    return glyphs, has_images


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def read_ofd(path: Path) -> tuple[str, bool]:
    """OFD (GB/T 33190): a ZIP of XML; each page's text laid out from its glyphs' positions."""
    archive = check_zip(path)
    pages = sorted(
        (n for n in archive.namelist() if re.search(r"Pages/Page_?\d+/Content\.xml$", n)),
        key=lambda n: [int(x) for x in re.findall(r"\d+", n)],
    )
    texts: list[str] = []
    has_images = False
    for name in pages:
        try:
            root = etree.fromstring(archive.read(name), _OFD_PARSER)
        except etree.XMLSyntaxError as exc:
            raise UnreadableError(f"corrupt OFD page {name}: {exc}") from None
        glyphs, images = _ofd_glyphs(root)
        has_images = has_images or images
        texts.append(lay_out_page(glyphs))
    text = join_wrapped_lines("\f".join(texts)).strip()
    return text, has_images and _visible(text) < MIN_TEXT_CHARS


READERS = {PDF: read_pdf, DOCX: read_docx, XLSX: read_xlsx, XLS: read_xls, DOC: read_word97,
           WPS: read_word97, OFD: read_ofd}


def read_file(path: Path, media_type: str) -> tuple[str, bool]:
    reader = READERS.get(media_type)
    if reader is None:
        raise UnreadableError(f"unsupported file type {media_type}")
    return reader(path)
