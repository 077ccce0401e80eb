"""The demo's scanned report (图片版): report pages drawn as PNG images, in pure Python.

Pillow (already installed with pdfplumber, HPND licence) draws the text with a CJK font from the
system: WenQuanYi Zen Hei (Debian ``fonts-wqy-zenhei``, in the Makefile's SYSTEM_PACKAGES), or
Noto Sans CJK (``fonts-noto-cjk``) when that is what the machine has. No external program runs
at build time. Without any of these fonts :func:`cjk_font_path` is None and the demo leaves the
image-only report out (``make demo`` then archives one report fewer; ``make test`` installs the
font).

Pages are A4 at 150 dpi (1240 × 1754 pixels), black text on white, greyscale: what a scanner
makes of a printed report. The output is deterministic for a given Pillow and font.
"""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

__all__ = ["FONT_CANDIDATES", "cjk_font_path", "render_pages"]

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)
WIDTH, HEIGHT = 1240, 1754  # A4 at 150 dpi
MARGIN = 120
FONT_PX = 30
TITLE_PX = 40
LEADING = 1.7


def cjk_font_path() -> str | None:
    return next((p for p in FONT_CANDIDATES if Path(p).exists()), None)


def _advance(ch: str) -> float:
    return 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.5


def _wrap(paragraph: str, ems: float) -> list[str]:
    lines, line, width = [], "", 0.0
    for ch in paragraph:
        if width + _advance(ch) > ems:
            lines.append(line)
            line, width = "", 0.0
        line += ch
        width += _advance(ch)
    lines.append(line)
    return lines


def render_pages(title: str, paragraphs: list[str]) -> list[bytes]:
    """PNG pages: ``title`` centred on the first, then the paragraphs wrapped (first lines
    indented two characters, as Chinese reports are set)."""
    from PIL import Image, ImageDraw, ImageFont

    font_path = cjk_font_path()
    if font_path is None:
        raise RuntimeError("no CJK font installed (Debian: fonts-wqy-zenhei)")
    body = ImageFont.truetype(font_path, FONT_PX)
    heading = ImageFont.truetype(font_path, TITLE_PX)
    ems = (WIDTH - 2 * MARGIN) / FONT_PX
    lines: list[str] = []
    for paragraph in paragraphs:
        lines.extend(_wrap("\u3000\u3000" + paragraph.strip(), ems))
    step = int(FONT_PX * LEADING)
    pages: list[bytes] = []
    page = draw = None
    y = 0

    def new_page() -> None:
        nonlocal page, draw, y
        if page is not None:
            pages.append(_png(page))
        page = Image.new("L", (WIDTH, HEIGHT), 255)
        draw = ImageDraw.Draw(page)
        y = MARGIN

    new_page()
    assert draw is not None  # new_page() made the first page's drawing context
    for title_line in _wrap(title, (WIDTH - 2 * MARGIN) / TITLE_PX):
        width = draw.textlength(title_line, font=heading)
        draw.text(((WIDTH - width) / 2, y), title_line, fill=0, font=heading)
        y += int(TITLE_PX * LEADING)
    y += step // 2
    for line in lines:
        if y + step > HEIGHT - MARGIN:
            new_page()
        draw.text((MARGIN, y), line, fill=0, font=body)
        y += step
    pages.append(_png(page))
    return pages


def _png(page) -> bytes:
    out = io.BytesIO()
    page.save(out, format="PNG", optimize=True)
    return out.getvalue()
