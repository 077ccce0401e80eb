"""OCR of scanned reports: images (PNG, JPEG, GIF, BMP, WebP) and PDFs without a text layer.

Run only inside :mod:`.sandbox`'s child process (the sandbox's time and memory limits apply to
the OCR engine too: it is a grandchild process in the sandbox's process group, with the
sandbox's ``RLIMIT_AS``/``RLIMIT_CPU`` inherited, and the whole group is killed on timeout).

The engine is Tesseract 5 with its Simplified Chinese model (Debian ``tesseract-ocr`` and
``tesseract-ocr-chi-sim``: the model installs as a system package, nothing is downloaded at run
time). Tesseract reports words with their boxes and confidences (``tsv``); a line is built from
its words -- no space between CJK characters (Tesseract separates them), one space between
Latin words, a tab where the gap between two words is wider than two character heights (the
cells of a table row, as :func:`crawler.extract.tables.tables_from_text` reads them) -- and the
lines of a page are joined like a PDF's text layer (:func:`.layout.join_wrapped_lines`).
ASCII punctuation next to CJK text is made full-width (Tesseract reads ``（`` as ``(``).

A page wider than :data:`MAX_WIDTH` pixels (a 300-dpi A4 scan is 2480) is reduced first: the
Chinese model reads body text best at about 150 dpi (on the real szfgs2024.pdf, 300-dpi pages read
at full size had 0.6–1.2% CER, reduced 0–0.6%; see BENCHMARKS.md). A page with ruled tables is read
cell by cell (see :func:`_read_page`): read as one block, its tables came out at 21–77% CER.

A PDF is rendered page by page with poppler's ``pdftoppm`` (300 dpi, greyscale), at most
:data:`MAX_PAGES` pages. The result carries the engine and the mean word confidence (0–100),
which the pipeline stores with the version (``versions.tables["ocr"]``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from .layout import join_wrapped_lines

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["ENGINE", "MAX_PAGES", "OcrError", "OcrResult", "engine_name", "ocr_image", "ocr_pdf"]

ENGINE = "tesseract"
LANGUAGE = "chi_sim"
DPI = 300
MAX_PAGES = 100
MAX_PIXELS = 60_000_000  # an image larger than this (e.g. a decompression bomb) is refused
MIN_WIDTH = 1200  # narrower images (a web page's 96-dpi scan) are enlarged before OCR
MAX_WIDTH = 1800  # wider ones are reduced: see _read_page
MIN_DPI = 72  # a page that fits MAX_PIXELS only below this is refused: its text would be unreadable
_TOOL_TIMEOUT = 600  # the sandbox's own limits are tighter; this only bounds a stray call


class OcrError(Exception):
    """OCR could not run (engine missing, image refused); the message is the recorded reason."""


@dataclass
class OcrResult:
    text: str
    confidence: float | None  # mean word confidence, 0–100; None when no word was read
    pages: int
    engine: str

    def provenance(self) -> dict:
        return {"engine": self.engine, "confidence": self.confidence, "pages": self.pages}


def engine_name() -> str:
    """``tesseract 5.3.0 chi_sim``: what read the text (stored with it)."""
    version = ""
    try:
        done = subprocess.run(["tesseract", "--version"], capture_output=True, timeout=30, check=False)
        first = (done.stdout or done.stderr).decode("utf-8", "replace").split()
        version = first[1] if len(first) > 1 else ""
    except (OSError, subprocess.TimeoutExpired):
        pass
    return " ".join(p for p in (ENGINE, version, LANGUAGE) if p)


def _require(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        raise OcrError(f"OCR needs {tool} (Debian package {package}), which is not installed")


_FULL_WIDTH = {",": "，", ":": "：", ";": "；", "(": "（", ")": "）", "?": "？", "!": "！"}
_CJK = r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"
_PUNCT_RE = re.compile(rf"(?<={_CJK})\s*([,:;()?!])\s*|\s*([,:;()?!])\s*(?={_CJK})")


# chi_sim reads a small full-width （ as 〈 or 《; one closed by ） (and not by 〉 》) was a （.
_MISREAD_OPEN_PAREN = re.compile(r"[〈《]([^〈《〉》（）()]{0,40}）)")


def _cjk_punctuation(line: str) -> str:
    line = _PUNCT_RE.sub(lambda m: _FULL_WIDTH[m.group(1) or m.group(2)], line)
    return _MISREAD_OPEN_PAREN.sub(r"（\1", line)


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


@dataclass
class _Word:
    left: int
    top: int
    width: int
    height: int
    text: str
    conf: float


def _line_text(words: list[_Word]) -> str:
    words = sorted(words, key=lambda w: w.left)
    height = sorted(w.height for w in words)[len(words) // 2] or 1
    out = ""
    previous: _Word | None = None
    for word in words:
        if previous is not None:
            gap = word.left - (previous.left + previous.width)
            if gap > 2 * height:
                out += "\t"
            elif _is_latin(out[-1:]) and _is_latin(word.text[:1]) and gap > 0.25 * height:
                out += " "
        out += word.text
        previous = word
    return _cjk_punctuation(out)


def _run_tesseract(source: Path, psm: int = 6) -> str:
    """Tesseract's ``tsv`` for one image, or for every image listed in a ``.txt`` file (one
    engine start for all of them: ``page_num`` in the result is the image's place in the list).
    ``psm`` 6 reads a block of lines, 7 a single line."""
    done = subprocess.run(
        ["tesseract", str(source), "stdout", "-l", LANGUAGE, "--psm", str(psm), "tsv"],
        capture_output=True, timeout=_TOOL_TIMEOUT, check=False,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},  # one core per page: crawls read in parallel
    )
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise OcrError(f"tesseract failed: {tail[0][:200]}")
    return done.stdout.decode("utf-8", "replace")


def _tsv_lines(tsv: str) -> tuple[dict[int, list[list[_Word]]], list[float]]:
    """The words of each image (by ``page_num``), grouped into lines in reading order, and the
    confidences of all words."""
    lines: dict[tuple[int, int, int, int], list[_Word]] = {}
    confidences: list[float] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        try:
            left, top, width, height = (int(c) for c in cols[6:10])
            conf = float(cols[10])
            key = (int(cols[1]), int(cols[2]), int(cols[3]), int(cols[4]))  # image, block, paragraph, line
        except ValueError:
            continue
        lines.setdefault(key, []).append(_Word(left, top, width, height, cols[11].strip(), conf))
        if conf >= 0:
            confidences.append(conf)
    per_image: dict[int, list[list[_Word]]] = {}
    for key, words in lines.items():
        per_image.setdefault(key[0], []).append(words)
    for image_lines in per_image.values():
        image_lines.sort(key=lambda ws: (min(w.top for w in ws), min(w.left for w in ws)))
    return per_image, confidences


def _tesseract_page(image: Path) -> tuple[list[str], list[float]]:
    per_image, confidences = _tsv_lines(_run_tesseract(image))
    return [_line_text(words) for words in per_image.get(1, [])], confidences


# Tables. A scanned statistics table is a grid of ruling lines; read as one block, Tesseract takes
# the lines for characters (一 | 丨 【), runs a row's cells into each other and reads a cell that
# wraps (商业企 / 业) into two rows. So the long straight lines are found first (runs of ink far
# longer than any stroke of a character), erased, and the grid they draw gives the cells; each cell
# is read as its own image (all of them in one Tesseract run) and the page is put back together
# row by row: a cell's lines joined, the cells of a row tab-separated (as tables_from_text reads
# them), a cell spanning rows in its first row. A page without ruling lines is read as before.
_INK = 160  # grey level below which a pixel is ink, for finding rules (anti-aliased edges are lighter)
_RULE_MIN_FRACTION = 24  # a rule is at least width/24 long: ~0.35 in, longer than a 22 pt glyph's stroke
_CELL_PADDING = 12  # white border around a cell's crop (Tesseract misreads glyphs touching the edge)
# A cell with a word read below this confidence is read again enlarged (see _reread_weak_cells).
_WEAK_CONFIDENCE = 70
_ENLARGEMENTS = (1.5, 2.0)


@dataclass
class _Rule:
    """A straight line of ink: ``across0``..``across1`` its y span (a horizontal rule) or x span
    (a vertical one), ``start``..``end`` its extent the other way."""

    across0: int
    across1: int
    start: int
    end: int


def _rules(ink: bytes, width: int, height: int, min_length: int, max_thickness: int) -> list[_Rule]:
    """The horizontal rules of a 1-byte-per-pixel ink mask (``\\x01`` = ink): runs at least
    ``min_length`` long in each row (a byte regex: fast without numpy), merged with the
    overlapping runs of the rows below, and kept when no thicker than ``max_thickness``."""
    run = re.compile(rb"\x01{%d,}" % min_length)
    done: list[_Rule] = []
    open_rules: list[_Rule] = []
    for y in range(height):
        row = y * width
        spans: list[tuple[int, int]] = []
        for m in run.finditer(ink, row, row + width):
            if spans and m.start() - row - spans[-1][1] <= 3:  # a resampling halo where a rule crosses
                spans[-1] = (spans[-1][0], m.end() - row)
            else:
                spans.append((m.start() - row, m.end() - row))
        still_open = []
        for rule in open_rules:
            hit = next((s for s in spans if s[0] < rule.end and s[1] > rule.start), None)
            if hit is None:
                done.append(rule)
                continue
            spans.remove(hit)
            rule.across1, rule.start, rule.end = y, min(rule.start, hit[0]), max(rule.end, hit[1])
            still_open.append(rule)
        still_open.extend(_Rule(y, y, a, b) for a, b in spans)
        open_rules = still_open
    done.extend(open_rules)
    return [r for r in done if r.across1 - r.across0 < max_thickness]


def _find_rules(picture: Image.Image) -> tuple[list[_Rule], list[_Rule]]:
    """The horizontal and vertical rules of a greyscale page."""
    from PIL import Image

    min_length = max(40, picture.width // _RULE_MIN_FRACTION)
    max_thickness = max(6, picture.width // 200)
    found = []
    for view in (picture, picture.transpose(Image.Transpose.TRANSPOSE)):
        ink = view.point(lambda v: 1 if v < _INK else 0).tobytes()
        found.append(_rules(ink, view.width, view.height, min_length, max_thickness))
    return found[0], found[1]


_Box = tuple[int, int, int, int]  # left, top, right, bottom


def _cells(horizontal: list[_Rule], vertical: list[_Rule], tolerance: int) -> list[_Box]:
    """The cells the rules enclose. From each horizontal rule, the vertical rules that leave it
    downwards bound the cells below it; a cell ends at the first horizontal rule under its middle
    (so a cell merged over several rows or columns is one cell)."""
    cells: set[_Box] = set()
    for top in horizontal:
        leaving = sorted(
            (v for v in vertical
             if v.start <= top.across1 + tolerance < v.end and top.start - tolerance <= v.across0 <= top.end + tolerance),
            key=lambda v: v.across0,
        )
        for left, right in pairwise(leaving):
            middle = (left.across1 + right.across0) // 2
            below = [h for h in horizontal
                     if h.across0 > top.across1 + tolerance and h.start - tolerance <= middle <= h.end + tolerance]
            if below:
                bottom = min(below, key=lambda h: h.across0)
                cells.add((left.across1 + 1, top.across1 + 1, right.across0, bottom.across0))
    return sorted(cells, key=lambda c: (c[1], c[0]))


def _cell_text(lines: list[list[_Word]]) -> str:
    """A cell's lines as one string: a wrap inside a cell (商业企 / 业) is not a line break."""
    out = ""
    for words in lines:
        text = _line_text(words)
        out += (" " if _is_latin(out[-1:]) and _is_latin(text[:1]) else "") + text
    return out


def _rows(units: list[tuple[int, int, str]], tolerance: int) -> list[str]:
    """Text units (top, left, text) as the page's lines: units whose tops are within
    ``tolerance`` form one row, read left to right, tab between them."""
    rows: list[list[tuple[int, int, str]]] = []
    for unit in sorted(units):
        if rows and unit[0] - rows[-1][0][0] <= tolerance:
            rows[-1].append(unit)
        else:
            rows.append([unit])
    return ["\t".join(text for _, _, text in sorted(row, key=lambda u: u[1])) for row in rows]


def _read_page(image: Path) -> tuple[list[str], list[float]]:
    """The lines of one page image and its word confidences; a page with ruled tables is read
    cell by cell (see above)."""
    from PIL import Image

    with Image.open(image) as source:
        page = source.convert("L")
    if page.width <= MAX_WIDTH:
        return _read_page_image(page, image)
    # Reduced, not rendered smaller: a 300-dpi page reduced reads better than one rendered at 150.
    factor = -(-page.width // MAX_WIDTH)
    page = page.resize((page.width // factor, page.height // factor), Image.Resampling.LANCZOS)
    reduced = image.with_suffix(".reduced.png")
    page.save(reduced)
    try:
        return _read_page_image(page, reduced)
    finally:
        reduced.unlink()


def _read_page_image(page: Image.Image, image: Path) -> tuple[list[str], list[float]]:
    """:func:`_read_page` of the greyscale ``page``, saved as ``image``."""
    from PIL import Image, ImageDraw

    horizontal, vertical = _find_rules(page)
    if not horizontal and not vertical:
        return _tesseract_page(image)
    draw = ImageDraw.Draw(page)
    margin = 2  # the rule's anti-aliased edge
    for rule in horizontal:
        draw.rectangle((rule.start - margin, rule.across0 - margin, rule.end + margin, rule.across1 + margin), fill=255)
    for rule in vertical:
        draw.rectangle((rule.across0 - margin, rule.start - margin, rule.across1 + margin, rule.end + margin), fill=255)
    tolerance = max(4, page.width // 400)
    cells = _cells(horizontal, vertical, tolerance)
    crops: list[tuple[_Box, Image.Image]] = []
    for cell in cells:
        crop = page.crop(cell)
        inked = crop.point(lambda v: 255 if v < _INK else 0).getbbox()
        if inked is not None:  # an empty cell is not worth an OCR pass
            crop = crop.crop(inked)
            canvas = Image.new("L", (crop.width + 2 * _CELL_PADDING, crop.height + 2 * _CELL_PADDING), 255)
            canvas.paste(crop, (_CELL_PADDING, _CELL_PADDING))
            crops.append((cell, canvas))
    for cell in cells:
        draw.rectangle(cell, fill=255)  # what is left is the text around the tables
    sources = [image.with_suffix(".rest.png")]
    page.save(sources[0])
    for number, (_, canvas) in enumerate(crops):
        sources.append(image.with_suffix(f".cell{number}.png"))
        canvas.save(sources[-1])
    try:
        per_image, _ = _tsv_lines(_run_tesseract(_listing(image, sources)))
        # Read as a block, a cell holding one narrow glyph (a lone 1) comes back empty; read as a
        # single line, it does not.
        unread = [number for number in range(2, len(sources) + 1) if not per_image.get(number)]
        if unread:
            again, _ = _tsv_lines(_run_tesseract(_listing(image, [sources[n - 1] for n in unread]), psm=7))
            per_image.update((number, again[place]) for place, number in enumerate(unread, 1) if place in again)
        _reread_weak_cells(image, [canvas for _, canvas in crops], per_image)
    finally:
        for path in (*sources, image.with_suffix(".list.txt")):
            path.unlink(missing_ok=True)
    # The confidences of the reads kept (a cell read again counts once).
    confidences = [w.conf for lines in per_image.values() for ws in lines for w in ws if w.conf >= 0]
    units = [(min(w.top for w in ws), min(w.left for w in ws), _line_text(ws)) for ws in per_image.get(1, [])]
    for number, (cell, _) in enumerate(crops, start=2):
        if per_image.get(number):
            units.append((cell[1], cell[0], _cell_text(per_image[number])))
    return _rows(units, tolerance), confidences


def _mean_confidence(lines: list[list[_Word]]) -> float:
    confidences = [w.conf for words in lines for w in words]
    return sum(confidences) / len(confidences) if confidences else -1.0


def _reread_weak_cells(image: Path, canvases: list[Image.Image], per_image: dict[int, list[list[_Word]]]) -> None:
    """Cells with a word Tesseract was unsure of (confidence below :data:`_WEAK_CONFIDENCE`) read
    again enlarged 1.5× and 2× (all in one Tesseract run), each keeping its most confident read.
    A page reduced to ~150 dpi leaves a table's small print ~15 px high, where chi_sim confuses
    close glyphs (4 → 了, 危 → 记, 予 → 子) with low confidence; enlarged, it reads them with high
    confidence. Enlarging every cell instead made the tables worse (large digits misread), so the
    confidence chooses, cell by cell; ``canvases[i]`` is image ``i + 2`` of ``per_image``."""
    from PIL import Image

    weak = [number for number, lines in per_image.items()
            if number >= 2 and lines and min(w.conf for words in lines for w in words) < _WEAK_CONFIDENCE]
    readings: list[tuple[int, Path]] = []
    try:
        for number in weak:
            canvas = canvases[number - 2]
            for factor in _ENLARGEMENTS:
                larger = canvas.resize((round(canvas.width * factor), round(canvas.height * factor)),
                                       Image.Resampling.LANCZOS)
                readings.append((number, image.with_suffix(f".cell{number}x{round(factor * 10)}.png")))
                larger.save(readings[-1][1])
        if not readings:
            return
        again, _ = _tsv_lines(_run_tesseract(_listing(image, [path for _, path in readings])))
    finally:
        for _, path in readings:
            path.unlink(missing_ok=True)
    for place, (number, _) in enumerate(readings, start=1):
        if again.get(place) and _mean_confidence(again[place]) > _mean_confidence(per_image[number]):
            per_image[number] = again[place]


def _listing(image: Path, sources: list[Path]) -> Path:
    """A file listing ``sources`` for one Tesseract run (see :func:`_run_tesseract`)."""
    listing = image.with_suffix(".list.txt")
    listing.write_text("".join(f"{path}\n" for path in sources), encoding="utf-8")
    return listing


def _prepare(image: Path, workdir: Path) -> Path:
    """A greyscale PNG of ``image`` Tesseract reads well: small scans enlarged, bombs refused."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(image) as source:
            if source.width * source.height > MAX_PIXELS:
                raise OcrError(f"image too large to OCR: {source.width}×{source.height} pixels")
            picture = source.convert("L")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise OcrError(f"unreadable image: {type(exc).__name__}: {exc}"[:300]) from None
    if picture.width < MIN_WIDTH:
        factor = min(3, -(-MIN_WIDTH // max(picture.width, 1)))
        picture = picture.resize((picture.width * factor, picture.height * factor), Image.Resampling.LANCZOS)
    out = workdir / f"{image.stem}.ocr.png"
    picture.save(out)
    return out


def _finish(page_lines: list[list[str]], confidences: list[float]) -> OcrResult:
    text = join_wrapped_lines("\f".join("\n".join(lines) for lines in page_lines)).strip()
    mean = round(sum(confidences) / len(confidences), 1) if confidences else None
    return OcrResult(text, mean, len(page_lines), engine_name())


def ocr_image(path: Path) -> OcrResult:
    """The text of one image file."""
    _require("tesseract", "tesseract-ocr")
    with tempfile.TemporaryDirectory(prefix="nianbao-ocr-") as tmp:
        lines, confidences = _read_page(_prepare(path, Path(tmp)))
    return _finish([lines], confidences)


def _page_sizes(path: Path, max_pages: int) -> list[tuple[float, float]]:
    """The first pages' rendered sizes in points (crop box × UserUnit); [] when pypdf cannot
    tell (pdftoppm then renders at the default resolution, as before)."""
    from itertools import islice

    try:
        from pypdf import PdfReader

        sizes = []
        for page in islice(PdfReader(path, strict=False).pages, max_pages):
            unit = float(page.get("/UserUnit", 1) or 1)
            sizes.append((float(page.cropbox.width) * unit, float(page.cropbox.height) * unit))
        return sizes
    except Exception:  # pypdf raises many kinds on odd PDFs; pdftoppm may still cope
        return []


def _render_dpi(size: tuple[float, float], dpi: int, number: int) -> int:
    """The resolution that keeps a page's image within MAX_PIXELS: a page of enormous
    dimensions would make pdftoppm allocate gigabytes (it then writes a 1×1 image and exits 0,
    so OCR "found nothing" instead of saying why)."""
    square_inches = abs(size[0] * size[1]) / (72 * 72)
    fitting = int((MAX_PIXELS / square_inches) ** 0.5) if square_inches else dpi
    if fitting < MIN_DPI:
        raise OcrError(f"page {number} too large to OCR: {size[0]:g}×{size[1]:g} points")
    return min(dpi, fitting)


def ocr_pdf(path: Path, *, dpi: int = DPI, max_pages: int = MAX_PAGES) -> OcrResult:
    """The text of a PDF's pages rendered to images (a scan without a text layer)."""
    _require("tesseract", "tesseract-ocr")
    _require("pdftoppm", "poppler-utils")
    page_lines: list[list[str]] = []
    confidences: list[float] = []
    sizes = _page_sizes(path, max_pages)
    with tempfile.TemporaryDirectory(prefix="nianbao-ocr-") as tmp:
        for number in range(1, max_pages + 1):
            prefix = Path(tmp) / f"p{number}"
            page_dpi = _render_dpi(sizes[number - 1], dpi, number) if number <= len(sizes) else dpi
            done = subprocess.run(
                ["pdftoppm", "-r", str(page_dpi), "-gray", "-png", "-f", str(number), "-l", str(number),
                 "-singlefile", str(path), str(prefix)],
                capture_output=True, timeout=_TOOL_TIMEOUT, check=False,
            )
            image = prefix.with_suffix(".png")
            if done.returncode != 0 or not image.exists():
                if number == 1:
                    tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no page"]
                    raise OcrError(f"pdftoppm could not render the PDF: {tail[0][:200]}")
                break  # past the last page
            lines, page_conf = _read_page(image)
            image.unlink()
            page_lines.append(lines)
            confidences.extend(page_conf)
    return _finish(page_lines, confidences)
