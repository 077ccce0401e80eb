"""Every attachment kind read through the sandbox, and hostile files refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.attachments import (
    ExtractionLimits,
    attachment_path,
    extract_text,
    sniff_media_type,
    store_attachment,
)
from crawler.attachments.sniff import DOC, DOCX, OFD, PDF, WPS, XLS, XLSX
from crawler.demo.content import table_grid
from crawler.demo.docx import make_docx
from crawler.demo.pdf import make_pdf
from crawler.extract.tables import tables_from_text
from tests.crawler.attachments.fixtures import (
    make_blank_pdf,
    make_ofd,
    make_word97,
    make_xls,
    make_xlsx,
    make_zip_bomb,
)

TITLE = "示范市统计局2023年政府信息公开工作年度报告"
LINES = [TITLE, "一、总体情况", "本年度主动公开政府信息128条，收到政府信息公开申请10件。"]


def _read(tmp_path: Path, content: bytes, name: str, limits: ExtractionLimits | None = None):
    _digest, path = store_attachment(content, tmp_path)
    media_type = sniff_media_type(content, f"http://x.gov.cn/files/{name}")
    return media_type, extract_text(path, media_type, limits)


@pytest.mark.parametrize(
    ("name", "make", "media_type"),
    [
        ("a.pdf", lambda: make_pdf(TITLE, LINES), PDF),
        ("a.docx", lambda: make_docx(TITLE, LINES, [["指标", "数量"], ["主动公开", "128"]]), DOCX),
        ("a.doc", lambda: make_word97(LINES), DOC),
        ("a.wps", lambda: make_word97(LINES), WPS),
        ("a.xls", lambda: make_xls("表1", [[line] for line in LINES]), XLS),
        ("a.xlsx", lambda: make_xlsx([[line] for line in LINES]), XLSX),
        ("a.ofd", lambda: make_ofd(LINES), OFD),
    ],
)
def test_every_kind_is_detected_and_read(tmp_path, name, make, media_type):
    detected, result = _read(tmp_path, make(), name)
    assert detected == media_type
    assert result.error is None, result.error
    assert result.image_only is False
    text = "".join(result.text.split())
    for line in LINES:
        assert "".join(line.split()) in text, (name, line)


def test_content_addressed_store_is_idempotent(tmp_path):
    digest, path = store_attachment(b"%PDF-1.4 same bytes", tmp_path)
    again, path_again = store_attachment(b"%PDF-1.4 same bytes", tmp_path)
    assert (digest, path) == (again, path_again)
    assert path == tmp_path / "attachments" / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == b"%PDF-1.4 same bytes"
    with pytest.raises(ValueError):
        attachment_path("../../etc/passwd", tmp_path)


def test_a_word_table_in_a_docx_gives_table3(tmp_path):
    import random

    from crawler.demo.content import make_table3_numbers, table3

    numbers = make_table3_numbers(random.Random(5), "2021", 30)
    grid = table_grid(table3(numbers, "2021"))
    _, result = _read(tmp_path, make_docx(TITLE, LINES, grid), "r.docx")
    tables = tables_from_text(result.text, 2023)
    assert tables["format"] == "2021"
    assert list(tables["table3"]["rows"].values()) == numbers
    assert tables["checks"] == {"balance": True, "row_totals": True, "outcome_sum": True}


def test_a_pdf_without_a_text_layer_is_image_only(tmp_path):
    media_type, result = _read(tmp_path, make_blank_pdf(), "scan.pdf")
    assert media_type == PDF
    assert result.image_only is True and result.error is None


def test_corrupt_pdf_is_recorded_with_a_reason(tmp_path):
    good = make_pdf(TITLE, LINES)
    for broken in (good[: len(good) // 3] + b"\x00garbage" * 50, b"%PDF-1.7\n" + b"\xff" * 2000):
        _, result = _read(tmp_path, broken, "broken.pdf")
        assert result.text is None
        assert result.error.startswith("corrupt PDF"), result.error


@pytest.mark.parametrize("kind", ["docx", "xlsx", "ofd"])
def test_zip_bombs_are_refused_before_decompression(tmp_path, kind):
    _, result = _read(tmp_path, make_zip_bomb(kind), f"bomb.{kind}")
    assert result.text is None
    assert result.error.startswith("zip bomb suspected")


def test_oversized_file_is_stored_but_not_read(tmp_path):
    content = make_pdf(TITLE, LINES)
    _digest, path = store_attachment(content, tmp_path)
    result = extract_text(path, PDF, ExtractionLimits(max_bytes=len(content) - 1))
    assert result.text is None and result.error.startswith("file too large to read")
    assert path.read_bytes() == content  # nothing lost


def test_memory_and_time_limits_stop_the_child(tmp_path):
    content = make_pdf(TITLE, LINES)
    _, path = store_attachment(content, tmp_path)
    starved = extract_text(path, PDF, ExtractionLimits(memory_bytes=32 * 1024 * 1024))
    assert starved.text is None and "memory limit" in starved.error
    rushed = extract_text(path, PDF, ExtractionLimits(timeout_seconds=0.01))
    assert rushed.text is None and "timed out" in rushed.error


def test_unknown_bytes_are_unsupported(tmp_path):
    media_type, result = _read(tmp_path, b"<html>not a file</html>", "x.pdf.html")
    assert media_type == "application/octet-stream"
    assert result.error.startswith("unsupported file type")
