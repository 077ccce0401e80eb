"""Run an attachment reader in a child process with a time, memory and size limit.

The parent never parses attachment bytes itself: a PDF that loops forever, a DOCX that expands
to gigabytes or a reader that crashes costs one child process and one recorded reason. The child
is ``python -m crawler.attachments.sandbox PATH MEDIA_TYPE``; it prints one JSON object. Its
address space is capped with ``RLIMIT_AS`` and its CPU time with ``RLIMIT_CPU`` (POSIX), and the
parent kills it after the wall-clock timeout.
"""

from __future__ import annotations

import json
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


@dataclass(frozen=True)
class ExtractionResult:
    text: str | None  # None when extraction failed or was refused
    image_only: bool = False
    error: str | None = None  # the reason there is no text


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


def extract_text(path: Path, media_type: str, limits: ExtractionLimits | None = None) -> ExtractionResult:
    """The text of the stored file at ``path``, read in a limited child process."""
    limits = limits or ExtractionLimits()
    size = path.stat().st_size
    if size > limits.max_bytes:
        return ExtractionResult(
            None, error=f"file too large to read: {size} bytes (limit {limits.max_bytes})"
        )
    try:
        done = subprocess.run(
            [
                sys.executable, "-m", "crawler.attachments.sandbox", str(path), media_type,
                str(limits.memory_bytes), str(int(limits.timeout_seconds) + 1),
            ],
            capture_output=True,
            timeout=limits.timeout_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ExtractionResult(None, error=f"text extraction timed out after {limits.timeout_seconds:g}s")
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", errors="replace")
        out_of_memory = ("MemoryError", "failed to map segment", "Cannot allocate memory")
        if any(marker in stderr for marker in out_of_memory) or done.returncode in (-9, 137):
            reason = f"text extraction exceeded the memory limit ({limits.memory_bytes // 2**20} MiB)"
        elif done.returncode in (-24, 152):  # SIGXCPU
            reason = f"text extraction exceeded the CPU limit ({limits.timeout_seconds:g}s)"
        else:
            last = stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
            reason = f"text extraction failed: {last[0][:200]}"
        return ExtractionResult(None, error=reason)
    try:
        payload = json.loads(done.stdout)
    except ValueError:
        return ExtractionResult(None, error="text extraction failed: unreadable child output")
    return ExtractionResult(payload.get("text"), bool(payload.get("image_only")), payload.get("error"))


def _child(argv: list[str]) -> int:

    path, media_type = Path(argv[0]), argv[1]
    _limit_self(int(argv[2]), int(argv[3]))
    from crawler.attachments.readers import UnreadableError, read_file
    try:
        text, image_only = read_file(path, media_type)
        payload = {"text": text, "image_only": image_only, "error": None}
    except UnreadableError as exc:
        payload = {"text": None, "image_only": False, "error": str(exc)}
    sys.stdout.write(json.dumps(payload, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
