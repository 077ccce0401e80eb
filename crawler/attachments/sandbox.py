"""Run an attachment reader in a child process with a time, memory and size limit.

The parent never parses attachment bytes itself: a PDF that loops forever, a DOCX that expands
to gigabytes or a reader that crashes costs one child process and one recorded reason. The child
is ``python -m crawler.attachments.sandbox PATH MEDIA_TYPE``; it prints one JSON object. Its
address space is capped with ``RLIMIT_AS`` and its CPU time with ``RLIMIT_CPU`` (POSIX), and the
parent kills it after the wall-clock timeout.

Images (a scanned report's pages) and PDFs without a text layer are then read by OCR
(:mod:`.ocr`) in a second child, ``python -m crawler.attachments.sandbox PATH MEDIA_TYPE MEM CPU
ocr``, with the same memory limit and its own, longer time limit (``ocr_timeout_seconds``). The
child runs in its own session and the whole process group (the OCR engine included) is killed on
timeout, so a stuck engine cannot outlive it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ExtractionLimits", "ExtractionResult", "extract_text"]


@dataclass(frozen=True)
class ExtractionLimits:
    max_bytes: int = 32 * 1024 * 1024  # files larger than this are stored but not read
    timeout_seconds: float = 60.0
    memory_bytes: int = 1024 * 1024 * 1024
    ocr: bool = True  # read images and PDFs without a text layer by OCR
    ocr_timeout_seconds: float = 300.0


@dataclass(frozen=True)
class ExtractionResult:
    text: str | None  # None when extraction failed or was refused
    image_only: bool = False
    error: str | None = None  # the reason there is no text
    # PDFs only: the ruled tables pdfplumber found (grids of cell strings, spans repeated), and
    # the text rebuilt from character positions when neither those grids nor the text gave a
    # whole table 3 (see crawler.attachments.pdf_tables); read by tables_from_attachment.
    grids: list | None = None
    layout_text: str | None = None
    # The text came from OCR: {"engine": "tesseract 5.3.0 chi_sim", "confidence": mean 0–100,
    # "pages": n}; None for a text layer.
    ocr: dict | None = None


def _limit_self(memory_bytes: int, cpu_seconds: int) -> None:
    """In the child, before reading anything: cap its address space and CPU time (POSIX).

    Done in the child rather than through ``preexec_fn``, which is unsafe in a threaded parent
    (the pipeline runs extraction from Twisted's thread pool)."""
    try:
        import resource
    except ImportError:  # not POSIX: the wall-clock timeout still applies
        return
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


_OUT_OF_MEMORY = ("MemoryError", "failed to map segment", "Cannot allocate memory", "std::bad_alloc")


def _run_child(args: list[str], timeout: float, memory_bytes: int) -> tuple[dict | None, str | None]:
    """Run the sandbox child; (its JSON payload, None) or (None, the recorded reason)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "crawler.attachments.sandbox", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        stdout, stderr_bytes = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(child.pid, signal.SIGKILL)  # the child and anything it started (OCR)
        except (ProcessLookupError, PermissionError):
            child.kill()
        child.communicate()
        return None, f"timed out after {timeout:g}s"
    finally:
        if child.poll() is None:
            child.kill()
    if child.returncode != 0:
        stderr = stderr_bytes.decode("utf-8", errors="replace")
        if any(marker in stderr for marker in _OUT_OF_MEMORY) or child.returncode in (-9, 137):
            return None, f"exceeded the memory limit ({memory_bytes // 2**20} MiB)"
        if child.returncode in (-24, 152):  # SIGXCPU
            return None, f"exceeded the CPU limit ({timeout:g}s)"
        last = stderr.strip().splitlines()[-1:] or [f"exit status {child.returncode}"]
        return None, f"failed: {last[0][:200]}"
    try:
        return json.loads(stdout), None
    except ValueError:
        return None, "failed: unreadable child output"


def _wants_ocr(media_type: str, result: ExtractionResult) -> bool:
    from crawler.attachments.sniff import IMAGE_TYPES, PDF

    return media_type in IMAGE_TYPES or (media_type == PDF and result.image_only)


def extract_text(path: Path, media_type: str, limits: ExtractionLimits | None = None) -> ExtractionResult:
    """The text of the stored file at ``path``, read in a limited child process (by OCR for an
    image or a PDF without a text layer, when ``limits.ocr``)."""
    from crawler.attachments.sniff import IMAGE_TYPES

    limits = limits or ExtractionLimits()
    size = path.stat().st_size
    if size > limits.max_bytes:
        return ExtractionResult(
            None, error=f"file too large to read: {size} bytes (limit {limits.max_bytes})"
        )
    if media_type in IMAGE_TYPES:
        result = ExtractionResult(None, image_only=True)
    else:
        payload, reason = _run_child(
            [str(path), media_type, str(limits.memory_bytes), str(int(limits.timeout_seconds) + 1)],
            limits.timeout_seconds, limits.memory_bytes,
        )
        if payload is None:
            return ExtractionResult(None, error=f"text extraction {reason}")
        grids = payload.get("grids")
        result = ExtractionResult(payload.get("text"), bool(payload.get("image_only")), payload.get("error"),
                                  grids=grids if isinstance(grids, list) else None,
                                  layout_text=payload.get("layout_text"))
    if not limits.ocr or not _wants_ocr(media_type, result):
        if media_type in IMAGE_TYPES:
            return ExtractionResult(None, image_only=True, error="an image: OCR is turned off")
        return result
    return _ocr(path, media_type, limits, result)


def _ocr(path: Path, media_type: str, limits: ExtractionLimits, before: ExtractionResult) -> ExtractionResult:
    payload, reason = _run_child(
        [str(path), media_type, str(limits.memory_bytes), str(int(limits.ocr_timeout_seconds) + 1), "ocr"],
        limits.ocr_timeout_seconds, limits.memory_bytes,
    )
    if payload is None or payload.get("error"):
        why = f"OCR {reason}" if payload is None else payload["error"]
        if payload is not None and any(m in why for m in _OUT_OF_MEMORY):  # the engine's own failure
            why = f"OCR exceeded the memory limit ({limits.memory_bytes // 2**20} MiB)"
        return ExtractionResult(before.text, image_only=True, error=why)
    text = payload.get("text") or ""
    if not text.strip():  # blank pages: OCR ran and found nothing (not a failure)
        return ExtractionResult(before.text, image_only=True, ocr=payload.get("ocr"))
    return ExtractionResult(text, image_only=True, ocr=payload.get("ocr"))


def _pdf_tables(path: Path, text: str) -> dict:
    """In the child: pdfplumber's grids of a PDF, and its positional text when the grids and
    pypdf's text both leave table 3 short. A pdfplumber failure costs the grids, not the text."""
    from crawler.attachments.pdf_tables import layout_text, pdf_grids
    from crawler.extract.tables import tables_from_attachment

    out: dict = {}
    try:
        out["grids"] = pdf_grids(path)
        found = tables_from_attachment(text, out["grids"])
        whole = bool(found and (found.get("completeness") or {}).get("table3", {}).get("status") == "complete")
        if not whole and "新收" in text:
            out["layout_text"] = layout_text(path)
    except Exception as exc:  # pdfminer raises many kinds on odd PDFs; the text still counts
        out["tables_error"] = f"{type(exc).__name__}: {exc}"[:200]
    return out


def _ocr_child(path: Path, media_type: str) -> dict:
    from crawler.attachments.ocr import OcrError, ocr_image, ocr_pdf
    from crawler.attachments.sniff import PDF

    try:
        result = ocr_pdf(path) if media_type == PDF else ocr_image(path)
    except OcrError as exc:
        return {"text": None, "error": str(exc)}
    return {"text": result.text, "ocr": result.provenance(), "error": None}


def _child(argv: list[str]) -> int:

    path, media_type = Path(argv[0]), argv[1]
    _limit_self(int(argv[2]), int(argv[3]))
    if argv[4:5] == ["ocr"]:
        sys.stdout.write(json.dumps(_ocr_child(path, media_type), ensure_ascii=False))
        return 0
    from crawler.attachments.readers import UnreadableError, read_file
    from crawler.attachments.sniff import PDF
    try:
        text, image_only = read_file(path, media_type)
        payload = {"text": text, "image_only": image_only, "error": None}
        if media_type == PDF and text and not image_only:
            payload.update(_pdf_tables(path, text))
    except UnreadableError as exc:
        payload = {"text": None, "image_only": False, "error": str(exc)}
    sys.stdout.write(json.dumps(payload, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
