"""OCR of scanned reports (图片版) in the attachment sandbox, and a crawl that archives one.

Needs the Makefile's SYSTEM_PACKAGES: tesseract-ocr, tesseract-ocr-chi-sim, poppler-utils and
fonts-wqy-zenhei (the demo draws its scanned report with it).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.attachments import ExtractionLimits, extract_text, sniff_media_type
from crawler.attachments.sniff import PDF, PNG
from crawler.demo.content import block_lines
from crawler.demo.image import cjk_font_path, render_pages
from crawler.demo.pdf import make_pdf
from crawler.demo.site import XIAN, _report_content
from storage.db import open_archive
from storage.models import Document, Version
from storage.search import search
from tests.crawler.harness import FAST_CRAWL, run_nianbao

pytestmark = pytest.mark.skipif(
    shutil.which("tesseract") is None or shutil.which("pdftoppm") is None or cjk_font_path() is None,
    reason="needs tesseract-ocr, tesseract-ocr-chi-sim, poppler-utils and fonts-wqy-zenhei (make test installs them)",
)

TITLE = "示范市统计局2022年政府信息公开工作年度报告"
PARAGRAPHS = [
    "本报告根据《中华人民共和国政府信息公开条例》编制，所列数据的统计期限自2022年1月1日起至2022年12月31日止。",
    "一、总体情况",
    "2022年，我局深入贯彻落实《条例》，全年共主动公开政府信息249条，新收政府信息公开申请10件。",
]


def _cer(ocr: str, reference: str) -> float:
    from bench.ocr import cer

    return cer(ocr, reference)


def _rendered_page(tmp_path: Path, dpi: int = 300) -> tuple[Path, str]:
    """Page 1 of a PDF the project writes, rendered by pdftoppm; and its text layer."""
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(make_pdf(TITLE, PARAGRAPHS))
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-singlefile", str(pdf), str(tmp_path / "page")],
                   check=True)
    reference = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    return tmp_path / "page.png", reference


def test_a_rendered_report_page_is_read_by_ocr_in_the_sandbox(tmp_path):
    """A scanned page (a PNG of a report page) is recognised as an image and read by OCR in the
    sandbox child: the text matches the page's own text layer within 3% CER, and the result
    says which engine read it and how confident it was."""
    image, reference = _rendered_page(tmp_path)
    assert sniff_media_type(image.read_bytes(), "http://x/scan.png") == PNG
    result = extract_text(image, PNG)
    assert result.error is None and result.image_only is True
    assert _cer(result.text, reference) <= 0.03, result.text
    assert "政府信息公开条例" in result.text
    assert result.ocr["engine"].startswith("tesseract") and "chi_sim" in result.ocr["engine"]
    assert 50 <= result.ocr["confidence"] <= 100 and result.ocr["pages"] == 1


def test_a_pdf_without_a_text_layer_is_read_by_ocr(tmp_path):
    """A scanned PDF (pages that are only images, as a scanner writes them) has no text layer;
    the sandbox renders its pages and reads them by OCR, and the version-level marking says so."""
    pages = render_pages(TITLE, PARAGRAPHS)
    from PIL import Image

    scan = tmp_path / "scan.pdf"
    Image.open(io.BytesIO(pages[0])).save(scan, "PDF", resolution=150)
    result = extract_text(scan, PDF)
    assert result.error is None and result.image_only is True
    assert "主动公开政府信息249条" in result.text.replace(" ", "")
    assert result.ocr["pages"] == 1


def test_a_tiny_time_limit_is_a_recorded_failure_not_a_hang(tmp_path):
    """OCR runs under the sandbox's limits: with a time limit too short to read a page, the
    result comes back at once with the reason recorded (and the PDF's missing text), and the
    OCR engine started by the child is killed with it."""
    image, _ = _rendered_page(tmp_path)
    started = time.monotonic()
    result = extract_text(image, PNG, ExtractionLimits(ocr_timeout_seconds=0.3))
    assert time.monotonic() - started < 10
    assert result.text is None and result.image_only is True
    assert result.error == "OCR timed out after 0.3s"
    time.sleep(0.5)
    leftover = subprocess.run(["pgrep", "-f", f"tesseract {image.parent}"], capture_output=True)
    assert leftover.returncode == 1, leftover.stdout  # no orphaned engine


def test_a_memory_limit_too_small_is_a_recorded_failure(tmp_path):
    """The sandbox's memory limit applies to OCR too: too little memory is a recorded reason."""
    image, _ = _rendered_page(tmp_path, dpi=150)
    result = extract_text(image, PNG, ExtractionLimits(memory_bytes=64 * 1024 * 1024))
    assert result.text is None and result.error == "OCR exceeded the memory limit (64 MiB)"


def test_ocr_can_be_turned_off(tmp_path):
    """NIANBAO_OCR=0: an image is stored but not read, with the reason recorded."""
    image, _ = _rendered_page(tmp_path, dpi=150)
    result = extract_text(image, PNG, ExtractionLimits(ocr=False))
    assert result.text is None and result.image_only and "OCR is turned off" in result.error


def test_the_demo_scanned_report_is_crawled_ocr_read_and_searchable(demo, tmp_path, database_url):
    """The demo's image-only report (demo-xian 2011: two PNG pages, no text) is archived with
    its OCR text as the body: still flagged image_only, marked with the OCR engine and its
    confidence, split into sections, and found by the full-text search like any report."""
    result = run_nianbao("--db", database_url, "--sites", str(demo.sites_file), "crawl", "-q",
                         *FAST_CRAWL, "demo-xian", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout
    scanned = next(r for r in demo.site.expected_reports if r.report_year == 2011 and r.site_key == "demo-xian")
    reference = "\n".join([scanned.title, *block_lines(_report_content(XIAN, 2011, "xian-2011", {"image_only": True}).blocks)])
    with open_archive(database_url)() as session:
        document = session.scalars(select(Document).where(Document.url == demo.url(scanned.path))).one()
        assert document.title == scanned.title and document.index_no == scanned.index_no
        version = session.get(Version, document.latest_version_id)
        assert version.image_only is True
        ocr = version.tables["ocr"]
        assert ocr["engine"].startswith("tesseract") and ocr["pages"] == 2 and ocr["attachments"] == 2
        assert ocr["confidence"] > 70
        assert _cer(version.body_text, reference) <= 0.03
        assert version.sections  # 一、概述 … split from the OCR text
        hits = search(session, "依申请公开事项").hits
        assert any(hit.document_id == document.id for hit in hits), [h.title for h in hits]


REAL_REPORT = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "attachments" / "szfgs2024.pdf"
needs_real_report = pytest.mark.skipif(not REAL_REPORT.exists(), reason="needs ../shared/corpus (the real reports)")


def _rendered_real_page(tmp_path: Path, number: int, dpi: int = 300) -> tuple[Path, str, str]:
    """Page ``number`` of the real 2024 Huai'an report rendered as a 300-dpi scan would be, with
    its own text layer in reading order (bench.ocr's reference) and its kind (table or prose)."""
    from bench.ocr import reading_order_reference

    prefix = tmp_path / f"real-{number}"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-f", str(number), "-l", str(number),
                    "-singlefile", str(REAL_REPORT), str(prefix)], check=True)
    reference, kind = reading_order_reference(REAL_REPORT, number)
    return prefix.with_suffix(".png"), reference, kind


@needs_real_report
@pytest.mark.parametrize(("number", "bound"), [(4, 0.02), (5, 0.02), (6, 0.02)])
def test_a_scanned_statistics_table_page_reads_within_the_bound(tmp_path, number, bound):
    """A scan of a real report's statistics tables (pages 4 and 5 of szfgs2024.pdf: ruled grids,
    merged header cells, cells that wrap, shaded rows; read as one block they came out at 74% and
    65% CER) is read cell by cell, unsure cells again enlarged: within the issue's 2% CER target
    of the page's own text layer in reading order (1.9% and 0.9% when written; 2.3% and 1.3%
    before the rereading). Page 6 (prose, no rules) stays within the 2% target too."""
    image, reference, kind = _rendered_real_page(tmp_path, number)
    assert kind == ("prose" if number == 6 else "table")
    result = extract_text(image, PNG)
    assert result.error is None and result.text
    assert _cer(result.text, reference) <= bound, result.text


@pytest.fixture(scope="module")
def page_4_text(tmp_path_factory) -> str:
    """The OCR text of page 4 of the real report scanned at 300 dpi, read once for the tests
    below (one read of the page costs ~5 s)."""
    image, _, _ = _rendered_real_page(tmp_path_factory.mktemp("page4"), 4)
    result = extract_text(image, PNG)
    assert result.error is None and result.text is not None
    return result.text


@needs_real_report
def test_a_scanned_table_row_comes_out_as_one_line_of_cells_in_order(page_4_text):
    """The rows of a scanned table keep their cells together and in column order, tab-separated
    (as tables_from_text reads a table): row 2 of 本年度办理结果 (三) on page 4 of the real report,
    not the grid's lines read as 丨 or the numbers of one row spread over several lines."""
    rows = [line.split("\t") for line in page_4_text.splitlines()]
    secrets = next(row for row in rows if row[0].endswith("其他法律行政法规禁止公开"))
    assert secrets[1:] == ["30", "1", "0", "0", "0", "0", "31"]
    assert "丨" not in page_4_text and "|" not in page_4_text


@needs_real_report
def test_cells_read_with_low_confidence_are_read_again_enlarged(page_4_text):
    """Small print in a scanned table (page 4 of the real report, reduced to ~150 dpi for the
    Chinese model) is where chi_sim confuses close glyphs, unsure of itself: a lone 4 read as 了,
    危 as 记. Such cells are read again enlarged and keep the more confident read, so the row of
    new applications has its number 4 and the third reason for withholding reads 危及."""
    rows = [line.split("\t") for line in page_4_text.splitlines()]
    new_applications = next(row for row in rows if row[0].endswith("本年新收政府信息公开申请数量"))
    assert new_applications[1:] == ["3001", "53", "0", "0", "61", "4", "3119"]
    endangering = next(row for row in rows if row[0].endswith("三安全一稳定”"))
    assert endangering[0].startswith("3.危及"), endangering
