"""Extraction accuracy and speed on the real saved pages of ``../shared/corpus/dev``.

Scores what ``nianbao extract`` returns against the labels in ``MANIFEST.tsv``:

- per metadata field: exact-match rate over the pages that show the field (a non-empty label),
  the rate of null over the pages that do not, and every miss;
- body text: character-bigram F1 (whitespace removed) against the reference text in a page's
  ``page.txt`` (the lines after ``正文:``), for nianbao and for trafilatura with its default
  settings on the same pages. Some references begin with the site's navigation menu (the column
  links, the title and the 发布时间 line before the first line of the report); a second column
  scores against the reference with that leading block removed, by one rule for every page:
  drop the reference's lines up to and including the first ``发布时间`` line when it comes
  before the report text;
- speed: pages per second, nianbao (decode + metadata + body + tables: the whole
  ``extract_detail_from_bytes``) and trafilatura (``trafilatura.extract`` on the same bytes),
  measured in the same run, one after the other, on one core.

Run: ``.venv/bin/python bench/extraction.py [--corpus DIR] [--repeat N] [--no-write]``; it prints
a table and writes the figures with the command into BENCHMARKS.md (section ``extraction``).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crawler.extract import extract_detail_from_bytes  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "dev"
FIELDS = ("title", "report_year", "pub_date", "publisher", "index_no", "doc_no", "topic")
# Pages that are neither a report nor another detail page (a column list) are not extracted.
SKIP_KINDS = {"list"}
_WS = re.compile(r"\s+")


def bigram_f1(got: str, reference: str) -> float:
    """Character-bigram F1, whitespace removed."""

    def bigrams(text: str) -> Counter[str]:
        text = _WS.sub("", text)
        return Counter(text[i : i + 2] for i in range(len(text) - 1))

    a, b = bigrams(got), bigrams(reference)
    overlap = sum((a & b).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(a.values()), overlap / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def reference_body(page_txt: str) -> str:
    """The reference text: the lines after ``正文:``."""
    return page_txt.split("正文:", 1)[1] if "正文:" in page_txt else ""


def without_leading_navigation(reference: str) -> str:
    """The reference minus a leading navigation block ending in a ``发布时间`` line.

    Only when that line comes within the first quarter of the text, i.e. before the report."""
    lines = reference.splitlines()
    cutoff = len(reference) // 4
    seen = 0
    for index, line in enumerate(lines):
        seen += len(line) + 1
        if seen > cutoff:
            break
        if line.strip().startswith("发布时间"):
            return "\n".join(lines[index + 1 :])
    return reference


@dataclass
class FieldScore:
    shown: int = 0
    exact: int = 0
    not_shown: int = 0
    null_when_not_shown: int = 0
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # page, expected, got


def _as_label(value: object) -> str:
    return "" if value is None else str(value)


def load_pages(corpus: Path) -> list[tuple[dict[str, str], bytes]]:
    with (corpus / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["kind"] not in SKIP_KINDS]
    return [(row, (corpus / row["id"] / "page.html").read_bytes()) for row in rows]


def pages_per_second(function, pages: list[tuple[dict[str, str], bytes]], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        for row, raw in pages:
            function(row, raw)
    return repeat * len(pages) / (time.perf_counter() - started)


def run(corpus: Path, repeat: int) -> tuple[str, dict[str, object]]:
    import trafilatura

    pages = load_pages(corpus)
    scores = {name: FieldScore() for name in FIELDS}
    body_rows: list[tuple[str, float, float, float, float]] = []
    tables_rows: list[tuple[str, str, str]] = []
    for row, raw in pages:
        fields, _ = extract_detail_from_bytes(raw, row["url"])
        got = fields.to_json_dict()
        # Rows without any label (kind "other": pages borrowed from another project's tests)
        # say nothing about what the page shows; they count for speed only.
        for name in FIELDS if row["title"] else ():
            expected, value = row[name], _as_label(got[name])
            score = scores[name]
            if expected:
                score.shown += 1
                if value == expected:
                    score.exact += 1
                else:
                    score.misses.append((row["id"], expected, value))
            else:
                score.not_shown += 1
                if not value:
                    score.null_when_not_shown += 1
                else:
                    score.misses.append((row["id"], "(not shown)", value))
        if row.get("tables"):
            tables = got.get("tables") or {}
            tables_rows.append((row["id"], row["tables"], str(tables.get("format"))))
        if row.get("reference_txt") == "page.txt":
            reference = reference_body((corpus / row["id"] / "page.txt").read_text(encoding="utf-8"))
            trimmed = without_leading_navigation(reference)
            theirs = trafilatura.extract(raw) or ""
            body_rows.append(
                (
                    row["id"],
                    bigram_f1(fields.body_text, reference),
                    bigram_f1(theirs, reference),
                    bigram_f1(fields.body_text, trimmed),
                    bigram_f1(theirs, trimmed),
                )
            )

    ours_speed = pages_per_second(lambda row, raw: extract_detail_from_bytes(raw, row["url"]), pages, repeat)
    theirs_speed = pages_per_second(lambda row, raw: trafilatura.extract(raw), pages, repeat)

    labelled = sum(1 for row, _ in pages if row["title"])
    lines = [
        f"{len(pages)} pages from `{corpus.name}/MANIFEST.tsv` (every kind but list); fields are "
        f"scored on the {labelled} labelled pages, speed on all {len(pages)}.",
        "",
    ]
    lines += ["| field | exact (pages showing it) | null where not shown |", "| --- | --- | --- |"]
    for name, score in scores.items():
        exact = f"{score.exact}/{score.shown} = {score.exact / score.shown:.3f}" if score.shown else "–"
        null = (
            f"{score.null_when_not_shown}/{score.not_shown} = {score.null_when_not_shown / score.not_shown:.3f}"
            if score.not_shown
            else "–"
        )
        lines.append(f"| {name} | {exact} | {null} |")
    misses = [(name, *miss) for name, score in scores.items() for miss in score.misses]
    lines += ["", "Misses: " + ("none." if not misses else "")]
    for name, page, expected, value in misses:
        lines.append(f"- {page} `{name}`: expected {expected!r}, got {value!r}")

    lines += [
        "",
        "Body text, character-bigram F1 (whitespace removed) against page.txt; "
        "\"navigation removed\" drops the reference's leading menu block (see the script).",
        "",
        "| page | nianbao | trafilatura | nianbao, navigation removed | trafilatura, navigation removed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for page, ours, theirs, ours_trim, theirs_trim in body_rows:
        lines.append(f"| {page} | {ours:.3f} | {theirs:.3f} | {ours_trim:.3f} | {theirs_trim:.3f} |")
    count = len(body_rows) or 1
    means = [sum(r[i] for r in body_rows) / count for i in range(1, 5)]
    minima = [min((r[i] for r in body_rows), default=0.0) for i in range(1, 5)]
    lines.append("| **mean** | " + " | ".join(f"**{m:.3f}**" for m in means) + " |")
    lines.append("| min | " + " | ".join(f"{m:.3f}" for m in minima) + " |")
    lines += [
        "",
        "The body leaves the site's navigation out on purpose: it is page chrome, not the report, "
        "and keeping it would make a new version whenever the site's menu changes (the raw page "
        "is kept as captured evidence). Where a reference includes the menu, the first pair of "
        "columns is the score against the reference as given, the second pair against the "
        "reference without its leading menu block.",
    ]

    if tables_rows:
        lines += ["", "Statistics tables (MANIFEST `tables` column vs detected format):", ""]
        for page, expected, detected in tables_rows:
            lines.append(f"- {page}: expected {expected}, detected {detected}")

    lines += [
        "",
        f"Speed on one core, {repeat} passes over the {len(pages)} pages, same run: nianbao "
        f"(decode + metadata + body + tables) **{ours_speed:.0f} pages/s**, trafilatura "
        f"(default `extract`) **{theirs_speed:.0f} pages/s**: "
        f"**{ours_speed / theirs_speed:.1f}×**.",
    ]
    figures = {
        "fields": {n: (s.exact, s.shown, s.null_when_not_shown, s.not_shown) for n, s in scores.items()},
        "body_means": means,
        "speed": (ours_speed, theirs_speed),
    }
    return "\n".join(lines), figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5, help="passes for the speed figures")
    parser.add_argument("--no-write", action="store_true", help="print only, leave BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not (args.corpus / "MANIFEST.tsv").is_file():
        print(f"no MANIFEST.tsv in {args.corpus}", file=sys.stderr)
        return 2
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core for both
    report, _ = run(args.corpus, args.repeat)
    print(report)
    if not args.no_write:
        from bench.report import write_section

        write_section("extraction", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
