"""What kind of file an attachment is, from its first bytes (the URL's extension breaks ties).

Servers label attachments badly (``application/octet-stream``, ``text/html`` for a PDF), so the
HTTP Content-Type is not trusted. Images (PNG, JPEG, GIF, BMP, WebP: the pages of a
scanned report shown on an image-only page) are read by OCR. OLE compound files (DOC, WPS, XLS) are told apart by the names
of their streams; ZIP packages (DOCX, XLSX, OFD) by the names of their members.
"""

from __future__ import annotations

import io
import zipfile
from posixpath import splitext
from urllib.parse import urlsplit

__all__ = ["MEDIA_TYPES", "SIGNATURES", "leading_signature", "sniff_media_type"]

PDF = "application/pdf"
DOC = "application/msword"
WPS = "application/vnd.ms-works"
XLS = "application/vnd.ms-excel"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OFD = "application/ofd"
UNKNOWN = "application/octet-stream"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
BMP = "image/bmp"
WEBP = "image/webp"
IMAGE_TYPES = (PNG, JPEG, GIF, BMP, WEBP)
MEDIA_TYPES = (PDF, DOC, WPS, XLS, DOCX, XLSX, OFD, *IMAGE_TYPES)
# What a signature alone tells: a ZIP package or an OLE file before its members are read, and
# the web fonts a page loads (a browser's "save page, complete" keeps them next to the page).
ZIP = "application/zip"
OLE = "application/x-ole-storage"
WOFF = "font/woff"
WOFF2 = "font/woff2"
OTF = "font/otf"
TTF = "font/ttf"
TTC = "font/collection"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_GIF_MAGICS = (b"GIF87a", b"GIF89a")

# (leading bytes, media type): the file signatures nianbao knows, in the order they are tried.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", PDF),
    (_ZIP_MAGIC, ZIP),
    (_OLE_MAGIC, OLE),
    (_PNG_MAGIC, PNG),
    (_JPEG_MAGIC, JPEG),
    *((magic, GIF) for magic in _GIF_MAGICS),
    (b"wOFF", WOFF),
    (b"wOF2", WOFF2),
    (b"OTTO", OTF),
    (b"\x00\x01\x00\x00", TTF),
    (b"true", TTF),
    (b"ttcf", TTC),
)


def _extension(url: str | None) -> str:
    return splitext(urlsplit(url or "").path)[1].lower()


def leading_signature(content: bytes) -> str | None:
    """The media type of the :data:`SIGNATURES` entry ``content`` starts with (a PDF also after
    leading whitespace, which some servers and editors put before it); None for none of them.

    Only the first bytes are looked at: a ZIP is ``application/zip`` whatever its members are
    (:func:`sniff_media_type` tells DOCX, XLSX and OFD apart).
    """
    head = content[:16]
    for magic, media_type in SIGNATURES:
        if head.startswith(magic) or (media_type == PDF and content.lstrip()[:4] == magic):
            return media_type
    return None


def sniff_media_type(content: bytes, url: str | None = None) -> str:
    """One of :data:`MEDIA_TYPES`, or ``application/octet-stream`` when it is none of them."""
    head = content[:1024]
    if b"%PDF-" in head:
        return PDF
    if content.startswith(_PNG_MAGIC):
        return PNG
    if content.startswith(_JPEG_MAGIC):
        return JPEG
    if content.startswith(_GIF_MAGICS):
        return GIF
    if content.startswith(b"BM") and len(content) > 26 and _extension(url) == ".bmp":
        return BMP
    if content.startswith(b"RIFF") and content[8:12] == b"WEBP":
        return WEBP
    ext = _extension(url)
    if content.startswith(_OLE_MAGIC):
        if "Workbook".encode("utf-16-le") in content or "Book\x00".encode("utf-16-le") in content:
            return XLS
        return WPS if ext == ".wps" else DOC
    if content.startswith(_ZIP_MAGIC):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(content)).namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            names = set()
        if "word/document.xml" in names:
            return DOCX
        if "xl/workbook.xml" in names:
            return XLSX
        if "OFD.xml" in names or ext == ".ofd":
            return OFD
        return {".docx": DOCX, ".xlsx": XLSX, ".ofd": OFD}.get(ext, UNKNOWN)
    return UNKNOWN
