"""Soak: seven nights of the production scheduler against a site that changes a little each night.

A generated site of BUREAUS bureaus × 12 annual reports (:mod:`crawler.demo.bulk`, one PDF each,
report years 2014–2025) is served on 127.0.0.1 by :class:`crawler.demo.server.DemoServer`. Two
reports per bureau (2024, 2025) are held back at first. One ``scheduler.py`` process -- the
production :func:`scheduler.build_scheduler`, its job store in the archive -- is started once and
kept alive for the whole soak; each night this script asks it to run every site's job now
(``next_run_time`` = now, the jobs' own cron is 1 January so it never fires by itself), with
the policy clock ``NIANBAO_NOW`` set to that night. As in production, each job crawls its site
in a child ``nianbao crawl`` process, then runs the monitor and the alert delivery in the
scheduler process.

Night 1 crawls the site as built. Before each later night n the site changes, on bureau
``(n - 2) % BUREAUS + 1`` (so at most ``2 × BUREAUS + 1`` nights):

- **new**: one held-back report appears in the listing;
- **edited**: one report is silently corrected (same URL, one more sentence);
- **removed**: one report leaves the listing and its page answers 404;
- **moved**: one report moves to a new URL (the listing links the new one, the old one 404s);
- **timeout**: one report page answers only after the download timeout (it is back the next
  night).

Every site has ``revalidate_days = 1``, so every known page is re-checked every night -- the
heaviest steady state, and a silent edit is caught the night it happens.

Measured per night: the scheduler process's RSS after the night (``VmRSS``) and its high-water
mark (``VmHWM``), each crawl child's peak RSS (``ru_maxrss`` from ``wait4``, recorded inside
the scheduler process), the archive's size (SQLite file + WAL, or ``pg_database_size``), the
WARC folder's size, documents / versions / document URLs / alerts / outbox messages, wall time.

**Flat memory** (exit status 1 otherwise): for the scheduler's RSS and for the largest crawl
child's peak RSS, the last night's figure exceeds night 2's by at most
``max(10% of night 2, 20 MiB)``. Night 1 (the first, full crawl, and the scheduler's imports)
is the warm-up and is not compared.

**Archive state** (exit status 1 otherwise), after the last night N (k = N - 1 change nights):

- documents = reports ever listed (held-back reports published so far included, removed ones
  kept, a moved report counted once);
- versions = documents + k, and the extra versions are exactly the edited reports' (one each);
- each moved report is one document that knows both its URLs, and no other document has either;
- the held-back reports are ``report_missing`` alerts from night 1, each resolved the night
  its report appears (and no other report is missing);
- one ``report_changed`` notice per edited report and no other; ``report_removed`` alerts for
  exactly the reports removed before night N - 1 (removal needs two clean crawls without the
  report), none for a moved or timed-out one;
- no duplicate alerts: no alert is opened, resolved or announced twice, and nothing is repeated
  (the soak runs in minutes, the repeat interval is 7 days);
- every job of every night finished.

    python bench/soak.py                          # 7 nights on SQLite, writes BENCHMARKS.md
    python bench/soak.py --pg-url postgresql+psycopg2://postgres@127.0.0.1:5432/bench_soak
    python bench/soak.py --nights 2               # smoke check (prints only), about a minute

Only the full soak (``--nights 7``, the default) writes its section of BENCHMARKS.md; shorter
runs print their table and verdict and exit the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.report import BENCHMARKS, write_section  # noqa: E402
from crawler.demo.bulk import HTML, BulkReport, build_bulk_site, bulk_sites_toml, bureau_name, report_html  # noqa: E402
from crawler.demo.server import DemoServer  # noqa: E402
from crawler.demo.site import DemoPage  # noqa: E402

REPORTS_PER_BUREAU = 12  # 2014 … 2025
HELD_BACK_YEARS = (2024, 2025)  # published one a night
# Each night's change picks its report from these years of the night's bureau (first round of
# bureaus the first year, second round the second), so no report plays two parts.
EDIT_YEARS = (2014, 2015)
REMOVE_YEARS = (2016, 2017)
MOVE_YEARS = (2018, 2019)
TIMEOUT_YEARS = (2020, 2021)
DOWNLOAD_TIMEOUT = 5
SLOW_PAGE_DELAY = DOWNLOAD_TIMEOUT + 3
# Never due on its own during a soak: the script decides when a night starts.
DORMANT_CRON = "0 2 1 1 *"
JOB_WALL_TIME_SECONDS = 300
NIGHT_TIMEOUT_SECONDS = 900
CRAWL_SETTINGS = [
    "-s", "AUTOTHROTTLE_ENABLED=False",
    "-s", "DOWNLOAD_DELAY=0",
    "-s", "RETRY_TIMES=0",
    "-s", f"DOWNLOAD_TIMEOUT={DOWNLOAD_TIMEOUT}",
    "-s", "LOG_LEVEL=WARNING",
    # Attachments are fetched, captured and stored but not read (bench/extraction.py's subject).
    "-s", "NIANBAO_ATTACHMENT_MAX_BYTES=1",
]
FULL_SOAK_NIGHTS = 7  # the soak issue 12 asks for; only it is recorded in BENCHMARKS.md
FLAT_SHARE = 0.10
FLAT_MIB = 20.0
MIB = 1024 * 1024


# --- the scheduler process (run as ``soak.py --drive-scheduler``) -----------------------------


def _proc_status_kib(field_name: str) -> int:
    """A ``/proc/self/status`` figure in KiB (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def drive_scheduler(database_url: str, sites_file: str, data_dir: str) -> None:
    """The long-lived scheduler: production jobs, started on demand, one night per stdin line.

    Each line is ``{"now": ISO}``; the answer (one JSON line on stdout) gives every job's
    outcome, every crawl child's peak RSS and this process's own memory after the night.
    """
    import logging
    import subprocess as subprocess_module
    from zoneinfo import ZoneInfo

    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent

    import scheduler as nightly

    children: list[dict[str, Any]] = []

    class MeasuredPopen(subprocess_module.Popen[str]):
        """Popen that reaps its child with ``wait4`` to keep the child's own peak RSS."""

        def _try_wait(self, wait_flags: int) -> tuple[int, int]:
            try:
                pid, status, usage = os.wait4(self.pid, wait_flags)
            except ChildProcessError:
                return self.pid, 0
            if pid == self.pid:
                command = [str(part) for part in self.args] if isinstance(self.args, list) else [str(self.args)]
                site_key = command[command.index("crawl") + 1] if "crawl" in command else "?"
                children.append({"site": site_key, "maxrss_kib": usage.ru_maxrss,
                                 "cpu_s": usage.ru_utime + usage.ru_stime})
            return pid, status

    # Only this process's crawl children are started through Popen; measuring them must not
    # change how the scheduler starts them, so the class is swapped, not the call.
    subprocess_module.Popen = MeasuredPopen  # type: ignore[assignment, misc]

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    options = nightly.SchedulerOptions(
        database_url=database_url, sites_file=sites_file, data_dir=data_dir,
        wall_time=timedelta(seconds=JOB_WALL_TIME_SECONDS), crawl_args=tuple(CRAWL_SETTINGS),
    )
    scheduler = nightly.build_scheduler(options, blocking=False)
    done: queue.Queue[tuple[str, str]] = queue.Queue()

    def on_done(event: JobExecutionEvent) -> None:
        outcome = event.retval if event.code == EVENT_JOB_EXECUTED else f"event {event.code}: {event.exception}"
        done.put((event.job_id, str(outcome)))

    scheduler.add_listener(on_done, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    scheduler.start()
    timezone = ZoneInfo(options.timezone)
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        night_now = json.loads(line)["now"]
        children.clear()
        jobs = scheduler.get_jobs()
        for job in jobs:
            kwargs = dict(job.kwargs)
            kwargs["crawl_args"] = [*CRAWL_SETTINGS, "-s", f"NIANBAO_NOW={night_now}"]
            scheduler.modify_job(job.id, kwargs=kwargs, next_run_time=datetime.now(timezone))
        outcomes = dict(done.get(timeout=NIGHT_TIMEOUT_SECONDS) for _ in jobs)
        print(json.dumps({
            "outcomes": outcomes,
            "children": list(children),
            "rss_kib": _proc_status_kib("VmRSS"),
            "hwm_kib": _proc_status_kib("VmHWM"),
            "threads": len(os.listdir("/proc/self/task")),
            "fds": len(os.listdir("/proc/self/fd")),
        }), flush=True)
    scheduler.shutdown(wait=True)


class SchedulerProcess:
    """The scheduler child, driven one night at a time."""

    def __init__(self, database_url: str, sites_file: Path, data_dir: Path, log_file: Path) -> None:
        self._log = log_file.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--drive-scheduler", database_url,
             str(sites_file), str(data_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        ready = self._answer()
        if "ready" not in ready:
            raise SystemExit(f"the scheduler did not start: {ready}")

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise SystemExit(f"the scheduler exited ({self.process.returncode}); see {self._log.name}")
        return json.loads(line)

    def night(self, policy_now: datetime) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"now": policy_now.isoformat()}) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


# --- the changing site ----------------------------------------------------------------------


@dataclass
class ChangePlan:
    """What happened to the site, night by night (reports keyed by ``(bureau, year)``)."""

    published: list[tuple[int, int]] = field(default_factory=list)
    edited: list[tuple[int, int]] = field(default_factory=list)
    removed: list[tuple[int, int]] = field(default_factory=list)
    moved: list[tuple[int, int]] = field(default_factory=list)
    timed_out: list[tuple[int, int]] = field(default_factory=list)


def moved_path(report: BulkReport) -> str:
    """Where a moved report is served from: the same folder (its PDF link stays valid)."""
    return report.path.replace(".html", "_moved.html")


class ChangingSite:
    """The bulk site on a live server, with the listing kept in step with each change."""

    def __init__(self, server: DemoServer, reports: list[BulkReport]) -> None:
        self.server = server
        self.reports = {(r.bureau, r.year): r for r in reports}
        # bureau -> {year: page path listed}; held-back years are not listed yet.
        self.listed: dict[int, dict[int, str]] = {}
        for report in reports:
            if report.year not in HELD_BACK_YEARS:
                self.listed.setdefault(report.bureau, {})[report.year] = report.path
        self.slow: tuple[int, int] | None = None
        for report in reports:
            if report.year in HELD_BACK_YEARS:
                server.remove_page(report.path)  # not published yet
        for bureau in self.listed:
            self._write_listing(bureau)

    def _write_listing(self, bureau: int) -> None:
        folder = f"/b{bureau:04d}/xxgk/ndbg/"
        items = "".join(
            f'<li><a href="{path.rsplit("/", 1)[1]}">'
            f"{escape(bureau_name(bureau))}{year}年政府信息公开工作年度报告</a></li>"
            for year, path in sorted(self.listed[bureau].items(), reverse=True)
        )
        page = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>年报</title></head><body>'
                f"<h1>{escape(bureau_name(bureau))} 政府信息公开年报</h1><ul>{items}</ul></body></html>")
        self.server.replace_page(folder + "list.html", page.encode("utf-8"))

    def _serve(self, path: str, page: DemoPage) -> None:
        # DemoServer has no public way to slow a page down; the soak reaches into it (under its
        # lock) rather than change the demo server for one benchmark.
        with self.server._lock:
            self.server._pages[path] = page

    def change(self, night: int, plan: ChangePlan) -> None:
        """Apply night ``night``'s changes (``night`` ≥ 2)."""
        round_, bureau = divmod(night - 2, len(self.listed))
        bureau += 1
        if self.slow is not None:  # yesterday's slow page answers promptly again
            slow = self.reports[self.slow]
            self._serve(slow.path, DemoPage(report_html(slow), HTML))
            self.slow = None

        new = self.reports[(bureau, HELD_BACK_YEARS[round_])]
        self.server.replace_page(new.path, report_html(new))
        self.listed[bureau][new.year] = new.path
        plan.published.append((bureau, new.year))

        edited = self.reports[(bureau, EDIT_YEARS[round_])]
        self.server.replace_page(edited.path, report_html(edited, edition=1))
        plan.edited.append((bureau, edited.year))

        removed = self.reports[(bureau, REMOVE_YEARS[round_])]
        del self.listed[bureau][removed.year]
        self.server.remove_page(removed.path)
        plan.removed.append((bureau, removed.year))

        moved = self.reports[(bureau, MOVE_YEARS[round_])]
        self.server.remove_page(moved.path)
        self.server.replace_page(moved_path(moved), report_html(moved))
        self.listed[bureau][moved.year] = moved_path(moved)
        plan.moved.append((bureau, moved.year))

        slow = self.reports[(bureau, TIMEOUT_YEARS[round_])]
        self._serve(slow.path, DemoPage(report_html(slow), HTML, delay=SLOW_PAGE_DELAY))
        self.slow = (bureau, slow.year)
        plan.timed_out.append((bureau, slow.year))

        self._write_listing(bureau)


# --- measuring ------------------------------------------------------------------------------


@dataclass
class NightFigures:
    night: int
    wall_s: float
    scheduler_rss_mib: float
    scheduler_hwm_mib: float
    child_peak_mib: float
    child_peaks_mib: list[float]
    child_cpu_s: float
    threads: int
    fds: int
    db_bytes: int
    warc_bytes: int
    documents: int
    versions: int
    document_urls: int
    alerts: int
    outbox: int
    crawl_errors: int
    outcomes: Counter[str]


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def database_bytes(engine: Any, database_url: str) -> int:
    from sqlalchemy import text

    if database_url.startswith("sqlite:///"):
        path = Path(database_url[len("sqlite:///"):])
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def count(engine: Any, table: str) -> int:
    from sqlalchemy import text

    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def measure_night(night: int, wall_s: float, answer: dict[str, Any], engine: Any, database_url: str,
                  warc_dir: Path) -> NightFigures:
    peaks = sorted((c["maxrss_kib"] / 1024 for c in answer["children"]), reverse=True)
    return NightFigures(
        night=night, wall_s=wall_s,
        scheduler_rss_mib=answer["rss_kib"] / 1024, scheduler_hwm_mib=answer["hwm_kib"] / 1024,
        child_peak_mib=peaks[0] if peaks else 0.0, child_peaks_mib=peaks,
        child_cpu_s=sum(c["cpu_s"] for c in answer["children"]),
        threads=answer["threads"], fds=answer["fds"],
        db_bytes=database_bytes(engine, database_url), warc_bytes=folder_bytes(warc_dir),
        documents=count(engine, "documents"), versions=count(engine, "versions"),
        document_urls=count(engine, "document_urls"), alerts=count(engine, "alerts"),
        outbox=count(engine, "alert_outbox"), crawl_errors=count(engine, "crawl_errors"),
        outcomes=Counter(answer["outcomes"].values()),
    )


# --- verdicts -------------------------------------------------------------------------------


def flat_problems(nights: list[NightFigures]) -> list[str]:
    """The flat-memory rule of the module docstring, for both series."""
    if len(nights) < 2:
        return []
    base, last = nights[1], nights[-1]
    problems = []
    for name, before, after in (
        ("scheduler RSS", base.scheduler_rss_mib, last.scheduler_rss_mib),
        ("largest crawl child's peak RSS", base.child_peak_mib, last.child_peak_mib),
    ):
        allowed = max(FLAT_SHARE * before, FLAT_MIB)
        if after - before > allowed:
            problems.append(f"{name} grew {after - before:.1f} MiB from night 2 to night {last.night}"
                            f" (allowed {allowed:.1f} MiB)")
    return problems


def state_problems(engine: Any, base_url: str, site: ChangingSite, plan: ChangePlan,
                   nights: list[NightFigures]) -> list[str]:
    """The archive-state checks of the module docstring."""
    from sqlalchemy import text

    def url_of(key: tuple[int, int], moved: bool = False) -> str:
        report = site.reports[key]
        return base_url + (moved_path(report) if moved else report.path)

    with engine.connect() as connection:
        def documents_with(url: str) -> set[int]:
            rows = connection.execute(text(
                "SELECT id FROM documents WHERE url = :url UNION "
                "SELECT document_id FROM document_urls WHERE url = :url"), {"url": url}).scalars()
            return set(rows)

        problems = []
        ever_listed = len(site.reports) - len(site.listed) * len(HELD_BACK_YEARS) + len(plan.published)
        documents = nights[-1].documents
        if documents != ever_listed:
            problems.append(f"{documents} documents, expected {ever_listed} (reports ever listed)")
        extra = dict(connection.execute(text(
            "SELECT d.url, count(v.id) - 1 FROM documents d JOIN versions v ON v.document_id = d.id"
            " GROUP BY d.url HAVING count(v.id) > 1")).all())
        expected_extra = {url_of(key): 1 for key in plan.edited}
        if extra != expected_extra:
            problems.append(f"extra versions {extra}, expected one for each edited report {expected_extra}")
        if nights[-1].versions != documents + len(plan.edited):
            problems.append(f"{nights[-1].versions} versions, expected {documents + len(plan.edited)}")
        for key in plan.moved:
            old, new = documents_with(url_of(key)), documents_with(url_of(key, moved=True))
            if len(old) != 1 or old != new:
                problems.append(f"moved report {key}: documents {old} at its old URL, {new} at its new one")
        for key in plan.published:
            if len(documents_with(url_of(key))) != 1:
                problems.append(f"published report {key} is not one document")

        alerts = connection.execute(text(
            "SELECT a.kind, a.document_id, a.state FROM alerts a")).all()
        changed = Counter(row.document_id for row in alerts if row.kind == "report_changed")
        edited_documents = Counter(next(iter(documents_with(url_of(key))), None) for key in plan.edited)
        if changed != edited_documents:
            problems.append(f"report_changed alerts on documents {dict(changed)}, expected {dict(edited_documents)}")
        removed_alerts = {row.document_id for row in alerts if row.kind == "report_removed" and row.state == "open"}
        confirmed = plan.removed[:-1]  # the last night's removal has had one crawl, not two
        expected_removed = {next(iter(documents_with(url_of(key))), None) for key in confirmed}
        if removed_alerts != expected_removed:
            problems.append(f"report_removed alerts on documents {sorted(removed_alerts)}, "
                            f"expected {sorted(d for d in expected_removed if d is not None)}")
        missing = {(row.key, row.report_year): row.state for row in connection.execute(text(
            "SELECT s.key, a.report_year, a.state FROM alerts a JOIN sites s ON s.id = a.site_id"
            " WHERE a.kind = 'report_missing'")).all()}
        expected_missing = {
            (f"bench-{bureau:04d}", year): "resolved" if (bureau, year) in plan.published else "open"
            for bureau in site.listed for year in HELD_BACK_YEARS
        }
        if missing != expected_missing:
            problems.append(f"report_missing alerts {missing}, expected {expected_missing}")
        duplicates = connection.execute(text(
            "SELECT alert_id, event, count(*) AS n FROM alert_outbox WHERE alert_id IS NOT NULL"
            " GROUP BY alert_id, event HAVING count(*) > 1 OR event = 'repeated'")).all()
        if duplicates:
            problems.append(f"duplicate alert messages (alert, event, count): {[tuple(r) for r in duplicates]}")
    for figures in nights:
        if set(figures.outcomes) != {"finished"}:
            problems.append(f"night {figures.night}: job outcomes {dict(figures.outcomes)}")
    return problems


# --- one soak -------------------------------------------------------------------------------


def reset_archive(database_url: str) -> None:
    from sqlalchemy import create_engine, text

    if database_url.startswith("postgresql"):
        engine = create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()


def soak(database_url: str | None, nights: int, bureaus: int, workdir: Path) -> tuple[list[NightFigures], list[str]]:
    """Run the soak on one archive; the nights' figures and every problem found."""
    from sqlalchemy import create_engine

    database_url = database_url or f"sqlite:///{workdir / 'archive.sqlite3'}"
    reset_archive(database_url)
    data_dir = workdir / "nianbao-data"
    bulk, reports = build_bulk_site(bureaus, REPORTS_PER_BUREAU)
    plan = ChangePlan()
    figures: list[NightFigures] = []
    first_night = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=1)
    with DemoServer(bulk) as server:
        site = ChangingSite(server, reports)
        sites_file = workdir / "sites.toml"
        sites_file.write_text(
            bulk_sites_toml(server.base_url, bureaus, window=1).replace(
                'family = "generic"', f'family = "generic"\ncron = "{DORMANT_CRON}"'), "utf-8")
        scheduler = SchedulerProcess(database_url, sites_file, data_dir, workdir / "scheduler.log")
        engine = create_engine(database_url)
        try:
            for night in range(1, nights + 1):
                if night > 1:
                    site.change(night, plan)
                started = time.perf_counter()
                answer = scheduler.night(first_night + timedelta(days=night - 1))
                wall = time.perf_counter() - started
                figures.append(measure_night(night, wall, answer, engine, database_url, data_dir / "warc"))
                print(row(figures[-1]), file=sys.stderr, flush=True)
        finally:
            scheduler.close()
        problems = flat_problems(figures) + state_problems(engine, server.base_url, site, plan, figures)
        engine.dispose()
    return figures, problems


# --- output ---------------------------------------------------------------------------------

HEADER = ("| night | wall s | crawl CPU s | scheduler RSS MiB (HWM) | crawl children peak RSS MiB |"
          " threads / fds | archive MiB | WARC MiB | documents | versions | doc URLs | alerts | outbox |"
          " crawl errors |\n"
          "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def row(f: NightFigures) -> str:
    peaks = ", ".join(f"{p:.0f}" for p in f.child_peaks_mib)
    return (f"| {f.night} | {f.wall_s:.1f} | {f.child_cpu_s:.1f} |"
            f" {f.scheduler_rss_mib:.1f} ({f.scheduler_hwm_mib:.1f}) | {peaks} |"
            f" {f.threads} / {f.fds} | {f.db_bytes / MIB:.2f} | {f.warc_bytes / MIB:.2f} | {f.documents} |"
            f" {f.versions} | {f.document_urls} | {f.alerts} | {f.outbox} | {f.crawl_errors} |")


def summary(label: str, figures: list[NightFigures], problems: list[str], bureaus: int) -> str:
    base, last = figures[min(1, len(figures) - 1)], figures[-1]
    lines = [
        f"**{label}** -- {bureaus} bureaus × {REPORTS_PER_BUREAU} reports, {len(figures)} nights, "
        f"one scheduler process (pid kept) for all nights:",
        "",
        HEADER,
        *[row(f) for f in figures],
        "",
        f"- Scheduler RSS night 2 → {last.night}: {base.scheduler_rss_mib:.1f} → {last.scheduler_rss_mib:.1f} MiB;"
        f" largest crawl child: {base.child_peak_mib:.1f} → {last.child_peak_mib:.1f} MiB"
        f" (flat: growth ≤ max({FLAT_SHARE:.0%}, {FLAT_MIB:.0f} MiB)); scheduler RSS over the last"
        f" two nights ({figures[max(0, len(figures) - 3)].night} → {last.night}):"
        f" {last.scheduler_rss_mib - figures[max(0, len(figures) - 3)].scheduler_rss_mib:+.1f} MiB.",
        f"- Verdict: {'flat memory, archive state right' if not problems else 'FAILED: ' + '; '.join(problems)}.",
    ]
    return "\n".join(lines)


EXPLANATION = (
    "One `scheduler.py` process (production `build_scheduler`, job store in the archive) is kept alive for"
    " all nights; each night every site's job is started at once with the policy clock `NIANBAO_NOW` on"
    " that night, and crawls its site in a child `nianbao crawl`, then runs the monitor and alert delivery."
    " Before each night after the first, one bureau's column changes: a held-back report appears, one"
    " report is silently edited, one is removed (unlisted, 404), one moves to a new URL, one page answers"
    f" only after the {DOWNLOAD_TIMEOUT} s download timeout (`revalidate_days = 1`: every known page is"
    " re-checked every night). Scheduler RSS is `VmRSS` after the night; crawl children's peak RSS is"
    " `ru_maxrss` from `wait4`; crawl CPU s is the children's user + system time; alerts and crawl errors"
    " are cumulative (one timeout a night; 6 report_missing alerts for the held-back reports from night 1,"
    " then a changed notice a night and a removal alert from night 3, the removal needing two clean crawls)."
)


def ensure_section() -> None:
    """Append this benchmark's section (heading and markers) to BENCHMARKS.md if it is missing."""
    text = BENCHMARKS.read_text(encoding="utf-8")
    if "<!-- bench:soak -->" not in text:
        BENCHMARKS.write_text(text.rstrip("\n") + "\n\n## Seven-night soak (bench/soak.py)\n"
                              "<!-- bench:soak -->\n<!-- /bench:soak -->\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--drive-scheduler"]:
        drive_scheduler(*argv[1:4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nights", type=int, default=FULL_SOAK_NIGHTS)
    parser.add_argument("--bureaus", type=int, default=3)
    parser.add_argument("--pg-url", help="also soak a PostgreSQL archive (its public schema is dropped first)")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--keep", action="store_true", help="keep the working folders")
    args = parser.parse_args(argv)
    if not 1 <= args.nights <= 2 * args.bureaus + 1:
        parser.error(f"--nights must be 1 … {2 * args.bureaus + 1} (2 × --bureaus + 1)")

    backends = [("SQLite", None)] + ([("PostgreSQL", args.pg_url)] if args.pg_url else [])
    sections, failed = [], False
    for label, url in backends:
        workdir = Path(tempfile.mkdtemp(prefix="nianbao-soak-"))
        print(f"{label}: {workdir}", file=sys.stderr, flush=True)
        figures, problems = soak(url, args.nights, args.bureaus, workdir)
        sections.append(summary(label, figures, problems, args.bureaus))
        failed = failed or bool(problems)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    body = "\n\n".join([EXPLANATION, *sections, f"Machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}."])
    print(body)
    if not args.no_write and args.nights == FULL_SOAK_NIGHTS:
        ensure_section()
        write_section("soak", body)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
