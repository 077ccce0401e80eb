"""Re-crawl cost: how much a nightly crawl of an unchanged archive costs next to the first one.

Builds a local site of BUREAUS bureaus × REPORTS annual reports, each report page linking one
PDF attachment (generated in memory, served by :class:`crawler.demo.server.DemoServer` on
127.0.0.1), then runs ``nianbao crawl`` as a child process on simulated nights (the policy
clock ``NIANBAO_NOW``):

1. night 0 -- the first crawl: everything is new;
2. night 1 -- nothing changed;
3. nights 2 … 2+WINDOW-1 -- 1% of the reports were edited silently before night 2 (same URL,
   new text, no new list entry); the policy must find each within one revalidation window.

Requests are counted by the server and checked against the ``captures`` rows (every fetch is
captured); bytes are the payload bytes received (``captures.payload_bytes``). Targets: night 1
costs at most 10% of the first crawl's requests and 5% of its bytes, and every edited report
gets exactly one new version within the window (and no other report gets one).

    python bench/recrawl.py                    # 200 bureaus × 10 reports, writes BENCHMARKS.md
    python bench/recrawl.py --bureaus 20 --no-write
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a script (python bench/recrawl.py): make the project importable before importing it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import write_section
from crawler.demo.bulk import build_bulk_site, bulk_sites_toml, report_html
from crawler.demo.server import DemoServer

REPO = Path(__file__).resolve().parent.parent

NIGHT0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CRAWL_SETTINGS = [
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "DOWNLOAD_DELAY=0",
    "-s", "RETRY_TIMES=0",
    "-s", "DOWNLOAD_TIMEOUT=30",
    # Every bureau is its own crawler in one process; all share the one loopback server.
    "-s", "CONCURRENT_REQUESTS=2",
    "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2",
    "-s", "LOG_LEVEL=WARNING",
    # Attachments are downloaded, captured and stored, but their text is not read: reading is
    # bench/extraction.py's subject and would dominate the first crawl's wall time here.
    "-s", "NIANBAO_ATTACHMENT_MAX_BYTES=1",
]
@dataclass
class Night:
    label: str
    requests: int
    captured: int
    payload_bytes: int
    seconds: float
    new_versions: int
    failures: int


def crawl_night(workdir: Path, sites_file: Path, db_path: Path, night: datetime,
                server: DemoServer, label: str) -> Night:
    env = {**os.environ, "NIANBAO_DATA_DIR": str(workdir / "nianbao-data")}
    env.pop("NIANBAO_DATABASE_URL", None)
    before = sum(server.request_counts.values())
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "--db", f"sqlite:///{db_path}", "--sites",
         str(sites_file), "crawl", "-q", *CRAWL_SETTINGS,
         "-s", f"NIANBAO_NOW={night.isoformat()}"],
        cwd=workdir, env=env, capture_output=True, text=True, check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"crawl of {label} failed ({result.returncode}):\n"
                         f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    requests = sum(server.request_counts.values()) - before
    with sqlite3.connect(db_path) as db:
        run_id = db.execute("SELECT max(id) FROM crawl_runs").fetchone()[0]
        captured, payload = db.execute(
            "SELECT count(*), coalesce(sum(payload_bytes), 0) FROM captures WHERE run_id = ?",
            (run_id,)).fetchone()
        new_versions, failures = db.execute(
            "SELECT coalesce(sum(new_versions), 0), coalesce(sum(failures), 0) FROM site_crawls"
            " WHERE run_id = ?", (run_id,)).fetchone()
    night_result = Night(label, requests, captured, payload, seconds, new_versions, failures)
    print(f"{label}: {requests} requests, {captured} captured, {payload:,} payload bytes,"
          f" {seconds:.1f} s, {new_versions} new versions, {failures} failures",
          file=sys.stderr, flush=True)
    return night_result


def versions_per_document(db_path: Path) -> dict[str, int]:
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT d.url, count(v.id) FROM documents d JOIN versions v ON v.document_id = d.id"
            " GROUP BY d.url").fetchall()
    return {url: count for url, count in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bureaus", type=int, default=200)
    parser.add_argument("--reports", type=int, default=10)
    parser.add_argument("--window", type=int, default=7, help="revalidate_days of every site")
    parser.add_argument("--changed", type=float, default=0.01, help="share of reports edited")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args(argv)

    site, reports = build_bulk_site(args.bureaus, args.reports)
    with tempfile.TemporaryDirectory(prefix="nianbao-recrawl-") as tmp, DemoServer(site) as server:
        workdir = Path(tmp)
        sites_file = workdir / "sites.toml"
        sites_file.write_text(bulk_sites_toml(server.base_url, args.bureaus, args.window), "utf-8")
        db_path = workdir / "archive.sqlite3"

        first = crawl_night(workdir, sites_file, db_path, NIGHT0, server, "first crawl (night 0)")
        unchanged = crawl_night(workdir, sites_file, db_path, NIGHT0 + timedelta(days=1),
                                server, "unchanged (night 1)")
        before = versions_per_document(db_path)

        edited = random.Random(4).sample(reports, max(1, round(len(reports) * args.changed)))
        for report in edited:
            server.replace_page(report.path, report_html(report, edition=1))
        window_nights = [
            crawl_night(workdir, sites_file, db_path, NIGHT0 + timedelta(days=2 + n), server,
                        f"night {2 + n}")
            for n in range(args.window)
        ]
        after = versions_per_document(db_path)
        edited_urls = {server.url(r.path) for r in edited}

    gained = {url: after.get(url, 0) - before.get(url, 0) for url in after}
    caught = sum(1 for url in edited_urls if gained.get(url) == 1)
    spurious = sum(n for url, n in gained.items() if url not in edited_urls)
    steady = window_nights
    mean_requests = sum(n.requests for n in steady) / len(steady)
    mean_bytes = sum(n.payload_bytes for n in steady) / len(steady)

    def pct(part: float, whole: float) -> str:
        return f"{100 * part / whole:.1f}%" if whole else "-"

    rows = [first, unchanged, *window_nights]
    table = ["| run | requests | captured | payload bytes | wall time | new versions | failures |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for night in rows:
        table.append(f"| {night.label} | {night.requests} | {night.captured} | "
                     f"{night.payload_bytes:,} | {night.seconds:.1f} s | {night.new_versions} | "
                     f"{night.failures} |")
    verdict_requests = unchanged.requests <= 0.10 * first.requests
    verdict_bytes = unchanged.payload_bytes <= 0.05 * first.payload_bytes
    verdict_versions = caught == len(edited) and spurious == 0
    body = "\n".join([
        f"Site: {args.bureaus} bureaus × {args.reports} reports, one PDF attachment each "
        f"({len(reports)} reports, {len(reports)} attachments), served on 127.0.0.1; "
        f"revalidation window {args.window} nights; SQLite archive.",
        "",
        *table,
        "",
        f"- Unchanged night vs first crawl: requests {pct(unchanged.requests, first.requests)} "
        f"(target ≤ 10%: {'met' if verdict_requests else 'NOT met'}), payload bytes "
        f"{pct(unchanged.payload_bytes, first.payload_bytes)} (target ≤ 5%: "
        f"{'met' if verdict_bytes else 'NOT met'}), wall time "
        f"{pct(unchanged.seconds, first.seconds)}.",
        f"- Steady state (mean of nights 2–{1 + args.window}, one full window, each known page "
        f"re-checked once): requests {pct(mean_requests, first.requests)}, payload bytes "
        f"{pct(mean_bytes, first.payload_bytes)} of the first crawl.",
        f"- Edited reports ({len(edited)}, {args.changed:.0%}): {caught} got exactly one new "
        f"version within the {args.window}-night window; other documents gained {spurious} "
        f"versions ({'met' if verdict_versions else 'NOT met'}).",
        "- Requests are counted by the server; every one is a `captures` row with its WARC "
        "record. A re-checked page costs a conditional GET answered 304 (no payload).",
    ])
    print(body)
    if not args.no_write:
        write_section("recrawl", body)
    return 0 if (verdict_requests and verdict_bytes and verdict_versions) else 1


if __name__ == "__main__":
    sys.exit(main())
