"""A crawl of the demo's PDF-only report (demo-qu 2024), on SQLite and PostgreSQL.

It stands for the many real reports published as a PDF under a page whose body is only the
attachment link: the archived report takes its text, sections and tables from the PDF, whose text
layer keeps the page's line breaks (here 保密审查 / 协调机制 at a full line's end, and
政府信息公开属性源头认定机制 over three lines of a narrow box, as in a table cell or one column of a
two-column page).
"""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select

from crawler.demo.site_qu import PDF_ONLY_YEAR, QU_KEY, THREE_LINE_PHRASE, WRAPPED_PHRASE
from storage.db import open_archive
from storage.models import Document, Version
from storage.search import search
from storage.sectioning import SECTION_KEYS, sections_json
from tests.crawler.harness import FAST_CRAWL, RunningDemo, demo, run_nianbao  # noqa: F401


def test_pdf_only_report_is_archived_with_its_text_sections_and_table3_from_the_pdf(
    demo: RunningDemo, tmp_path: Path, database_url: str  # noqa: F811
):
    """A real PDF-only report: its PDF's text (with a phrase wrapped over a line break joined
    again, and one wrapped over three short lines of a narrow box) is the report's text, found by
    search, split into the six post-2019 sections, and its table 3 (unruled text rows in the PDF)
    is complete with every check passed."""
    result = run_nianbao("--db", database_url, "--sites", str(demo.sites_file), "crawl", "-q", *FAST_CRAWL,
                         QU_KEY, cwd=tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout
    report = next(r for r in demo.site.expected_reports if r.site_key == QU_KEY and r.report_year == PDF_ONLY_YEAR)
    pdf = demo.site.pages[report.attachments[0]].body
    raw = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "政府信息\n公开属性源头认定\n机制" in raw and THREE_LINE_PHRASE not in raw  # really over three lines
    with open_archive(database_url)() as session:
        document = session.scalars(select(Document).where(Document.url == demo.url(report.path))).one()
        version = session.get(Version, document.latest_version_id)
        assert version.attachments == [demo.url(p) for p in report.attachments]
        assert WRAPPED_PHRASE in version.body_text
        assert "本报告根据《中华人民共和国政府信息公开条例》" in version.body_text

        hits = search(session, WRAPPED_PHRASE).hits
        assert [h.document_id for h in hits] == [document.id]  # no other demo-qu report has the phrase
        assert THREE_LINE_PHRASE in version.body_text
        assert [h.document_id for h in search(session, THREE_LINE_PHRASE).hits] == [document.id]

        assert version.sections and version.sections == sections_json(version.body_text)
        assert [s["key"] for s in version.sections] == list(SECTION_KEYS)
        assert version.body_text[version.sections[0]["start"]:].startswith("一、总体情况")

        assert version.has_tables and version.tables["format"] == "2021"
        assert list(version.tables["table3"]["rows"].values()) == report.table3
        assert version.tables["checks"] == {"balance": True, "row_totals": True, "outcome_sum": True}
        assert set(version.tables["table4"]) == {"review", "litigation_direct", "litigation_after_review"}
        assert "normative_documents" in version.tables["table2"]

    for phrase in (WRAPPED_PHRASE, THREE_LINE_PHRASE):
        found = run_nianbao("--db", database_url, "search", phrase, "--format", "json", cwd=tmp_path)
        assert found.returncode == 0, found.stderr
        assert report.title in found.stdout
