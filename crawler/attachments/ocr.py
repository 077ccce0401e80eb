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
from pathlib import Path

from .layout import join_wrapped_lines

__all__ = ["ENGINE", "MAX_PAGES", "OcrError", "OcrResult", "engine_name", "ocr_image", "ocr_pdf"]

ENGINE = "tesseract"
LANGUAGE = "chi_sim"
DPI = 300
MAX_PAGES = 100
MAX_PIXELS = 60_000_000  # an image larger than this (e.g. a decompression bomb) is refused
MIN_WIDTH = 1200  # narrower images (a web page's 96-dpi scan) are enlarged before OCR
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


def _cjk_punctuation(line: str) -> str:
    return _PUNCT_RE.sub(lambda m: _FULL_WIDTH[m.group(1) or m.group(2)], line)


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


def _tesseract_page(image: Path) -> tuple[list[str], list[float]]:
    done = subprocess.run(
        ["tesseract", str(image), "stdout", "-l", LANGUAGE, "--psm", "6", "tsv"],
        capture_output=True, timeout=_TOOL_TIMEOUT, check=False,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},  # one core per page: crawls read in parallel
    )
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise OcrError(f"tesseract failed: {tail[0][:200]}")
    lines: dict[tuple[int, int, int], list[_Word]] = {}
    confidences: list[float] = []
    for row in done.stdout.decode("utf-8", "replace").splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5" or not cols[11].strip():
            continue
        try:
            left, top, width, height = (int(c) for c in cols[6:10])
            conf = float(cols[10])
        except ValueError:
            continue
        key = (int(cols[2]), int(cols[3]), int(cols[4]))  # block, paragraph, line
        lines.setdefault(key, []).append(_Word(left, top, width, height, cols[11].strip(), conf))
        if conf >= 0:
            confidences.append(conf)
    ordered = sorted(lines.values(), key=lambda ws: (min(w.top for w in ws), min(w.left for w in ws)))
    return [_line_text(words) for words in ordered], confidences


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
        picture = picture.resize((picture.width * factor, picture.height * factor), Image.LANCZOS)
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
        lines, confidences = _tesseract_page(_prepare(path, Path(tmp)))
    return _finish([lines], confidences)


def ocr_pdf(path: Path, *, dpi: int = DPI, max_pages: int = MAX_PAGES) -> OcrResult:
    """The text of a PDF's pages rendered to images (a scan without a text layer)."""
    _require("tesseract", "tesseract-ocr")
    _require("pdftoppm", "poppler-utils")
    page_lines: list[list[str]] = []
    confidences: list[float] = []
    with tempfile.TemporaryDirectory(prefix="nianbao-ocr-") as tmp:
        for number in range(1, max_pages + 1):
            prefix = Path(tmp) / f"p{number}"
            done = subprocess.run(
                ["pdftoppm", "-r", str(dpi), "-gray", "-png", "-f", str(number), "-l", str(number),
                 "-singlefile", str(path), str(prefix)],
                capture_output=True, timeout=_TOOL_TIMEOUT, check=False,
            )
            image = prefix.with_suffix(".png")
            if done.returncode != 0 or not image.exists():
                if number == 1:
                    tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no page"]
                    raise OcrError(f"pdftoppm could not render the PDF: {tail[0][:200]}")
                break  # past the last page
            lines, page_conf = _tesseract_page(image)
            image.unlink()
            page_lines.append(lines)
            confidences.extend(page_conf)
    return _finish(page_lines, confidences)
