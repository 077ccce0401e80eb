"""OCR accuracy and speed: character error rate on report pages rendered to images.

Pages: the demo's generated PDF (crawler.demo) and, when present, the real report
``../shared/corpus/attachments/szfgs2024.pdf`` (read in place, never copied), each rendered with
``pdftoppm`` at 150 and 300 dpi (greyscale PNG). Reference: the page's own text layer
(``pdftotext``). CER = Levenshtein distance / reference length, whitespace removed on both sides
(OCR and the text layer break lines differently); ``cer_nfkc`` also folds full- and half-width
forms (``（`` = ``(``), so it counts only wrong characters, not punctuation width.

Each page is read in its own child process (``python -m bench.ocr --page``), so the peak memory
is that process's maximum RSS (engine subprocesses included). Engines: ``tesseract`` (the
project's crawler.attachments.ocr) and, with ``--rapidocr-python PY`` (a Python that has
``rapidocr-onnxruntime`` installed), RapidOCR's PP-OCRv4 models for comparison.

    .venv/bin/python -m bench.ocr [--pages N] [--rapidocr-python /path/to/python]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import unicodedata
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
    stdout = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS (its children's too)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{engine} failed on {image}")
    seconds = time.perf_counter() - started
    out = json.loads(stdout.decode("utf-8").strip().splitlines()[-1])
    out.update(seconds=seconds, peak_mib=round(usage.ru_maxrss / 1024, 1))
    return out


def _render(pdf: Path, dpi: int, workdir: Path, pages: int) -> list[tuple[Path, str]]:
    out = []
    for number in range(1, pages + 1):
        prefix = workdir / f"{pdf.stem}-{dpi}-{number}"
        done = subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-f", str(number), "-l",
                               str(number), "-singlefile", str(pdf), str(prefix)], capture_output=True)
        if done.returncode != 0:
            break
        reference = subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"],
                                   capture_output=True, check=True).stdout.decode("utf-8")
        out.append((prefix.with_suffix(".png"), reference))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", help=argparse.SUPPRESS)
    parser.add_argument("--pages", type=int, default=6, help="pages per document (default 6)")
    parser.add_argument("--rapidocr-python", help="a Python with rapidocr-onnxruntime, to compare")
    parser.add_argument("--dpi", type=int, nargs="*", default=[150, 300])
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
        print("| document | dpi | engine | pages | CER | CER (NFKC) | mean conf | pages/s | peak MiB |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for label, pdf in documents:
            for dpi in args.dpi:
                rendered = _render(pdf, dpi, workdir, args.pages)
                for engine in engines:
                    edits = edits_nfkc = chars = 0
                    seconds = peak = 0.0
                    confs = []
                    for image, reference in rendered:
                        page = _page_child(str(image), engine, args.rapidocr_python)
                        ref = _squash(reference)
                        edits += round(cer(page["text"], reference) * len(ref))
                        edits_nfkc += round(cer(page["text"], reference, True) * len(_squash(reference, True)))
                        chars += len(ref)
                        seconds += page["seconds"]
                        peak = max(peak, page["peak_mib"])
                        if page.get("confidence") is not None:
                            confs.append(page["confidence"])
                    n = len(rendered)
                    print(f"| {label} | {dpi} | {engine} | {n} | {edits / chars:.2%} | {edits_nfkc / chars:.2%} "
                          f"| {sum(confs) / max(len(confs), 1):.1f} | {n / seconds:.2f} | {peak:.0f} |",
                          flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
