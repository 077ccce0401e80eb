"""Append-only, crash-safe WARC 1.1 files.

Every record is one gzip member (the usual ``.warc.gz`` layout, which lets a reader seek to a
record's offset). A file being written is named ``NAME.warc.gz.open`` and holds an exclusive
``flock``; records are built in memory and appended with one ``write`` followed by ``fsync``
(or, with ``fsync=False``, made durable together by :meth:`WarcWriter.sync`), so the caller may
commit a database row pointing at a record once it is synced. When the file reaches its size
limit (or the writer closes) it is renamed to ``NAME.warc.gz`` and never touched again.

A process killed mid-write leaves an ``.open`` file whose last gzip member may be cut short.
:func:`recover_open_files` (run before a crawl) truncates such a file after its last complete
member and renames it, so every file a reader sees is made of whole records. Files still
locked by a live writer are left alone. Database rows store the final name; a reader that
does not find it looks for the ``.open`` file (see :func:`resolve`).
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import os
import socket
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from warcio.warcwriter import WARCWriter

from crawler.errors import StorageError
from crawler.typed_defaults import int_default
from storage.evidence import OPEN_SUFFIX

__all__ = [
    "OPEN_SUFFIX",
    "WARC_SUFFIX",
    "RecordLocation",
    "WarcWriteError",
    "WarcWriter",
    "complete_length",
    "recover_open_files",
]

WARC_SUFFIX = ".warc.gz"
DEFAULT_MAX_BYTES = int_default("NIANBAO_WARC_MAX_BYTES")  # 1 GiB
GZIP_LEVEL = 6
_CHUNK = 1 << 16


class WarcWriteError(StorageError):
    """A WARC file could not be created or written (full disk, unwritable folder ...)."""


@dataclass(frozen=True)
class RecordLocation:
    """Where an appended record is: file name (final name), record id, offset and length."""

    file: str
    record_id: str
    offset: int
    length: int


def complete_length(path: Path) -> int:
    """Length of the prefix of ``path`` made of complete gzip members."""
    good = 0  # end of the last complete member
    fed = 0  # file bytes given to the current member's decompressor
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    with path.open("rb") as handle:
        chunk = handle.read(_CHUNK)
        while chunk:
            try:
                decompressor.decompress(chunk)
            except zlib.error:
                break
            if not decompressor.eof:
                fed += len(chunk)
                chunk = handle.read(_CHUNK)
                continue
            # The member ended inside this chunk; what follows starts the next member.
            rest = decompressor.unused_data
            good += fed + len(chunk) - len(rest)
            fed = 0
            decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
            chunk = rest or handle.read(_CHUNK)
    return good


def recover_open_files(directory: Path) -> list[Path]:
    """Finish the ``.open`` files a killed writer left behind; return the final paths.

    Each is truncated after its last complete gzip member and renamed to its final name; one
    with no complete record at all is removed. Files locked by a live writer are skipped.
    """
    recovered: list[Path] = []
    if not directory.is_dir():
        return recovered
    for open_path in sorted(directory.glob("*" + WARC_SUFFIX + OPEN_SUFFIX)):
        try:
            fd = os.open(open_path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer owns it
            good = complete_length(open_path)
            final = open_path.with_name(open_path.name[: -len(OPEN_SUFFIX)])
            if good == 0:
                open_path.unlink()
                continue
            os.ftruncate(fd, good)
            os.fsync(fd)
            os.rename(open_path, final)
            recovered.append(final)
        finally:
            os.close(fd)
    if recovered:
        _fsync_directory(directory)
    return recovered


class WarcWriter:
    """Appends records to rotating WARC files in ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        prefix: str = "nianbao",
        fsync: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.prefix = prefix
        self.fsync = fsync
        self._fd: int | None = None
        self._name: str | None = None  # final name of the current file
        self._size = 0
        self._serial = 0
        self.finished: list[str] = []

    # --- public -------------------------------------------------------------------------

    def append(self, *records: object) -> list[RecordLocation]:
        """Write warcio records (one gzip member each) durably; their locations, in order."""
        members = [self._member(record) for record in records]
        data = b"".join(blob for blob, _ in members)
        if self._fd is not None and self._size and self._size + len(data) > self.max_bytes:
            self.close()
        if self._fd is None:
            self._open_new()
        assert self._fd is not None and self._name is not None
        start = self._size
        self._write(data)
        locations = []
        offset = start
        for blob, record_id in members:
            locations.append(RecordLocation(self._name, record_id, offset, len(blob)))
            offset += len(blob)
        return locations

    def sync(self) -> None:
        """Make everything appended so far durable (the archive writer calls it once per batch,
        before committing the rows that point at the batch's records)."""
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise WarcWriteError(f"cannot write WARC file {self._name}: {_reason(exc)}") from None

    def close(self) -> None:
        """Finish the current file: rename it to its final name. Safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        assert self._name is not None
        open_path = self.directory / (self._name + OPEN_SUFFIX)
        try:
            os.fsync(fd)
            os.rename(open_path, self.directory / self._name)
            _fsync_directory(self.directory)
        except OSError as exc:
            raise WarcWriteError(f"cannot finish WARC file {open_path}: {_reason(exc)}") from None
        finally:
            os.close(fd)
        self.finished.append(self._name)
        self._name = None
        self._size = 0

    @property
    def current_file(self) -> str | None:
        return self._name

    # --- internals ----------------------------------------------------------------------

    def _member(self, record: object) -> tuple[bytes, str]:
        buffer = BytesIO()
        WARCWriter(buffer, gzip=False, warc_version="1.1").write_record(record)
        record_id = record.rec_headers.get_header("WARC-Record-ID")  # type: ignore[attr-defined]
        # One gzip member per record (warcio's own gzip uses level 9: much slower, barely smaller).
        return gzip.compress(buffer.getvalue(), compresslevel=GZIP_LEVEL, mtime=0), record_id

    def _open_new(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarcWriteError(
                f"cannot create the WARC folder {self.directory}: {_reason(exc)}"
            ) from None
        self._serial += 1
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        name = f"{self.prefix}-{stamp}-{os.getpid()}-{self._serial:05d}{WARC_SUFFIX}"
        open_path = self.directory / (name + OPEN_SUFFIX)
        try:
            fd = os.open(open_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        except OSError as exc:
            raise WarcWriteError(f"cannot create WARC file {open_path}: {_reason(exc)}") from None
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd, self._name, self._size = fd, name, 0
        writer = WARCWriter(BytesIO(), gzip=True, warc_version="1.1")
        info = writer.create_warcinfo_record(
            name,
            {
                "software": "nianbao (warcio)",
                "hostname": socket.gethostname(),
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                "warc-format/warc-1.1/",
            },
        )
        blob, _ = self._member(info)
        self._write(blob)

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        try:
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            if self.fsync:
                os.fsync(self._fd)
        except OSError as exc:
            # Take back whatever part of the record reached the file, so no reader meets it.
            # If this fails too, recover_open_files cuts it off at the next start.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            name = self._name
            raise WarcWriteError(f"cannot write WARC file {name}: {_reason(exc)}") from None
        self._size += len(data)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
