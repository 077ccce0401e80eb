"""Content-addressed storage of attachment files: ``<data dir>/attachments/ab/cd/<sha256>``."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from storage.paths import data_dir

__all__ = ["attachment_path", "sha256_of", "store_attachment"]


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def attachment_path(sha256: str, root: Path | None = None) -> Path:
    """Where the file with this digest lives (two levels of two hex digits fan the folder out)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    base = (root if root is not None else data_dir()) / "attachments"
    return base / sha256[:2] / sha256[2:4] / sha256


def store_attachment(content: bytes, root: Path | None = None) -> tuple[str, Path]:
    """Write ``content`` once (atomically: temp file then rename) and return (sha256, path).

    The same bytes always land on the same path, so storing again is a no-op."""
    digest = sha256_of(content)
    path = attachment_path(digest, root)
    if path.exists() and path.stat().st_size == len(content):
        return digest, path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return digest, path
