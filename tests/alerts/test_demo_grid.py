"""``nianbao demo`` ends with the monitor's grid: the demo's built-in missing and late reports."""

from __future__ import annotations

import socket

from tests.crawler.harness import run_nianbao


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_demo_shows_the_grid_with_a_missing_a_late_and_an_unknown_report(tmp_path, database_url):
    result = run_nianbao("--db", database_url, "demo", "--port", str(_free_port()), cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "Report coverage as of" in result.stdout
    out = result.stdout.split("Report coverage as of", 1)[1]
    rows: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.startswith("demo-"):
            rows.setdefault(line.split()[0], line.split())  # the grid comes before the details
    details = [line.split()[:3] for line in out.splitlines() if line.startswith("demo-")]
    # demo-jyj: first_report_year 2015 but its column starts in 2016; 2017's page times out.
    assert ["demo-jyj", "2015", "missing"] in details
    assert ["demo-jyj", "2017", "unknown"] in details
    # demo-xian's 2020 report came out on 2021-05-18, after 31 March.
    assert ["demo-xian", "2020", "late"] in details
    assert rows["demo-tjj"][1] == "ok"  # health column
    assert rows["demo-jyj"][2:4] == ["MISSING", "ok"]  # 2015, 2016
