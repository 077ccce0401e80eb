"""OCR accuracy and speed: character error rate on report pages rendered to images.

Pages: the demo's generated PDF (crawler.demo) and, when present, the real report
``../shared/corpus/attachments/szfgs2024.pdf`` (read in place, never copied), each rendered with
``pdftoppm`` at 150 and 300 dpi (greyscale PNG). A page is a *table* page when the PDF draws ruling
lines on it (pdfplumber finds line objects), else a *prose* page; results are given per kind.

Reference: the page's own text layer in reading order, built by one rule for every page of every
document (:func:`reading_order_reference`; nothing in it knows a particular page): the words of
each table cell (cells as pdfplumber finds them from the PDF's own drawn lines; words and their
boxes from ``pdftotext -bbox``) are one unit, the words outside tables are grouped into lines;
units are read top to bottom, those starting at the same height left to right -- a table row by
row, a cell's own lines in order, a cell merged over several rows in its first row. (``pdftotext``
alone reads a table column by column in places, so CER against it counts reading order as
misreads: the old figures, ``CER (pdftotext)``, kept for comparison.) CER = Levenshtein distance /
reference length, whitespace removed on both sides (OCR and the text layer break lines
differently); ``NFKC`` also folds full- and half-width forms (``（`` = ``(``); ``order-free``
compares the characters as multisets (the larger of missing and extra characters over the
reference length): it counts misreads only, never reading order, and so bounds how much of a CER
is order.

Each page is read in its own child process (``python -m bench.ocr --page``), so the peak memory
is that process's maximum RSS (engine subprocesses included) and CPU s/page its CPU time (user +
system, engine included: unlike pages/s, not skewed by other work on a shared machine). Engines:
``tesseract`` (the project's crawler.attachments.ocr) and, with ``--rapidocr-python PY`` (a Python
that has ``rapidocr-onnxruntime`` installed), RapidOCR's PP-OCRv4 models for comparison.

    .venv/bin/python -m bench.ocr [--pages N] [--per-page] [--rapidocr-python /path/to/python]
"""

from __future__ import annotations

import argparse
import collections
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS_PDF = ROOT.parent / "shared" / "corpus" / "attachments" / "szfgs2024.pdf"

_RAPID = r"""
import json, sys
from rapidocr_onnxruntime import RapidOCR
result, _ = RapidOCR()(sys.argv[1])
boxes = sorted(result or [], key=lambda r: (r[0][0][1], r[0][0][0]))
print(json.dumps({"text": "\n".join(r[1] for r in boxes),
                  "confidence": round(100 * sum(r[2] for r in boxes) / max(len(boxes), 1), 1)}))
"""


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _squash(text: str, nfkc: bool = False) -> str:
    if nfkc:
        text = unicodedata.normalize("NFKC", text)
    return "".join(text.split())


def cer(ocr: str, reference: str, nfkc: bool = False) -> float:
    ref = _squash(reference, nfkc)
    return levenshtein(_squash(ocr, nfkc), ref) / max(len(ref), 1)


def _page_child(image: str, engine: str, rapid_python: str | None) -> dict:
    """One page, in a child process: text, confidence, seconds, peak RSS (MiB)."""
    if engine == "tesseract":
        args = [sys.executable, "-m", "bench.ocr", "--page", image]
    else:
        args = [rapid_python or "python3", "-c", _RAPID, image]
    started = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    assert child.stdout is not None  # stdout=PIPE
    stdout = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS (its children's too)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{engine} failed on {image}")
    seconds = time.perf_counter() - started
    out = json.loads(stdout.decode("utf-8").strip().splitlines()[-1])
    out.update(seconds=seconds, cpu_seconds=usage.ru_utime + usage.ru_stime, peak_mib=round(usage.ru_maxrss / 1024, 1))
    return out


def _text_lines(words: list[dict]) -> list[list[dict]]:
    """pdfplumber words grouped into lines: a word whose middle lies within the current line's
    height joins it (a number set in another font sits a little higher), each line left to right."""
    lines: list[tuple[float, list[dict]]] = []
    for word in sorted(words, key=lambda w: w["top"]):
        middle = (word["top"] + word["bottom"]) / 2
        if lines and middle <= lines[-1][0]:
            lines[-1][1].append(word)
            lines[-1] = (max(lines[-1][0], word["bottom"]), lines[-1][1])
        else:
            lines.append((word["bottom"], [word]))
    return [sorted(ws, key=lambda w: w["x0"]) for _, ws in lines]


_BBOX_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def _text_layer_words(pdf: Path, number: int) -> list[dict]:
    """The page's words with their boxes (points, from the top), as poppler decodes them
    (``pdftotext -bbox``: pdfminer cannot decode the demo's predefined CJK CMap)."""
    layout = subprocess.run(["pdftotext", "-bbox", "-f", str(number), "-l", str(number), str(pdf), "-"],
                            capture_output=True, check=True).stdout.decode("utf-8")
    return [{"x0": float(x0), "top": float(top), "x1": float(x1), "bottom": float(bottom), "text": html.unescape(text)}
            for x0, top, x1, bottom, text in _BBOX_WORD.findall(layout)]


def reading_order_reference(pdf: Path, number: int) -> tuple[str, str]:
    """Page ``number``'s text layer in reading order (see the module docstring), and its kind."""
    import pdfplumber

    with pdfplumber.open(pdf) as document:
        page = document.pages[number - 1]
        kind = "table" if page.lines else "prose"
        cells = [cell for table in page.find_tables() for cell in table.cells]
        free: list[dict] = []
        in_cell: dict[tuple[float, float], list[dict]] = {}
        for word in _text_layer_words(pdf, number):
            x, y = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
            around = [c for c in cells if c[0] <= x <= c[2] and c[1] <= y <= c[3]]
            if around:
                cell = min(around, key=lambda c: (c[2] - c[0]) * (c[3] - c[1]))
                in_cell.setdefault((cell[1], cell[0]), []).append(word)
            else:
                free.append(word)
        units = [(ws[0]["top"], ws[0]["x0"], "".join(w["text"] for w in ws)) for ws in _text_lines(free)]
        units += [(top, left, "".join(w["text"] for line in _text_lines(ws) for w in line))
                  for (top, left), ws in in_cell.items()]
    rows: list[list[tuple[float, float, str]]] = []
    for unit in sorted(units):
        if rows and unit[0] - rows[-1][0][0] <= 3:  # points: one row of cells
            rows[-1].append(unit)
        else:
            rows.append([unit])
    return "\n".join(" ".join(u[2] for u in sorted(row, key=lambda u: u[1])) for row in rows), kind


def order_free_error(ocr: str, reference: str) -> float:
    """Misread characters regardless of order: the larger of missing and extra characters."""
    got, want = collections.Counter(_squash(ocr)), collections.Counter(_squash(reference))
    return max(sum((want - got).values()), sum((got - want).values())) / max(sum(want.values()), 1)


@dataclass
class RenderedPage:
    image: Path
    kind: str
    reference: str
    pdftotext: str


def _render(pdf: Path, dpi: int, workdir: Path, pages: int) -> list[RenderedPage]:
    out = []
    for number in range(1, pages + 1):
        prefix = workdir / f"{pdf.stem}-{dpi}-{number}"
        done = subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-f", str(number), "-l",
                               str(number), "-singlefile", str(pdf), str(prefix)], capture_output=True)
        if done.returncode != 0:
            break
        plain = subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"],
                               capture_output=True, check=True).stdout.decode("utf-8")
        reference, kind = reading_order_reference(pdf, number)
        out.append(RenderedPage(prefix.with_suffix(".png"), kind, reference, plain))
    return out


def _summary_row(label: str, kind: str, dpi: int, engine: str, read: list[tuple[RenderedPage, dict]]) -> str:
    """One table row: error rates over all the pages' characters (not a mean of page rates)."""
    chars = sum(len(_squash(p.reference)) for p, _ in read)
    chars_nfkc = sum(len(_squash(p.reference, True)) for p, _ in read)
    chars_plain = sum(len(_squash(p.pdftotext)) for p, _ in read)

    def total(rate: float, reference: str, nfkc: bool = False) -> float:
        return rate * len(_squash(reference, nfkc))

    edits = sum(total(cer(r["text"], p.reference), p.reference) for p, r in read)
    edits_nfkc = sum(total(cer(r["text"], p.reference, True), p.reference, True) for p, r in read)
    misreads = sum(total(order_free_error(r["text"], p.reference), p.reference) for p, r in read)
    edits_plain = sum(total(cer(r["text"], p.pdftotext), p.pdftotext) for p, r in read)
    confs = [r["confidence"] for _, r in read if r.get("confidence") is not None]
    seconds = sum(r["seconds"] for _, r in read)
    cpu_seconds = sum(r["cpu_seconds"] for _, r in read)
    peak = max(r["peak_mib"] for _, r in read)
    return (f"| {label} | {kind} | {dpi} | {engine} | {len(read)} | {edits / chars:.2%} | "
            f"{edits_nfkc / chars_nfkc:.2%} | {misreads / chars:.2%} | {edits_plain / chars_plain:.2%} | "
            f"{sum(confs) / max(len(confs), 1):.1f} | {len(read) / seconds:.2f} | {cpu_seconds / len(read):.1f} | "
            f"{peak:.0f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", help=argparse.SUPPRESS)
    parser.add_argument("--pages", type=int, default=6, help="pages per document (default 6)")
    parser.add_argument("--rapidocr-python", help="a Python with rapidocr-onnxruntime, to compare")
    parser.add_argument("--dpi", type=int, nargs="*", default=[150, 300])
    parser.add_argument("--per-page", action="store_true", help="also print each page's CER")
    args = parser.parse_args(argv)
    if args.page:  # the child: OCR one image with the project's engine
        from crawler.attachments.ocr import ocr_image

        result = ocr_image(Path(args.page))
        print(json.dumps({"text": result.text, "confidence": result.confidence}, ensure_ascii=False))
        return 0

    from crawler.attachments.ocr import engine_name
    from crawler.demo.site import build_demo_site

    engines = ["tesseract"] + (["rapidocr"] if args.rapidocr_python else [])
    with tempfile.TemporaryDirectory(prefix="nianbao-bench-ocr-") as tmp:
        workdir = Path(tmp)
        demo_pdf = workdir / "demo.pdf"
        site = build_demo_site()
        demo_pdf.write_bytes(next(p.body for path, p in site.pages.items() if path.endswith(".pdf")))
        documents = [("demo PDF (generated)", demo_pdf)]
        if CORPUS_PDF.exists():
            documents.append(("szfgs2024.pdf (real)", CORPUS_PDF))
        print(f"tesseract engine: {engine_name()}")
        print("| document | page kind | dpi | engine | pages | CER | CER (NFKC) | order-free | CER (pdftotext) "
              "| mean conf | pages/s | CPU s/page | peak MiB |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for label, pdf in documents:
            for dpi in args.dpi:
                rendered = _render(pdf, dpi, workdir, args.pages)
                for engine in engines:
                    read = [(page, _page_child(str(page.image), engine, args.rapidocr_python)) for page in rendered]
                    for kind in ("prose", "table", "all"):
                        chosen = [(p, r) for p, r in read if kind in ("all", p.kind)]
                        if chosen and (kind != "all" or len({p.kind for p, _ in read}) > 1):
                            print(_summary_row(label, kind, dpi, engine, chosen), flush=True)
                    if args.per_page:
                        for number, (page, outcome) in enumerate(read, 1):
                            print(f"  page {number} ({page.kind}): CER {cer(outcome['text'], page.reference):.2%}, "
                                  f"order-free {order_free_error(outcome['text'], page.reference):.2%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
