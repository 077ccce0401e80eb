"""Every id and integer parameter of the web app and the API, fed what an attacker (or a
fuzzer, or a mistyped bookmark) sends: huge, negative, zero and non-numeric values.

Ids out of range are simply not found (404); a bad parameter is 422; nothing is ever a 500 --
in particular no integer may reach the database driver unchecked (SQLite's driver raises
OverflowError beyond 2**63-1; PostgreSQL compares a bigint column with a numeric). Runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import HostileArchive, build_hostile_archive
from web.app import create_app
from web.settings import WebSettings

HUGE = ["99999999999999999999", str(2**63), str(2**64 + 1), "1" + "0" * 400]
NEGATIVE = ["-1", str(-(2**63) - 1), "-99999999999999999999"]
ZERO = ["0", "-0"]
NUMERIC_BAD = HUGE + NEGATIVE + ZERO
NOT_NUMERIC = ["abc", "1.5", "1e3", "0x10", "%20", "1%00", "１２", "NaN", "inf"]

# Path ids: a number that cannot be an id is not found; anything else is a bad request.
ID_ROUTES = [
    "/reports/{}", "/reports/{}/diff", "/reports/{}/raw", "/attachments/{}",
    "/api/reports/{}", "/api/reports/{}/diff",
]
SEARCH_ROUTES = ["/api/search", "/search", "/search.csv", "/search.jsonl"]
STATS_ROUTES = ["/api/stats", "/stats", "/stats.csv", "/stats.jsonl"]
# (route, integer query parameter): every one must answer 422 to a value it cannot take.
INT_PARAMS = [
    *[(route, name) for route in SEARCH_ROUTES for name in ("year", "from_year", "to_year", "page", "per_page")],
    *[(route, name) for route in STATS_ROUTES for name in ("from_year", "to_year")],
    ("/api/health", "page"), ("/api/health", "per_page"), ("/health", "page"),
    ("/reports/{id}", "version"), ("/api/reports/{id}", "version"),
    ("/reports/{id}/diff", "old"), ("/reports/{id}/diff", "new"),
    ("/api/reports/{id}/diff", "old"), ("/api/reports/{id}/diff", "new"),
]
DATE_PARAMS = [
    *[(route, name) for route in SEARCH_ROUTES for name in ("published_from", "published_to")],
    ("/api/coverage", "as_of"), ("/coverage", "as_of"),
]
BAD_DATES = ["0000-01-01", "99999-01-01", "2024-13-01", "2024-02-30", "-2024-01-01", "abc",
             "99999999999999999999", "1e3"]
EXTREME_DATES = ["0001-01-01", "9999-12-31"]


@pytest.fixture
def archive(database_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> HostileArchive:
    monkeypatch.setenv("NIANBAO_DATA_DIR", str(tmp_path / "data"))
    return build_hostile_archive(database_url)


@pytest.fixture
def web(archive: HostileArchive) -> Iterator[TestClient]:
    app = create_app(WebSettings(database_url=archive.url, row_cap=50))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _both(query: str, name: str, value: str) -> str:
    # A diff needs both version numbers; give the other one a good value.
    other = {"old": "new", "new": "old"}.get(name)
    return f"{query}&{other}=1" if other else query


def test_ids_out_of_range_are_not_found_and_non_numbers_are_bad_requests(web: TestClient, archive: HostileArchive):
    """An attacker walks every id route with ids no database column can hold."""
    problems = []
    for route in ID_ROUTES:
        for value in [*NUMERIC_BAD, str(2**63 - 1), "99999999"]:
            response = web.get(route.format(value))
            if response.status_code != 404:
                problems.append((route.format(value), response.status_code, response.text[:120]))
        for value in NOT_NUMERIC:
            response = web.get(route.format(value))
            if response.status_code not in (404, 422):
                problems.append((route.format(value), response.status_code, response.text[:120]))
    assert problems == []
    # A real id still answers.
    assert web.get(f"/api/reports/{archive.report_id}").status_code == 200


def test_integer_parameters_out_of_range_are_bad_requests(web: TestClient, archive: HostileArchive):
    """Each integer query parameter of each route gets huge, negative, zero and garbage values:
    e.g. ``/api/search?q=公&from_year=9223372036854775808`` used to reach SQLite and answer 500."""
    problems = []
    for route, name in INT_PARAMS:
        path = route.format(id=archive.report_id)
        for value in [*NUMERIC_BAD, *NOT_NUMERIC]:
            if value in ("-0", "0") and name not in ("page", "per_page", "version", "old", "new"):
                continue  # year 0 is checked below with the other impossible years
            url = _both(f"{path}?q=公&{name}={value}", name, value)
            response = web.get(url)
            if response.status_code != 422:
                problems.append((url, response.status_code, response.text[:160]))
    for route, name in INT_PARAMS:
        if "year" not in name:
            continue
        for value in ("0", "-0", "10000", "-2023"):
            url = f"{route}?q=公&{name}={value}"
            response = web.get(url)
            if response.status_code != 422:
                problems.append((url, response.status_code, response.text[:160]))
    assert problems == []


def test_valid_edges_of_every_integer_parameter_still_answer(web: TestClient, archive: HostileArchive):
    """The largest values a parameter accepts are answered normally (200 or 404), not refused."""
    for route in SEARCH_ROUTES:
        for query in ("year=9999", "from_year=1&to_year=9999", "page=100000&per_page=100"):
            response = web.get(f"{route}?q=公&{query}")
            assert response.status_code == 200, (route, query, response.text[:200])
    for route in STATS_ROUTES:
        assert web.get(f"{route}?from_year=1&to_year=9999").status_code == 200
    assert web.get(f"/api/reports/{archive.report_id}?version=2147483647").status_code == 404
    assert web.get(f"/api/reports/{archive.report_id}/diff?old=1&new=2147483647").status_code == 404
    assert web.get(f"/api/reports/{2**63 - 1}").status_code == 404
    assert web.get("/api/health?page=100000&per_page=100").status_code == 200


def test_dates_out_of_range_are_bad_requests(web: TestClient):
    """Date parameters get impossible and extreme dates: 422 or an answer, never 500."""
    problems = []
    for route, name in DATE_PARAMS:
        for value in BAD_DATES:
            response = web.get(f"{route}?q=公&{name}={value}")
            if response.status_code != 422:
                problems.append((route, name, value, response.status_code, response.text[:160]))
        for value in EXTREME_DATES:
            response = web.get(f"{route}?q=公&{name}={value}")
            if response.status_code not in (200, 422):
                problems.append((route, name, value, response.status_code, response.text[:160]))
    assert problems == []
