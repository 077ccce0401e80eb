"""Crawl throughput: a bare Scrapy spider vs a full nianbao crawl vs two distributed workers.

A static site of bureaus × reports (TRS-style columns: ``index.html``, ``index_N.html`` and
report pages with a metadata table and a Word-pasted body) is generated into a temporary folder
and served by nginx on 127.0.0.1. The runs crawl it, each in its own child process(es):

(a) a bare Scrapy spider that only fetches (follows every link of the columns, no extraction);
(b) ``nianbao crawl`` of every bureau, in one process, with its archive writer in a child
    process (the default) -- and (b') the same with the writer in a thread;
(c) ``nianbao crawl --distributed`` + two ``nianbao worker`` processes into the same database;
    and (c1) the same with one worker: the distributed path (the Redis queue) without a second
    worker contending for the machine's cores.

Every round also times the same pure-Python work (:data:`SPIN`) alone and as two copies at
once: on a machine whose cores slow each other down when all are busy (shared caches, sibling
hyperthreads of a virtual machine), CPU time per unit of work grows with the load, and (c) keeps
every core busy where (b) does not. The ratio is reported beside (c)'s.

(b), (b'), (c1) and (c) run into SQLite and into PostgreSQL (when ``--pg-url`` or
``NIANBAO_TEST_POSTGRES_URL`` names one), each into an empty archive whose schema is created
(``nianbao db migrate``, then a PostgreSQL CHECKPOINT) before the timed run: an archive's tables
are made once in its life, not by every crawl. Reported: pages/s, CPU milliseconds per page (the
crawl processes and their writer processes; nginx, Redis and the database server are not
counted) and peak RSS per process, and the ratios (b)/(a) and (c)/(b). Politeness settings are
the same for all runs (no AutoThrottle, no delay, robots.txt off, 32 concurrent requests) so the
runs measure the crawler, not the throttle; an untimed bare pass first warms nginx and the page
cache. Each nianbao run is repeated on a one-report-per-bureau copy of the site to measure its
start-up cost (imports, one Scrapy crawler per site, the writer), reported apart from the CPU per
page after start-up. Every run is made ``--rounds`` times, in rounds (each configuration once per
round), and the medians are reported: on a small machine single runs vary by 10-15 %.

    python bench/crawl.py [--bureaus 20] [--reports 100] [--rounds 5] [--pg-url URL] [--redis URL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import write_section

PER_PAGE = 20
FAIR = [
    "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "ROBOTSTXT_OBEY=False",
    "-s", "CONCURRENT_REQUESTS=32", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=32", "-s", "LOG_LEVEL=WARNING",
]

BARE_SPIDER = textwrap.dedent('''
    import sys
    import scrapy
    from scrapy.crawler import CrawlerProcess

    class Fetch(scrapy.Spider):
        name = "fetch"
        def __init__(self, urls, **kw):
            super().__init__(**kw)
            self.urls = urls
        async def start(self):
            for url in self.urls:
                yield scrapy.Request(url)
        def parse(self, response):
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)

    settings = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "ROBOTSTXT_OBEY": False,
                "CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 32, "LOG_LEVEL": "WARNING",
                "TELNETCONSOLE_ENABLED": False}
    process = CrawlerProcess(settings)
    process.crawl(Fetch, urls=sys.argv[1:])
    process.start()
''')


def list_pages(column: str, reports: int) -> list[str]:
    """Every list page of a column (the bare spider is given them: it does not read pager scripts)."""
    pages = (reports + PER_PAGE - 1) // PER_PAGE
    return [column] + [column.replace("index.html", f"index_{p}.html") for p in range(1, pages)]


def write_site(root: Path, bureaus: int, reports: int, prefix: str = "") -> list[str]:
    """Generate the static site under ``root`` (served at ``prefix``); each bureau's column path."""
    columns = []
    body = "".join(
        f'<p class="MsoNormal" style="text-indent:32pt"><span style="font-family:仿宋_GB2312">'
        f"{n}、本机关认真贯彻落实《中华人民共和国政府信息公开条例》，全年主动公开政府信息{100 + n}条，"
        f"收到政府信息公开申请{n}件，均在法定期限内答复。</span></p>"
        for n in range(1, 30)
    )
    for b in range(bureaus):
        column = root / f"bureau{b}" / "zfxxgknb"
        column.mkdir(parents=True)
        columns.append(f"{prefix}/bureau{b}/zfxxgknb/index.html")
        pages = (reports + PER_PAGE - 1) // PER_PAGE
        for p in range(pages):
            items = []
            for r in range(p * PER_PAGE, min(reports, (p + 1) * PER_PAGE)):
                year = 2000 + r % 25
                title = f"第{b}局{year}年政府信息公开工作年度报告（{r}）"
                items.append(f'<li><a href="./t{r}.htm" title="{title}">{title}</a><span>{year + 1}-01-15</span></li>')
                (column / f"t{r}.htm").write_text(
                    f'<html><head><meta charset="utf-8"><meta name="ArticleTitle" content="{title}">'
                    f'<meta name="PubDate" content="{year + 1}-01-15 09:00">'
                    f'<meta name="ContentSource" content="第{b}局"></head><body>'
                    f'<table class="xxgk"><tr><td>索引号：</td><td>B{b:04d}-{year}-{r:05d}</td>'
                    f'<td>发布机构：</td><td>第{b}局</td></tr>'
                    f'<tr><td>发布日期：</td><td>{year + 1}-01-15</td><td>标题：</td><td>{title}</td></tr></table>'
                    f'<div class="TRS_Editor"><div class="Custom_UnionStyle">{body}</div></div></body></html>',
                    encoding="utf-8",
                )
            name = "index.html" if p == 0 else f"index_{p}.html"
            (column / name).write_text(
                f'<html><head><meta charset="utf-8"></head><body><ul class="list">{"".join(items)}</ul>'
                f'<script>createPageHTML({pages}, {p}, "index", "html");</script></body></html>',
                encoding="utf-8",
            )
    return columns


def start_nginx(root: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("nginx is not installed (make bench installs it)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (workdir / "logs").mkdir(exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(textwrap.dedent(f"""
        daemon off;
        worker_processes 1;
        pid {workdir}/nginx.pid;
        error_log {workdir}/logs/error.log;
        events {{ worker_connections 1024; }}
        http {{
            access_log {workdir}/logs/access.log;
            types {{ text/html html htm; }}
            default_type text/html;
            charset utf-8;
            client_body_temp_path {workdir}/body; proxy_temp_path {workdir}/proxy;
            fastcgi_temp_path {workdir}/fastcgi; uwsgi_temp_path {workdir}/uwsgi; scgi_temp_path {workdir}/scgi;
            server {{ listen 127.0.0.1:{port}; root {root}; }}
        }}
    """))
    process = subprocess.Popen([nginx, "-c", str(conf), "-p", str(workdir)])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("nginx did not start")


@dataclass
class Run:
    name: str
    pages: int
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    # The same crawl of a one-report-per-bureau site: the fixed cost of starting the processes
    # (imports, one Scrapy crawler per site, the archive writer), which does not grow with pages.
    startup: Run | None = None

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds

    @property
    def cpu_per_page_ms(self) -> float:
        return 1000 * self.cpu_seconds / self.pages

    @property
    def marginal_cpu_per_page_ms(self) -> float | None:
        """CPU per page once started: (CPU − start-up run's CPU) / (pages − its pages)."""
        if self.startup is None or self.pages <= self.startup.pages:
            return None
        return 1000 * (self.cpu_seconds - self.startup.cpu_seconds) / (self.pages - self.startup.pages)


@dataclass
class Repeated:
    """The rounds of one configuration: each figure reported is the median of its rounds (two
    cores shared by nginx, the crawl, its writer, Redis and the database make single runs vary
    by ±10-15 %; the spread is reported with the median)."""

    name: str
    runs: list[Run]

    def median(self, figure: Callable[[Run], float | None]) -> float | None:
        values = [v for v in map(figure, self.runs) if v is not None]
        return statistics.median(values) if values else None

    @property
    def pages_per_second(self) -> float:
        return statistics.median(r.pages_per_second for r in self.runs)

    @property
    def marginal_cpu_per_page_ms(self) -> float | None:
        return self.median(lambda r: r.marginal_cpu_per_page_ms)


def served(workdir: Path) -> int:
    """Requests nginx has answered so far (its access log)."""
    log = workdir / "logs" / "access.log"
    return sum(1 for _ in log.open("rb")) if log.exists() else 0


def run_children(commands: list[list[str]], env: dict[str, str]) -> tuple[float, float, float]:
    """Run commands in parallel; wall seconds, CPU seconds and the largest peak RSS (MiB)."""
    start = time.perf_counter()
    processes = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in commands]
    cpu = 0.0
    peak = 0.0
    for process in processes:
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        peak = max(peak, usage.ru_maxrss / 1024)
        if process.returncode not in (0, 1):
            raise SystemExit(f"{commands[0][:4]} failed: {process.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - start, cpu, peak


def reset_archive(url: str) -> None:
    from sqlalchemy import create_engine, text

    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    elif url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bureaus", type=int, default=20)
    parser.add_argument("--reports", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of every run; medians are reported")
    parser.add_argument("--pg-url", default=os.environ.get("NIANBAO_TEST_POSTGRES_URL"),
                        help="PostgreSQL archive for the second set of runs (emptied first)")
    parser.add_argument("--redis", default=os.environ.get("NIANBAO_TEST_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="nianbao-bench-crawl-"))
    workdir.chmod(0o755)  # nginx's workers run as an unprivileged user and must read the site
    site_root = workdir / "site"
    columns = write_site(site_root, args.bureaus, args.reports)
    small_columns = write_site(site_root / "small", args.bureaus, 1, prefix="/small")
    total_pages = args.bureaus * (args.reports + (args.reports + PER_PAGE - 1) // PER_PAGE)
    databases = [("SQLite", f"sqlite:///{workdir / 'archive.sqlite3'}")]
    if args.pg_url:
        databases.append(("PostgreSQL", args.pg_url))
    nginx, port = start_nginx(site_root, workdir)
    base = f"http://127.0.0.1:{port}"
    sites = workdir / "sites.toml"
    sites.write_text(_sites_toml(base, columns, args.reports), encoding="utf-8")
    small_sites = workdir / "small-sites.toml"
    small_sites.write_text(_sites_toml(base, small_columns, 1), encoding="utf-8")
    env = {**os.environ, "NIANBAO_DATA_DIR": str(workdir / "data"), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    bare_runs: list[Run] = []
    contention: list[float] = []
    nianbao_runs: dict[tuple[str, str], list[Run]] = {}
    try:
        list_urls = [base + p for c in columns for p in list_pages(c, args.reports)]
        # One untimed pass first: the freshly written pages come into the page cache and nginx
        # is warm, so the first timed run is not the only one that reads them from disk.
        run_children([[sys.executable, "-c", BARE_SPIDER, *list_urls]], env)
        # Rounds rather than one configuration after the other: whatever slows the machine for a
        # while (another tenant, the database's background work) falls on every configuration.
        for _ in range(args.rounds):
            before = served(workdir)
            wall, cpu, peak = run_children([[sys.executable, "-c", BARE_SPIDER, *list_urls]], env)
            bare_runs.append(Run(BARE, served(workdir) - before, wall, cpu, peak))
            contention.append(spin_contention(env))
            for label, database in databases:
                for config in CONFIGS:
                    run = _nianbao_run(config, database, sites, workdir, env, args.redis)
                    run.startup = _nianbao_run(config, database, small_sites, workdir, env, args.redis)
                    nianbao_runs.setdefault((label, config.name), []).append(run)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)

    bare = Repeated(BARE, bare_runs)
    lines = [
        f"Site: {args.bureaus} bureaus × {args.reports} reports = {total_pages} pages (nginx on 127.0.0.1);"
        f" machine: {os.cpu_count()} cores. Each run {args.rounds} times (in rounds: every configuration"
        " once, then again); the figures are medians, pages/s with its range.",
        "",
        "| archive | run | pages fetched | wall s | pages/s (range) | CPU ms/page | start-up CPU s"
        " | CPU ms/page after start-up | peak RSS per process (MiB) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        _row("", bare),
    ]
    summary = []
    for label, _ in databases:
        b, b_thread, c1, c = (Repeated(config.name, nianbao_runs[(label, config.name)]) for config in CONFIGS)
        lines.extend(_row(label, repeated) for repeated in (b, b_thread, c1, c))
        summary.append(
            f"{label}: (b)/(a) = {_ratio(b.pages_per_second, bare.pages_per_second)}"
            f" (target ≥ 0.6; per round {_round_range(b.runs, bare.runs, lambda r: r.pages_per_second)}),"
            f" writer thread (b')/(a) = {_ratio(b_thread.pages_per_second, bare.pages_per_second)};"
            f" (c)/(b) = {_ratio(c.pages_per_second, b.pages_per_second)};"
            f" (c) CPU ms/page after start-up = {_ratio(c.marginal_cpu_per_page_ms, b.marginal_cpu_per_page_ms)} × (b)'s"
            f" (target ≤ 1.15; per round {_round_range(c.runs, b.runs, lambda r: r.marginal_cpu_per_page_ms)}),"
            f" {_ratio(c.median(lambda r: r.cpu_per_page_ms), b.median(lambda r: r.cpu_per_page_ms))} × in all;"
            f" one worker (c1): {_ratio(c1.marginal_cpu_per_page_ms, b.marginal_cpu_per_page_ms)} × (b)'s"
            f" (per round {_round_range(c1.runs, b.runs, lambda r: r.marginal_cpu_per_page_ms)})."
        )
    summary.append(
        f"This machine: the same pure-Python work took {statistics.median(contention):.2f} × its CPU time"
        f" alone when two copies ran at once (per round {min(contention):.2f}-{max(contention):.2f})."
    )
    everything = [*bare_runs, *(run for runs in nianbao_runs.values() for run in runs)]
    summary.append(f"Peak memory per process ≤ 1 GiB: {'yes' if max(r.peak_rss_mib for r in everything) <= 1024 else 'no'}.")
    text = "\n".join([*lines, "", *summary])
    print(text)
    if not args.no_write:
        write_section("crawl", text, [Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    shutil.rmtree(workdir, ignore_errors=True)


BARE = "(a) bare Scrapy spider, fetch only"

# Pure-Python work of the crawl's kind (dicts, strings, JSON), the same every time.
SPIN = textwrap.dedent('''
    import json
    for _ in range(8):
        counts = {}
        for i in range(300000):
            key = f"key{i % 5000}-{i}"
            counts[key[:8]] = counts.get(key[:8], 0) + len(key)
        json.dumps(counts)
''')


def spin_contention(env: dict[str, str]) -> float:
    """CPU seconds of :data:`SPIN` with two copies running at once, per copy, × alone."""
    _, alone, _ = run_children([[sys.executable, "-c", SPIN]], env)
    _, both, _ = run_children([[sys.executable, "-c", SPIN]] * 2, env)
    return both / 2 / alone


@dataclass(frozen=True)
class Config:
    name: str
    writer: str  # NIANBAO_WRITER: "process" or "thread"
    workers: int  # 0: one `nianbao crawl`; else that many `nianbao worker`s sharing a Redis queue


CONFIGS = (
    Config("(b) nianbao crawl, one process (writer process)", "process", 0),
    Config("(b') nianbao crawl, one process (writer thread)", "thread", 0),
    Config("(c1) one distributed worker (writer process)", "process", 1),
    Config("(c) two distributed workers (writer processes)", "process", 2),
)


def _row(archive: str, repeated: Repeated) -> str:
    def figure(value: float | None) -> str:
        return f"{value:.2f}" if value is not None else ""

    speeds = [r.pages_per_second for r in repeated.runs]
    return (
        f"| {archive} | {repeated.name} | {int(repeated.median(lambda r: r.pages) or 0)}"
        f" | {repeated.median(lambda r: r.seconds):.1f}"
        f" | {repeated.pages_per_second:.1f} ({min(speeds):.0f}-{max(speeds):.0f})"
        f" | {figure(repeated.median(lambda r: r.cpu_per_page_ms))}"
        f" | {figure(repeated.median(lambda r: r.startup.cpu_seconds if r.startup else None))}"
        f" | {figure(repeated.marginal_cpu_per_page_ms)}"
        f" | {max(r.peak_rss_mib for r in repeated.runs):.0f} |"
    )


def _ratio(top: float | None, bottom: float | None) -> str:
    return f"{top / bottom:.2f}" if top is not None and bottom else "n/a"


def _round_range(tops: list[Run], bottoms: list[Run], figure: Callable[[Run], float | None]) -> str:
    """The ratio's lowest and highest value among the rounds (round i against round i)."""
    ratios = [t / b for t, b in ((figure(top), figure(bottom)) for top, bottom in zip(tops, bottoms, strict=True))
              if t is not None and b]
    return f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "n/a"


def _sites_toml(base: str, columns: list[str], reports: int) -> str:
    return "".join(
        f'[[sites]]\nkey = "b{b}"\nname = "第{b}局"\nregion = "基准市"\nlevel = "department"\nfamily = "trs"\n'
        f'list_urls = ["{base}{column}"]\nmax_pages = {reports * 2 + 50}\n\n'
        for b, column in enumerate(columns)
    )


def _empty_archive(nianbao: list[str], database: str, workdir: Path, env: dict[str, str]) -> None:
    """An empty archive at the current schema: created once in an archive's life, so not timed."""
    reset_archive(database)
    shutil.rmtree(workdir / "data", ignore_errors=True)
    subprocess.run([*nianbao, "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    if database.startswith("postgresql"):
        # The dropped archive's pages are written out now, not by a checkpoint during the timed run.
        from sqlalchemy import create_engine, text

        engine = create_engine(database)
        with engine.connect() as conn:
            conn.execute(text("CHECKPOINT"))
        engine.dispose()


def _nianbao_run(config: Config, database: str, sites: Path, workdir: Path, env: dict[str, str], redis_url: str) -> Run:
    """One timed run of ``config`` into an empty ``database``."""
    nianbao = [sys.executable, "-m", "crawler", "--db", database, "--sites", str(sites)]
    # The writer is a crawl setting (-s), not an environment variable.
    options = [*FAIR, "-s", f"NIANBAO_WRITER={config.writer}"]
    _empty_archive(nianbao, database, workdir, env)
    if config.workers:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        subprocess.run(
            [*nianbao, "crawl", "--distributed", "--redis", redis_url], env=env, check=True, stdout=subprocess.DEVNULL
        )
        commands = [[*nianbao, "worker", "--redis", redis_url, *options]] * config.workers
    else:
        commands = [[*nianbao, "crawl", "-q", *options]]
    before = served(workdir)
    wall, cpu, peak = run_children(commands, env)
    return Run(config.name, served(workdir) - before, wall, cpu, peak)


if __name__ == "__main__":
    main()
