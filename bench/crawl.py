"""Crawl throughput: a bare Scrapy spider vs a full nianbao crawl vs two distributed workers.

A static site of bureaus × reports (TRS-style columns: ``index.html``, ``index_N.html`` and
report pages with a metadata table and a Word-pasted body) is generated into a temporary folder
and served by nginx on 127.0.0.1. The runs crawl it, each in its own child process(es):

(a) a bare Scrapy spider that only fetches (follows every link of the columns, no extraction);
(b) ``nianbao crawl`` of every bureau, in one process, with its archive writer in a child
    process (the default) -- and (b') the same with the writer in a thread;
(c) ``nianbao crawl --distributed`` + two ``nianbao worker`` processes into the same database.

(b), (b') and (c) run once into SQLite and once into PostgreSQL (when ``--pg-url`` or
``NIANBAO_TEST_POSTGRES_URL`` names one), each into an empty archive whose schema is created
(``nianbao db migrate``) before the timed run: an archive's tables are made once in its life,
not by every crawl. Reported: pages/s, CPU
milliseconds per page (the crawl processes and their writer processes; nginx and the database
server are not counted) and peak RSS per process, and the ratios (b)/(a) and (c)/(b).
Politeness settings are the same for all runs (no AutoThrottle, no delay, robots.txt off, 32
concurrent requests) so the runs measure the crawler, not the throttle; an untimed bare pass
first warms nginx and the page cache. Each nianbao run is repeated on a one-report-per-bureau
copy of the site to measure its start-up cost (imports, one Scrapy crawler per site, the
writer), reported apart from the CPU per page after start-up.

    python bench/crawl.py [--bureaus 20] [--reports 100] [--pg-url URL] [--redis URL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
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
    results: list[tuple[str, list[Run]]] = []
    try:
        list_urls = [base + p for c in columns for p in list_pages(c, args.reports)]
        # One untimed pass first: the freshly written pages come into the page cache and nginx
        # is warm, so the first timed run is not the only one that reads them from disk.
        run_children([[sys.executable, "-c", BARE_SPIDER, *list_urls]], env)
        before = served(workdir)
        wall, cpu, peak = run_children([[sys.executable, "-c", BARE_SPIDER, *list_urls]], env)
        bare = Run("(a) bare Scrapy spider, fetch only", served(workdir) - before, wall, cpu, peak)
        for label, database in databases:
            runs = _nianbao_runs(database, sites, workdir, env, args.redis)
            for run, startup in zip(runs, _nianbao_runs(database, small_sites, workdir, env, args.redis), strict=True):
                run.startup = startup
            results.append((label, runs))
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)

    lines = [
        f"Site: {args.bureaus} bureaus × {args.reports} reports = {total_pages} pages (nginx on 127.0.0.1);"
        f" machine: {os.cpu_count()} cores.",
        "",
        "| archive | run | pages fetched | wall s | pages/s | CPU ms/page | start-up CPU s | CPU ms/page after start-up"
        " | peak RSS per process (MiB) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        _row("", bare),
    ]
    summary = []
    for label, runs in results:
        lines.extend(_row(label, run) for run in runs)
        b, b_thread, c = runs
        summary.append(
            f"{label}: (b)/(a) = {b.pages_per_second / bare.pages_per_second:.2f} (target ≥ 0.6),"
            f" writer thread (b')/(a) = {b_thread.pages_per_second / bare.pages_per_second:.2f};"
            f" (c)/(b) = {c.pages_per_second / b.pages_per_second:.2f};"
            f" (c) CPU ms/page = {c.cpu_per_page_ms / b.cpu_per_page_ms:.2f} × (b)'s in all,"
            f" {_ratio(c.marginal_cpu_per_page_ms, b.marginal_cpu_per_page_ms)} × after start-up (target ≤ 1.15)."
        )
    everything = [bare, *(run for _, runs in results for run in runs)]
    summary.append(f"Peak memory per process ≤ 1 GiB: {'yes' if max(r.peak_rss_mib for r in everything) <= 1024 else 'no'}.")
    text = "\n".join([*lines, "", *summary])
    print(text)
    if not args.no_write:
        write_section("crawl", text, [Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    shutil.rmtree(workdir, ignore_errors=True)


def _row(archive: str, run: Run) -> str:
    startup = f"{run.startup.cpu_seconds:.2f}" if run.startup is not None else ""
    marginal = run.marginal_cpu_per_page_ms
    after = f"{marginal:.2f}" if marginal is not None else ""
    return (f"| {archive} | {run.name} | {run.pages} | {run.seconds:.1f} | {run.pages_per_second:.1f}"
            f" | {run.cpu_per_page_ms:.2f} | {startup} | {after} | {run.peak_rss_mib:.0f} |")


def _ratio(top: float | None, bottom: float | None) -> str:
    return f"{top / bottom:.2f}" if top is not None and bottom else "n/a"


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


def _nianbao_runs(database: str, sites: Path, workdir: Path, env: dict[str, str], redis_url: str) -> list[Run]:
    """(b), (b') and (c) into ``database``, each starting from an empty archive."""
    nianbao = [sys.executable, "-m", "crawler", "--db", database, "--sites", str(sites)]
    runs = []
    for name, writer in (("(b) nianbao crawl, one process (writer process)", "process"),
                         ("(b') nianbao crawl, one process (writer thread)", "thread")):
        _empty_archive(nianbao, database, workdir, env)
        before = served(workdir)
        wall, cpu, peak = run_children([[*nianbao, "crawl", "-q", *FAIR]], {**env, "NIANBAO_WRITER": writer})
        runs.append(Run(name, served(workdir) - before, wall, cpu, peak))

    _empty_archive(nianbao, database, workdir, env)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    subprocess.run(
        [*nianbao, "crawl", "--distributed", "--redis", redis_url], env=env, check=True, stdout=subprocess.DEVNULL
    )
    worker = [*nianbao, "worker", "--redis", redis_url, *FAIR]
    before = served(workdir)
    wall, cpu, peak = run_children([worker, worker], env)
    runs.append(Run("(c) two distributed workers", served(workdir) - before, wall, cpu, peak))
    return runs


if __name__ == "__main__":
    main()
