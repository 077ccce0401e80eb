"""Search benchmark: an archive of N synthetic report versions, a fixed query mix, latencies.

    python bench/search.py                         # 1,000,000 versions, SQLite and PostgreSQL
    python bench/search.py --versions 200000 --backend sqlite
    python bench/search.py --pg-url postgresql+psycopg2://postgres@127.0.0.1:5432/bench

The text is generated, not copied: report sentences in the six-section structure of a
政府信息公开工作年度报告, with bureau names, numbers, years and phrasing varied by a seeded random
generator, so the index sees a realistic vocabulary (a few thousand distinct bigrams, 政府 and
公开 in almost every report). Rows go in through the same index writer the archive uses
(:func:`storage.search.index_rows`), in batches.

Measured: p50/p95/p99 of :func:`storage.search.search` (top 20, snippets included) per query
class, over several rounds of the mix after one unmeasured warm-up round, and the index size
against the raw text (UTF-8 bytes of titles and bodies). Results go into BENCHMARKS.md (section ``search``) unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from bench.report import write_section
from storage.db import open_archive
from storage.models import Document, Site, Version
from storage.search import BulkRow, SearchFilters, index_rows, search

CITIES = ["莆田", "平潭", "福州", "厦门", "泉州", "漳州", "南平", "三明", "龙岩", "宁德", "杭州", "宁波",
          "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水", "广州", "深圳", "珠海"]
BUREAUS = ["统计局", "教育局", "财政局", "人力资源和社会保障局", "自然资源局", "生态环境局", "住房和城乡建设局",
           "交通运输局", "水利局", "农业农村局", "商务局", "文化和旅游局", "卫生健康委员会", "应急管理局",
           "审计局", "市场监督管理局", "医疗保障局", "林业局", "民政局", "司法局", "公安局", "人民政府办公室"]
SECTIONS = [
    ("一、总体情况", [
        "{year}年，{org}坚持以习近平新时代中国特色社会主义思想为指导，认真贯彻落实《中华人民共和国政府信息公开条例》。",
        "全面推进决策、执行、管理、服务、结果公开，不断提升政府信息公开工作质量。",
        "本年度{org}通过门户网站主动公开政府信息{n1}条，其中工作动态{n2}条，通知公告{n3}条。",
        "进一步规范依申请公开办理流程，严格落实答复时限，依法保障人民群众的知情权、参与权、表达权和监督权。",
        "加强政府信息公开平台建设，优化{topic}专栏，及时更新机构职能、政策文件、规划计划等内容。",
        "围绕{topic}等重点领域，做好政策解读和回应关切，发布图文解读{n4}篇。",
    ]),
    ("二、主动公开政府信息情况", [
        "本年制发规章{n5}件，行政规范性文件{n6}件，现行有效件数{n7}件。",
        "行政许可本年处理决定数量{n8}件，行政处罚本年处理决定数量{n9}件。",
        "行政事业性收费本年收费金额{n10}万元。",
    ]),
    ("三、收到和处理政府信息公开申请情况", [
        "本年新收政府信息公开申请{n11}件，上年结转政府信息公开申请{n12}件。",
        "其中予以公开{n13}件，部分公开{n14}件，不予公开{n15}件，无法提供{n16}件，不予处理{n17}件。",
        "依申请公开答复均在法定期限内完成，未发生逾期答复情况。",
    ]),
    ("四、政府信息公开行政复议、行政诉讼情况", [
        "本年度因政府信息公开被申请行政复议{n18}件，结果维持{n19}件，结果纠正{n20}件。",
        "因政府信息公开被提起行政诉讼{n21}件，尚未审结{n22}件。",
    ]),
    ("五、存在的主要问题及改进情况", [
        "一是主动公开的深度和广度还需进一步拓展；二是政策解读的形式还不够丰富多样。",
        "下一步，{org}将加强业务培训，提升工作人员的政务公开意识和业务能力。",
        "持续推进{topic}信息公开标准化规范化建设，提高政务服务水平。",
    ]),
    ("六、其他需要报告的事项", [
        "本年度未收取信息处理费。",
        "{org}按照上级部署，认真做好人大代表建议和政协委员提案办理结果公开工作，共公开{n23}件。",
    ]),
]
TOPICS = ["重大建设项目", "公共资源配置", "社会公益事业", "财政预决算", "生态环境保护", "食品药品安全",
          "义务教育", "乡村振兴", "安全生产", "就业创业", "社会救助", "营商环境"]
LEVELS = ["department", "government", "township"]

#: The query mix: (class, query, filters, sort).
QUERIES: list[tuple[str, str, SearchFilters | None, str]] = [
    ("2-char", "复议", None, "relevance"),
    ("2-char", "报告", None, "relevance"),
    ("2-char", "收费", None, "relevance"),
    ("3-char", "统计局", None, "relevance"),
    ("3-char", "依申请", None, "relevance"),
    ("3-char", "处理费", None, "relevance"),
    ("4+-char", "行政复议", None, "relevance"),
    ("4+-char", "政府信息公开申请", None, "relevance"),
    ("4+-char", "重大建设项目", None, "relevance"),
    ("common 政府", "政府", None, "relevance"),
    ("common 政府", "政府", None, "date"),
    ("phrase+filters", "行政诉讼", SearchFilters(year=2022), "relevance"),
    ("phrase+filters", "依申请公开", SearchFilters(sites=("site-0007",)), "date"),
    ("phrase+filters", "政策解读", SearchFilters(level="government", year_from=2020, year_to=2022), "relevance"),
    ("phrase+filters", "主动公开", SearchFilters(region="莆田", published_from="2021-01-01"), "date"),
]


TABLE3_ROWS = [
    "一、本年新收政府信息公开申请数量", "二、上年结转政府信息公开申请数量", "（一）予以公开",
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "1.属于国家秘密", "2.其他法律行政法规禁止公开",
    "3.危及“三安全一稳定”", "4.保护第三方合法权益", "5.属于三类内部事务信息", "6.属于四类过程性信息",
    "7.属于行政执法案卷", "8.属于行政查询事项", "1.本机关不掌握相关政府信息", "2.没有现成信息需要另行制作",
    "3.补正后申请内容仍不明确", "1.信访举报投诉类申请", "2.重复申请", "3.要求提供公开出版物",
    "4.无正当理由大量反复申请", "5.要求行政机关确认或重新出具已获取信息", "（七）总计", "四、结转下年度继续办理",
]
TABLE3_HEADER = "申请人情况 自然人 法人或其他组织 商业企业 科研机构 社会公益组织 法律服务机构 其他 总计"
TABLE4_HEADER = "行政复议 行政诉讼 结果维持 结果纠正 其他结果 尚未审结 总计 未经复议直接起诉 复议后起诉"


def report_text(rng: random.Random, org: str, year: int) -> str:
    """A report of about 2,500-3,500 characters: prose sections and the flattened tables."""
    lines = []
    for heading, sentences in SECTIONS:
        lines.append(heading)
        chosen = [s for s in sentences if rng.random() < 0.85] or sentences[:1]
        for sentence in chosen:
            numbers = {f"n{i}": rng.randint(0, 500) for i in range(1, 24)}
            lines.append(sentence.format(org=org, year=year, topic=rng.choice(TOPICS), **numbers))
        if heading.startswith("三"):
            lines.append(TABLE3_HEADER)
            for row in TABLE3_ROWS:
                values = [rng.choice((0, 0, 0, rng.randint(1, 60))) for _ in range(6)]
                lines.append(" ".join([row, *map(str, values), str(sum(values))]))
        if heading.startswith("四"):
            lines.append(TABLE4_HEADER)
            lines.append(" ".join(str(rng.choice((0, 0, rng.randint(1, 9)))) for _ in range(15)))
    return "\n".join(lines)


def generate(session: Session, count: int, batch: int, seed: int = 2024) -> tuple[int, float]:
    """Insert ``count`` documents with one version each; (raw text bytes, seconds)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    site_count = max(1, min(2000, count // 200))
    sites = []
    for i in range(site_count):
        city, bureau = CITIES[i % len(CITIES)], BUREAUS[(i // len(CITIES)) % len(BUREAUS)]
        sites.append({"id": i + 1, "key": f"site-{i:04d}", "name": f"{city}市{bureau}", "region": f"福建省{city}市",
                      "level": LEVELS[i % 3], "family": "trs", "list_urls": [], "config": {},
                      "created_at": now, "updated_at": now})
    session.execute(insert(Site), sites)
    raw = 0
    started = time.perf_counter()
    for first in range(0, count, batch):
        docs, versions = [], []
        for n in range(first, min(count, first + batch)):
            site = sites[n % site_count]
            year = 2015 + rng.randint(0, 9)
            title = f"{site['name']}{year}年政府信息公开工作年度报告"
            body = report_text(rng, site["name"], year)
            raw += len(title.encode()) + len(body.encode())
            pub = f"{year + 1}-0{rng.randint(1, 3)}-{rng.randint(10, 28)}"
            docs.append({"id": n + 1, "site_id": site["id"], "url": f"https://example.gov.cn/{site['key']}/{n}.htm",
                         "title": title, "report_year": year, "publisher": site["name"], "pub_date": pub,
                         "missing_fields": [], "first_seen_at": now, "last_seen_at": now, "latest_version_id": None})
            versions.append({"id": n + 1, "document_id": n + 1, "number": 1, "content_hash": f"{n:064x}",
                             "title": title, "publisher": site["name"], "pub_date": pub, "report_year": year,
                             "body_text": body, "attachments": [], "missing_fields": [],
                             "first_seen_at": now, "last_seen_at": now})
        session.execute(insert(Document), docs)
        session.execute(insert(Version), versions)
        session.execute(
            text("UPDATE documents SET latest_version_id = id WHERE id BETWEEN :a AND :b"),
            {"a": first + 1, "b": first + len(docs)},
        )
        index_rows(session, [
            BulkRow(v["id"], v["document_id"], d["site_id"], v["report_year"], v["pub_date"], v["title"], v["body_text"])
            for v, d in zip(versions, docs, strict=True)
        ])
        session.commit()
        done = first + len(docs)
        if done % (batch * 20) == 0 or done == count:
            print(f"  {done:,} versions ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return raw, time.perf_counter() - started


def index_bytes(session: Session) -> int:
    if session.get_bind().dialect.name == "sqlite":
        return int(session.execute(text(
            "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE 'search_fts%' OR name LIKE 'search_entries'"
            " OR name LIKE 'ix_search_entries%' OR name LIKE 'sqlite_autoindex_search_entries%'"
        )).scalar())
    return int(session.execute(text("SELECT pg_total_relation_size('search_entries')")).scalar())


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def measure(session: Session, rounds: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    # One unmeasured round first: the figures are for an archive in use, not for the first query
    # after a restart, whose cost is the disk's.
    for _, query, filters, sort in QUERIES:
        search(session, query, filters, sort=sort, limit=20)
    for _ in range(rounds):
        for cls, query, filters, sort in QUERIES:
            started = time.perf_counter()
            page = search(session, query, filters, sort=sort, limit=20)
            elapsed = (time.perf_counter() - started) * 1000
            assert page.hits or filters is not None, f"{query!r} found nothing"
            timings.setdefault(cls, []).append(elapsed)
            timings.setdefault("all", []).append(elapsed)
            timings.setdefault(f"query {query} {sort}{' filtered' if filters else ''}", []).append(elapsed)
    return timings


def _existing(session: Session) -> tuple[int, int] | None:
    """(versions, raw text bytes) of an archive a previous run generated, or None."""
    try:
        row = session.execute(text(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(title AS BLOB)) + LENGTH(CAST(body_text AS BLOB))), 0) FROM versions"
            if session.get_bind().dialect.name == "sqlite"
            else "SELECT COUNT(*), COALESCE(SUM(octet_length(title) + octet_length(body_text)), 0) FROM versions"
        )).one()
    except Exception:
        session.rollback()
        return None
    return (int(row[0]), int(row[1])) if row[0] else None


def run_backend(url: str, count: int, batch: int, rounds: int, build_log: Path | None = None) -> dict[str, object]:
    """Generate (or, with ``build_log``, reuse) an archive and measure it.

    ``build_log`` keeps the generating run's build time next to a kept archive, so a later run
    that reuses the archive reports the time it took to build.
    """
    sessions = open_archive(url)
    with sessions() as session:
        existing = _existing(session) if build_log is not None else None
        if existing is not None and existing[0] == count:
            print(f"{url}: reusing {count:,} generated versions", file=sys.stderr)
            raw = existing[1]
            seconds = float(json.loads(build_log.read_text())["seconds"]) if build_log.exists() else float("nan")
        elif existing is not None:
            raise SystemExit(f"{url} holds {existing[0]:,} versions, not {count:,}: drop it or run without --keep")
        else:
            print(f"{url}: generating {count:,} versions", file=sys.stderr)
            raw, seconds = generate(session, count, batch)
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("ANALYZE"))
                session.commit()
            if build_log is not None:
                build_log.write_text(json.dumps({"url": url.split("@")[-1], "versions": count, "seconds": seconds}))
        size = index_bytes(session)
        timings = measure(session, rounds)
    sessions.kw["bind"].dispose()
    return {"raw": raw, "index": size, "seconds": seconds, "timings": timings}


def _ensure_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database when it does not exist yet (``make bench`` on
    a fresh machine), through the server's ``postgres`` maintenance database."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            ).first()
            if exists is None:
                quoted = connection.dialect.identifier_preparer.quote(target.database)
                connection.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        engine.dispose()


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--versions", type=int, default=1_000_000, help="how many versions to generate")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("NIANBAO_BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/bench_search"),
                        help="an EMPTY-able PostgreSQL database: its public schema is dropped and recreated")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10, help="how often the query mix runs")
    parser.add_argument("--no-write", action="store_true", help="print, do not update BENCHMARKS.md")
    parser.add_argument("--keep", metavar="FOLDER", type=Path,
                        help="keep the generated archives (SQLite file in FOLDER, the PostgreSQL database) and reuse"
                             " them on the next run with the same --versions")
    parser.add_argument("--per-query", action="store_true", help="also print each query's timings")
    args = parser.parse_args(argv)

    results: dict[str, dict[str, object]] = {}
    reuse = args.keep is not None
    with tempfile.TemporaryDirectory(prefix="nianbao-bench-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        if args.backend in ("sqlite", "both"):
            sqlite_file = folder / f"bench-{args.versions}.sqlite3"
            if sqlite_file.exists() and not reuse:
                sqlite_file.unlink()
            log = folder / f"{sqlite_file.stem}.build.json" if reuse else None
            results["SQLite (FTS5)"] = run_backend(f"sqlite:///{sqlite_file}", args.versions, args.batch, args.rounds, log)
        if args.backend in ("postgresql", "both"):
            _ensure_database(args.pg_url)
            if not reuse:
                _reset_postgres(args.pg_url)
            log = folder / f"postgresql-{args.pg_url.rsplit('/', 1)[-1]}-{args.versions}.build.json" if reuse else None
            results["PostgreSQL (tsvector + GIN)"] = run_backend(args.pg_url, args.versions, args.batch, args.rounds, log)

    classes = [cls for cls in dict.fromkeys(q[0] for q in QUERIES)] + ["all"]
    lines = [
        (
            f"{args.versions:,} generated report versions (one per document,"
            f" {min(2000, max(1, args.versions // 200))} sites), query mix of {len(QUERIES)} queries"
            f" x {args.rounds} rounds after one warm-up round, top 20 with snippets, latest versions only;"
            f" machine: {os.cpu_count()} cores."
        ),
        "",
        "| backend | class | p50 ms | p95 ms | p99 ms |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for backend, result in results.items():
        timings = result["timings"]  # type: ignore[assignment]
        for cls in classes:
            values = timings[cls]  # type: ignore[index]
            lines.append(
                f"| {backend} | {cls} | {statistics.median(values):.1f} | {percentile(values, 95):.1f}"
                f" | {percentile(values, 99):.1f} |"
            )
    lines += ["", "| backend | raw text | index | index / raw | build time |", "| --- | ---: | ---: | ---: | ---: |"]
    for backend, result in results.items():
        raw, size = int(result["raw"]), int(result["index"])  # type: ignore[arg-type]
        seconds = float(result["seconds"])  # type: ignore[arg-type]
        lines.append(f"| {backend} | {raw / 2**20:,.0f} MiB | {size / 2**20:,.0f} MiB | {size / raw:.2f}x | {seconds:,.0f} s |")
    body = "\n".join(lines)
    if args.per_query:
        for backend, result in results.items():
            for name, values in result["timings"].items():  # type: ignore[attr-defined]
                if name.startswith("query "):
                    print(f"{backend:30} {name[6:]:40} p50 {statistics.median(values):7.1f}  max {max(values):7.1f}")
    print(body)
    if not args.no_write:
        write_section("search", body)


if __name__ == "__main__":
    main()
