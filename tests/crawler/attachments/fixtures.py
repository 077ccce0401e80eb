"""Attachment files of every kind, written here (no office suite needed).

- OLE compound files (the container of DOC, WPS and XLS) by a small CFB v3 writer: every
  stream is padded to the 4096-byte mini-stream cutoff so that only the regular FAT is needed;
- a Word 97 document (WordDocument + 1Table streams: FIB, Unicode text, a one-piece piece
  table), which antiword and catdoc read; a WPS file is the same binary (WPS Office writes
  Word-compatible OLE files) under a .wps name;
- a BIFF8 workbook (Workbook stream: BOF, BOUNDSHEET, EOF, then the sheet with LABEL cells),
  which xlrd reads;
- OFD: a ZIP of XML with TextCode elements (GB/T 33190 layout);
- XLSX by openpyxl, DOCX and PDF by the demo's own writers.
"""

from __future__ import annotations

import io
import struct
import zipfile

_FREE, _END, _FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF
_SECTOR = 512
_MINI_CUTOFF = 4096


def _dir_entry(name: str, kind: int, start: int, size: int, right: int = _NOSTREAM,
               child: int = _NOSTREAM) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded), kind, 1)  # black
        + struct.pack("<III", _NOSTREAM, right, child)
        + b"\0" * 16 + b"\0" * 4 + b"\0" * 16
        + struct.pack("<IQ", start, size)
    )


def make_ole(streams: dict[str, bytes]) -> bytes:
    """A CFB v3 file holding ``streams`` under the root storage."""
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    data = {n: streams[n].ljust(_MINI_CUTOFF, b"\0") for n in names}
    sectors_of = {n: -(-len(data[n]) // _SECTOR) for n in names}
    dir_bytes_len = 128 * (len(names) + 1)
    dir_sectors = -(-dir_bytes_len // _SECTOR)
    content_sectors = dir_sectors + sum(sectors_of.values())
    fat_sectors = 1
    while fat_sectors * (_SECTOR // 4) < fat_sectors + content_sectors:
        fat_sectors += 1
    fat = [_FATSECT] * fat_sectors
    dir_start = len(fat)
    fat += [dir_start + i + 1 for i in range(dir_sectors - 1)] + [_END]
    starts = {}
    for n in names:
        starts[n] = len(fat)
        count = sectors_of[n]
        fat += [starts[n] + i + 1 for i in range(count - 1)] + [_END]
    fat += [_FREE] * (fat_sectors * (_SECTOR // 4) - len(fat))

    entries = [_dir_entry("Root Entry", 5, _END, 0, child=1 if names else _NOSTREAM)]
    for i, n in enumerate(names):
        right = i + 2 if i + 1 < len(names) else _NOSTREAM
        entries.append(_dir_entry(n, 2, starts[n], len(data[n]), right=right))
    directory = b"".join(entries).ljust(dir_sectors * _SECTOR, b"\0")

    difat = list(range(fat_sectors)) + [_FREE] * (109 - fat_sectors)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, fat_sectors, dir_start, 0, _MINI_CUTOFF, _END, 0, _END, 0)
        + struct.pack("<109I", *difat)
    )
    body = struct.pack(f"<{len(fat)}I", *fat) + directory
    for n in names:
        body += data[n].ljust(sectors_of[n] * _SECTOR, b"\0")
    return header + body


def make_word97(paragraphs: list[str]) -> bytes:
    """A Word 97 (.doc) file with these paragraphs as Unicode text."""
    text = "\r".join(paragraphs) + "\r"
    encoded = text.encode("utf-16-le")
    fc_text = 0x400
    fib = bytearray(fc_text)
    struct.pack_into("<HHHHH", fib, 0, 0xA5EC, 0x00C1, 0, 0x0804, 0)
    # fWhichTblStm (1Table) | fExtChar; not complex, not encrypted
    struct.pack_into("<H", fib, 0x0A, (1 << 9) | (1 << 12))
    struct.pack_into("<H", fib, 0x0C, 0x00BF)
    struct.pack_into("<II", fib, 0x18, fc_text, fc_text + len(encoded))
    struct.pack_into("<H", fib, 0x20, 14)  # csw
    struct.pack_into("<H", fib, 0x3E, 22)  # cslw
    struct.pack_into("<I", fib, 0x40, fc_text + len(encoded))  # cbMac
    struct.pack_into("<I", fib, 0x4C, len(text))  # ccpText
    struct.pack_into("<H", fib, 0x98, 93)  # cbRgFcLcb
    # Piece table (CLX): one piece, all the text, Unicode (fc without the compressed bit).
    plc = struct.pack("<II", 0, len(text)) + struct.pack("<HIH", 0, fc_text, 0)
    clx = b"\x02" + struct.pack("<I", len(plc)) + plc
    struct.pack_into("<II", fib, 0x1A2, 0, len(clx))  # fcClx, lcbClx in 1Table
    word = bytes(fib) + encoded
    return make_ole({"WordDocument": word, "1Table": clx})


def _record(rtype: int, payload: bytes) -> bytes:
    return struct.pack("<HH", rtype, len(payload)) + payload


def _bof(dt: int) -> bytes:
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, dt, 0x0DBB, 0x07CC, 0, 0x06))


def _unicode(text: str, lenlen: int) -> bytes:
    return struct.pack("<H" if lenlen == 2 else "<B", len(text)) + b"\x01" + text.encode("utf-16-le")


def make_xls(sheet_name: str, rows: list[list[str]]) -> bytes:
    """A BIFF8 (.xls) workbook with one sheet of text cells."""
    cells = b""
    width = max((len(r) for r in rows), default=0)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            cells += _record(0x0204, struct.pack("<HHH", r, c, 0) + _unicode(value, 2))
    sheet = (
        _bof(0x0010)
        + _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))
        + cells
        + _record(0x000A, b"")
    )
    def boundsheet(position: int) -> bytes:
        name = struct.pack("<B", len(sheet_name)) + b"\x01" + sheet_name.encode("utf-16-le")
        return _record(0x0085, struct.pack("<IBB", position, 0, 0) + name)

    globals_len = len(_bof(0x0005)) + len(boundsheet(0)) + len(_record(0x000A, b""))
    workbook = _bof(0x0005) + boundsheet(globals_len) + _record(0x000A, b"") + sheet
    return make_ole({"Workbook": workbook})


def make_ofd(lines: list[str]) -> bytes:
    """An OFD package: OFD.xml, a document and one page whose TextObjects hold ``lines``."""
    ns = "http://www.ofdspec.org/2016"
    texts = "".join(
        f'<ofd:TextObject ID="{i + 10}" Boundary="10 {10 + 8 * i} 190 8" Font="1" Size="4">'
        f'<ofd:TextCode X="0" Y="4">{line}</ofd:TextCode></ofd:TextObject>'
        for i, line in enumerate(lines)
    )
    members = {
        "OFD.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{ns}" Version="1.0" DocType="OFD">'
        '<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>',
        "Doc_0/Document.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{ns}">'
        '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>',
        "Doc_0/Pages/Page_0/Content.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{ns}">'
        f'<ofd:Content><ofd:Layer ID="2">{texts}</ofd:Layer></ofd:Content></ofd:Page>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in members.items():
            archive.writestr(name, xml.encode("utf-8"))
    return out.getvalue()


def make_xlsx(rows: list[list[object]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "表3"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def make_blank_pdf() -> bytes:
    """A PDF page with no text layer (what a scan looks like to a text extractor)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_zip_bomb(kind: str = "docx", expanded_mb: int = 20) -> bytes:
    """A DOCX/XLSX/OFD-looking ZIP with one member of zeros that expands ~1000×."""
    main = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "ofd": "OFD.xml"}[kind]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(main, "<x/>")
        with archive.open("payload.xml", "w") as handle:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(expanded_mb):
                handle.write(chunk)
    return out.getvalue()


def make_ofd_glyphs(
    paragraphs: list[str],
    per_line: int = 20,
    *,
    size: float = 5.0,
    mode: str = "glyph",
    shuffle_seed: int | None = None,
    pages: int = 1,
) -> bytes:
    """An OFD laid out as converters write it: ``paragraphs`` wrapped at ``per_line`` ems (a CJK
    character one, ASCII half; the first line of each indented by two), 1.5 × ``size`` line pitch, a wider gap between
    paragraphs, the lines spread over ``pages`` pages.

    ``mode="glyph"``: one TextObject per character, each with its own Boundary and one TextCode
    (what many OFD printers write); ``"deltax"``: one TextObject per line whose single TextCode
    places its glyphs with ``DeltaX`` (using the ``g N d`` shorthand). ``shuffle_seed``: the
    objects are written in a shuffled order, so only their positions give the reading order."""
    import random

    ns = "http://www.ofdspec.org/2016"
    placed: list[tuple[float, float, str]] = []  # (x, baseline y, line text) per line
    y = 20.0
    for paragraph in paragraphs:
        lines, current, used, first = [], "", 0.0, True
        for char in paragraph:  # wrapped by width: CJK one em, ASCII half
            step = 0.5 if char.isascii() else 1.0
            if current and used + step > (per_line - 2 if first else per_line):
                lines.append((first, current))
                current, used, first = "", 0.0, False
            current += char
            used += step
        if current:
            lines.append((first, current))
        for first, line in lines:
            placed.append((20.0 + (2 * size if first else 0.0), y, line))
            y += 1.5 * size
        y += 1.5 * size  # the gap between paragraphs
    def advance(char: str) -> float:  # CJK one em, ASCII half
        return size / 2 if char.isascii() else size

    lines_per_page = -(-len(placed) // pages)
    page_objects: list[list[str]] = []
    next_id = 10
    for number, (x, baseline, line) in enumerate(placed):
        if number % lines_per_page == 0:
            page_objects.append([])
        objects = page_objects[-1]
        baseline -= (number // lines_per_page) * lines_per_page * 1.5 * size  # each page from the top
        if mode == "glyph":
            left = x
            for char in line:
                objects.append(
                    f'<ofd:TextObject ID="{next_id}" Boundary="{left:.2f} {baseline - size:.2f} {size} {size * 1.2}"'
                    f' Font="1" Size="{size}"><ofd:TextCode X="0" Y="{size:.2f}">{char}</ofd:TextCode></ofd:TextObject>'
                )
                left += advance(char)
                next_id += 1
        else:
            steps = [advance(char) for char in line[:-1]]
            deltas = f"g {len(steps)} {size}" if set(steps) == {size} else " ".join(f"{s:g}" for s in steps)
            objects.append(
                f'<ofd:TextObject ID="{next_id}" Boundary="{x:.2f} {baseline - size:.2f} {len(line) * size} {size * 1.2}"'
                f' Font="1" Size="{size}"><ofd:TextCode X="0" Y="{size:.2f}" DeltaX="{deltas}">'
                f'{line}</ofd:TextCode></ofd:TextObject>'
            )
            next_id += 1
    if shuffle_seed is not None:
        for objects in page_objects:
            random.Random(shuffle_seed).shuffle(objects)
    pages = len(page_objects)
    members = {
        "OFD.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{ns}" Version="1.0" DocType="OFD">'
        '<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>',
        "Doc_0/Document.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{ns}"><ofd:Pages>'
        + "".join(f'<ofd:Page ID="{p + 1}" BaseLoc="Pages/Page_{p}/Content.xml"/>' for p in range(pages))
        + "</ofd:Pages></ofd:Document>",
    }
    for p in range(pages):
        chunk = "".join(page_objects[p])
        members[f"Doc_0/Pages/Page_{p}/Content.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{ns}">'
            f'<ofd:Content><ofd:Layer ID="2">{chunk}</ofd:Layer></ofd:Content></ofd:Page>'
        )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in members.items():
            archive.writestr(name, xml.encode("utf-8"))
    return out.getvalue()
