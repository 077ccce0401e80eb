"""The WARC writer: whole gzip members, rotation, recovery of files a killed writer left."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from warcio.archiveiterator import ArchiveIterator

from crawler.capture import records
from crawler.capture.warc import (
    OPEN_SUFFIX,
    WarcWriteError,
    WarcWriter,
    complete_length,
    recover_open_files,
)
from storage.evidence import read_response

MOMENT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
URL = "http://127.0.0.1:8765/tjj/zfxxgk/zfxxgknb/202401/t20240115_1001.htm"


def _exchange(body: bytes = "<html><body>年报</body></html>".encode()) -> tuple[object, object]:
    request = Request(URL, headers={"User-Agent": "nianbao-test"})
    response = HtmlResponse(
        URL, status=200, body=body, request=request,
        headers={"Content-Type": "text/html; charset=utf-8", "ETag": '"abc"',
                 "Transfer-Encoding": "chunked"},
    )
    exchange = records.Exchange.of(request, response)
    main = records.response_record(URL, exchange, MOMENT)
    main_id = main.rec_headers.get_header("WARC-Record-ID")
    return main, records.request_record(URL, exchange, MOMENT, main_id)


def warcio_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    """``warcio check`` and ``warcio index`` as a reader would run them."""
    warcio = [sys.executable, "-m", "warcio.cli"]
    check = subprocess.run([*warcio, "check", *map(str, paths)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    index = subprocess.run([*warcio, "index", *map(str, paths)], capture_output=True, text=True, check=False)
    assert index.returncode == 0, index.stderr
    return index


def test_records_are_written_whole_and_read_back(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, fsync=False)
    body = "<html><body>政府信息公开工作年度报告</body></html>".encode()
    response_at, request_at = writer.append(*_exchange(body))
    assert writer.current_file is not None
    assert (tmp_path / (writer.current_file + OPEN_SUFFIX)).exists()
    writer.close()
    path = tmp_path / response_at.file
    assert path.exists() and not (tmp_path / (response_at.file + OPEN_SUFFIX)).exists()
    assert request_at.offset == response_at.offset + response_at.length

    archived = read_response(tmp_path, response_at.file, response_at.offset)
    assert archived.status == 200 and archived.body == body
    names = {name.lower() for name, _ in archived.headers}
    assert "transfer-encoding" not in names  # the body is stored de-chunked
    assert ("Content-Length", str(len(body))) in archived.headers

    index = warcio_check(path)
    kinds = [line for line in index.stdout.splitlines() if '"warc-type"' in line]
    assert [k.split('"warc-type": "')[1].split('"')[0] for k in kinds] == [
        "warcinfo", "response", "request"]
    with path.open("rb") as handle:
        for record in ArchiveIterator(handle):
            assert record.rec_headers.protocol == "WARC/1.1"


def test_files_rotate_at_the_size_limit_and_are_never_reopened(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, max_bytes=3000, fsync=False)
    files = {writer.append(*_exchange(b"x" * 900 + bytes([n])))[0].file for n in range(6)}
    writer.close()
    assert len(files) >= 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
    warcio_check(*sorted(tmp_path.iterdir()))


def test_revisit_records_pass_the_checks(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, fsync=False)
    body = b"<html>same</html>"
    first, _ = writer.append(*_exchange(body))
    request = Request(URL)
    again = HtmlResponse(URL, status=200, body=body, request=request)
    same = records.revisit_record(
        URL, records.Exchange.of(request, again), MOMENT, refers_to_uri=URL, refers_to_date=MOMENT,
        refers_to_record_id=first.record_id, digest=records.payload_digest(body),
        not_modified=False)
    unchanged = HtmlResponse(URL, status=304, body=b"", request=request)
    not_modified = records.revisit_record(
        URL, records.Exchange.of(request, unchanged), MOMENT, refers_to_uri=URL, refers_to_date=MOMENT,
        refers_to_record_id=first.record_id, digest=None, not_modified=True)
    writer.append(same, not_modified)
    writer.close()
    index = warcio_check(tmp_path / first.file).stdout
    assert index.count('"warc-type": "revisit"') == 2
    with (tmp_path / first.file).open("rb") as handle:
        revisits = [r for r in ArchiveIterator(handle) if r.rec_type == "revisit"]
    profiles = [r.rec_headers.get_header("WARC-Profile") for r in revisits]
    assert profiles == [
        "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
        records.NOT_MODIFIED_PROFILE,
    ]
    for revisit in revisits:
        assert revisit.rec_headers.get_header("WARC-Refers-To-Target-URI") == URL
        assert revisit.rec_headers.get_header("WARC-Refers-To-Date")
        assert revisit.rec_headers.get_header("WARC-Refers-To") == first.record_id


def test_recovery_cuts_a_half_written_record_and_finishes_the_file(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, fsync=False)
    writer.append(*_exchange())
    name = writer.current_file
    assert name is not None
    open_path = tmp_path / (name + OPEN_SUFFIX)
    whole = open_path.stat().st_size
    # What a SIGKILL in the middle of a write leaves: part of the next gzip member.
    member, _ = writer._member(_exchange(b"y" * 5000)[0])
    with open_path.open("ab") as handle:
        handle.write(member[: len(member) // 2])
    os.close(writer._fd)  # the process died: its lock is gone
    writer._fd = None

    assert complete_length(open_path) < open_path.stat().st_size
    recovered = recover_open_files(tmp_path)
    assert recovered == [tmp_path / name]
    assert (tmp_path / name).stat().st_size == whole
    warcio_check(tmp_path / name)


def test_recovery_leaves_files_of_a_live_writer_alone(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, fsync=False)
    writer.append(*_exchange())
    assert recover_open_files(tmp_path) == []
    assert (tmp_path / (writer.current_file + OPEN_SUFFIX)).exists()
    writer.close()


def test_recovery_removes_a_file_without_a_complete_record(tmp_path: Path) -> None:
    stale = tmp_path / ("nianbao-x" + ".warc.gz" + OPEN_SUFFIX)
    stale.write_bytes(b"\x1f\x8b\x08\x00 half a header")
    assert recover_open_files(tmp_path) == []
    assert not stale.exists()


def test_an_unusable_folder_is_one_clear_error(tmp_path: Path) -> None:
    # A path under a regular file cannot be created even by root (tests may run as root,
    # for whom a read-only folder is still writable).
    (tmp_path / "not-a-folder").write_text("x")
    with pytest.raises(WarcWriteError, match=r"cannot create the WARC folder .*not-a-folder"):
        WarcWriter(tmp_path / "not-a-folder" / "warc", fsync=False).append(*_exchange())


def test_a_failed_write_takes_back_the_partial_record(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, fsync=False)
    writer.append(*_exchange())
    size = os.fstat(writer._fd).st_size
    fd = writer._fd
    read_only = os.open(tmp_path / (writer.current_file + OPEN_SUFFIX), os.O_RDONLY)
    writer._fd = read_only  # every write now fails with EBADF
    with pytest.raises(WarcWriteError, match="cannot write WARC file"):
        writer.append(*_exchange())
    writer._fd = fd
    assert os.fstat(fd).st_size == size
    os.close(read_only)
    writer.close()
    warcio_check(*tmp_path.iterdir())
