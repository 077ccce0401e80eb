"""The real saved bureau pages (../shared/corpus/dev): every page extracts, and body text.

Field-by-field accuracy against MANIFEST.tsv is measured through the command line, in
tests/crawler/cli/test_app.py. Run with ``-s`` to see the body scores.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from crawler.extract import extract_detail_from_bytes

pytestmark = pytest.mark.corpus

# Body text against the independent reference text (page.txt, lines after 正文:).
MIN_BODY_PRECISION = 0.98
MIN_BODY_F1 = 0.87
CLEAN_REFERENCE_F1 = 0.97


def manifest(corpus: Path) -> list[dict[str, str]]:
    with (corpus / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def bigram_scores(got: str, reference: str) -> tuple[float, float, float]:
    """(precision, recall, F1) of character bigrams, whitespace removed."""

    def bigrams(text: str) -> Counter:
        text = re.sub(r"\s+", "", text)
        return Counter(text[i:i + 2] for i in range(len(text) - 1))

    a, b = bigrams(got), bigrams(reference)
    overlap = sum((a & b).values())
    if not overlap:
        return 0.0, 0.0, 0.0
    precision = overlap / sum(a.values())
    recall = overlap / sum(b.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


@pytest.fixture(scope="module")
def extracted(corpus_dev: Path):
    results = []
    for row in manifest(corpus_dev):
        raw = (corpus_dev / row["id"] / "page.html").read_bytes()
        fields, decoded = extract_detail_from_bytes(raw, row["url"])
        results.append((row, fields, decoded))
    return results


def test_every_page_extracts_without_error(extracted):
    for row, fields, decoded in extracted:
        assert not decoded.had_replacements, row["id"]
        assert set(fields.to_json_dict()) == {
            "title", "index_no", "publisher", "pub_date", "doc_no", "topic", "report_year",
            "body_text", "attachments", "tables",
        }
        if row["kind"] != "list":  # a column page's content is its links, not a body
            assert fields.body_text, row["id"]


def test_body_text_against_reference(extracted, corpus_dev: Path):
    scored = []
    for row, fields, _ in extracted:
        if row.get("reference_txt") != "page.txt":
            continue
        text = (corpus_dev / row["id"] / "page.txt").read_text(encoding="utf-8")
        reference = text.split("正文:", 1)[1]
        scored.append((row["id"], *bigram_scores(fields.body_text, reference)))
    assert scored
    print("\nbody text vs page.txt (character bigrams, whitespace removed)")
    for page_id, precision, recall, f1 in scored:
        print(f"  {page_id:18s} P={precision:.4f} R={recall:.4f} F1={f1:.4f}")
    for page_id, precision, _recall, f1 in scored:
        # Some references also hold the site's side navigation and page chrome, which a body
        # extractor should leave out: there recall (not precision) drops below the F1 target.
        assert precision >= MIN_BODY_PRECISION, page_id
        assert f1 >= MIN_BODY_F1, page_id
    assert sum(f1 >= CLEAN_REFERENCE_F1 for *_, f1 in scored) >= 3


def test_report_bodies_hold_the_report(extracted):
    for row, fields, _ in extracted:
        if row["kind"] == "report":
            assert "政府信息公开" in fields.body_text, row["id"]
            assert len(fields.body_text) > 500, row["id"]
