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
import zipfile
from pathlib import Path

from lxml import etree

from .sniff import DOC, DOCX, OFD, PDF, WPS, XLS, XLSX

__all__ = ["READERS", "ZipBombError", "UnreadableError", "check_zip", "read_file"]

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
    text = "\n".join(pages).strip()
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
    return text.strip(), False


_OFD_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def read_ofd(path: Path) -> tuple[str, bool]:
    """OFD (GB/T 33190): a ZIP of XML; the text is in ``TextCode`` elements of each page."""
    archive = check_zip(path)
    pages = sorted(
        (n for n in archive.namelist() if re.search(r"Pages/Page_?\d+/Content\.xml$", n)),
        key=lambda n: [int(x) for x in re.findall(r"\d+", n)],
    )
    lines: list[str] = []
    has_images = False
    for name in pages:
        try:
            root = etree.fromstring(archive.read(name), _OFD_PARSER)
        except etree.XMLSyntaxError as exc:
            raise UnreadableError(f"corrupt OFD page {name}: {exc}") from None
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            local = etree.QName(element).localname
            if local == "TextCode" and element.text:
                lines.append(element.text)
            elif local == "ImageObject":
                has_images = True
    text = "\n".join(lines).strip()
    return text, has_images and _visible(text) < MIN_TEXT_CHARS


READERS = {PDF: read_pdf, DOCX: read_docx, XLSX: read_xlsx, XLS: read_xls, DOC: read_word97,
           WPS: read_word97, OFD: read_ofd}


def read_file(path: Path, media_type: str) -> tuple[str, bool]:
    reader = READERS.get(media_type)
    if reader is None:
        raise UnreadableError(f"unsupported file type {media_type}")
    return reader(path)
