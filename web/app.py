"""The FastAPI application: HTML pages and the JSON API over one read-only archive.

Security, because archived pages are hostile:

- templates autoescape everything; only extracted text is rendered, never archived HTML;
- every response carries a Content-Security-Policy without script sources (no script runs on
  these pages at all), ``X-Content-Type-Options: nosniff``, no framing and no referrer;
- archived pages and attachments are downloads (``Content-Disposition: attachment``,
  ``application/octet-stream``), looked up by id, never by a path from the request; the one
  exception, a version's replay, is served under ``Content-Security-Policy: sandbox`` without
  scripts or network (web/routes/report.py);
- links to archived addresses are made only for http(s) URLs (see :func:`web.views.safe_href`);
- the database is read-only, each query has a time limit and every answer a row cap.
"""


import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler import i18n
from crawler.csvsafe import SafeDictWriter
from crawler.errors import StorageError
from crawler.stats import COLUMNS
from storage.search import SORTS, SearchFilters
from storage.sections import parse_section_filter
from web import queries, queries_browse
from web.db import is_timeout, open_read_only
from web.routes import browse, report, watch
from web.schemas import CoverageOut, HealthOut, SearchOut, StatsOut
from web.settings import WebSettings
from web.views import COVERAGE_LABELS, bar_chart, coverage_rows, safe_href

__all__ = ["CSP", "create_app"]

HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Range checks: no integer from a request reaches the database unchecked (SQLite's driver raises
# OverflowError beyond 64 bits). An id that no row can have is simply not found (404); a query
# parameter out of its range is a bad request (422).
ID_MAX = 2**63 - 1  # BIGINT ids (INTEGER PRIMARY KEY on SQLite)
NUMBER_MAX = 2**31 - 1  # INTEGER columns: version numbers
YEAR_MIN, YEAR_MAX = 1, 9999  # what a date can hold
Year = Annotated[int | None, Query(ge=YEAR_MIN, le=YEAR_MAX, description="a report year (1-9999)")]
VersionNumber = Annotated[int | None, Query(ge=1, le=NUMBER_MAX)]
LANGUAGE_COOKIE = "nianbao_lang"
# Route modules (web/routes/), included in this order by create_app.
ROUTERS: tuple[APIRouter, ...] = (browse.router, watch.router, report.router)
STATS_ROWS = ("new_requests", "carried_over", "granted", "partially_granted", "total", "carried_forward")


def replace_page(query_string: str, page: int) -> str:
    """The query string with ``page`` set (for pager links; the template escapes it)."""
    pairs = [(k, v) for k, v in parse_qsl(query_string, keep_blank_values=True) if k != "page"]
    return urlencode([*pairs, ("page", str(page))])


def create_app(settings: WebSettings, sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """The app for ``settings`` (``sessions`` for tests that already opened the archive)."""
    sessions = sessions or open_read_only(settings.database_url, settings.time_limit)
    app = FastAPI(
        title="nianbao archive",
        summary="Read-only search and history of government information-disclosure annual reports",
        version="1",
        docs_url=None,  # Swagger UI loads script from a CDN; the document itself is /openapi.json
        redoc_url=None,
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.autoescape = True
    # Interface text through the message catalogs, in the request's language (crawler/i18n.py):
    # {{ _("Search") }} in templates; the language is chosen per request by the middleware below.
    templates.env.add_extension("jinja2.ext.i18n")
    templates.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    templates.env.globals.update(current_language=i18n.current_language, html_lang=i18n.HTML_LANG)
    templates.env.globals.update(safe_href=safe_href, coverage_labels=COVERAGE_LABELS, columns=COLUMNS)
    templates.env.filters["replace_page"] = replace_page
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    app.state.sessions = sessions
    app.state.templates = templates
    app.state.settings = settings  # the row cap and page sizes, for web/routes/
    for router in ROUTERS:
        app.include_router(router)

    def session() -> Iterator[Session]:
        with sessions() as s:
            yield s

    Db = Annotated[Session, Depends(session)]

    @app.middleware("http")
    async def language(request: Request, call_next: Any) -> Response:
        # ?lang= (remembered in a cookie), else the cookie, else Accept-Language, else the
        # NIANBAO_LANG setting, else Chinese.
        chosen = i18n.parse_language(request.query_params.get("lang"))
        wanted = chosen or i18n.parse_language(request.cookies.get(LANGUAGE_COOKIE)) or i18n.negotiate(
            request.headers.get("accept-language")
        )
        with i18n.use_language(wanted) as spoken:
            response = await call_next(request)
        response.headers.setdefault("Content-Language", i18n.HTML_LANG[spoken])
        response.headers["Vary"] = "Accept-Language, Cookie"
        if chosen:
            response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="lax", httponly=True)
        return response

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path.endswith((".csv", ".jsonl", ".json"))

    def error(request: Request, status: int, message: str) -> Response:
        if wants_json(request):
            return JSONResponse({"error": message, "status": status}, status_code=status)
        return templates.TemplateResponse(request, "error.html", {"status": status, "message": message}, status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return error(request, 422, f"invalid request ({problems})")

    @app.exception_handler(SQLAlchemyError)
    @app.exception_handler(StorageError)
    async def database_error(request: Request, exc: Exception) -> Response:
        if is_timeout(exc):
            return error(request, 503, f"the query took longer than {settings.time_limit:g} s; narrow it down")
        return error(request, 500, "the archive could not be read")

    # --- parameters shared by the page and the API ------------------------------------------

    def search_params(
        q: Annotated[str, Query(max_length=500, description="words or phrases; all must occur")] = "",
        site: Annotated[list[str], Query(description="site key (repeatable)")] = [],  # noqa: B006
        region: Annotated[str | None, Query(max_length=100)] = None,
        level: Annotated[str | None, Query(max_length=32)] = None,
        year: Year = None,
        from_year: Year = None,
        to_year: Year = None,
        publisher: Annotated[str | None, Query(max_length=200)] = None,
        published_from: date | None = None,
        published_to: date | None = None,
        has_tables: bool | None = None,
        image_only: bool | None = None,
        section: Annotated[str | None, Query(max_length=50, description="only hits inside this section: "
                                             "overview, proactive, requests, review, problems, other, part1 … "
                                             "or words of its heading, e.g. 问题")] = None,
        sort: Annotated[str, Query(pattern="^(" + "|".join(SORTS) + ")$")] = "relevance",
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        per_page: Annotated[int | None, Query(ge=1, le=100)] = None,
    ) -> dict[str, Any]:
        filters = SearchFilters(
            sites=tuple(s for s in site if s)[:50], region=region or None, level=level or None, year=year,
            year_from=from_year, year_to=to_year, publisher=publisher or None,
            published_from=published_from.isoformat() if published_from else None,
            published_to=published_to.isoformat() if published_to else None,
            has_tables=has_tables, image_only=image_only, section=section or None,
        )
        try:
            parse_section_filter(filters.section)
        except ValueError as exc:
            raise HTTPException(422, f"invalid request (section: {exc})") from None
        return {"query": q, "filters": filters, "sort": sort, "page": page, "per_page": settings.per_page(per_page)}

    SearchParams = Annotated[dict[str, Any], Depends(search_params)]

    def run_search(db: Session, params: dict[str, Any]) -> SearchOut:
        if not params["query"].strip():  # no words: every report the filters keep, newest first
            return queries_browse.listing_view(db, params["filters"], params["sort"], params["page"],
                                               params["per_page"], settings.row_cap)
        return queries.search_view(db, params["query"], params["filters"], params["sort"], params["page"],
                                   params["per_page"], settings.row_cap)

    def stats_params(
        row: Annotated[str, Query(max_length=64)] = "new_requests",
        site: Annotated[list[str], Query()] = [],  # noqa: B006
        from_year: Year = None,
        to_year: Year = None,
    ) -> dict[str, Any]:
        return {"row": row, "sites": [s for s in site if s][:50], "year_from": from_year, "year_to": to_year}

    StatsParams = Annotated[dict[str, Any], Depends(stats_params)]

    def run_stats(db: Session, params: dict[str, Any]) -> StatsOut:
        return queries.stats_view(db, params["row"], params["sites"], params["year_from"], params["year_to"], settings.row_cap)

    def check_id(value: int, message: str) -> int:
        """``value`` when a row could have it as its id; otherwise not found."""
        if not 1 <= value <= ID_MAX:
            raise HTTPException(404, message)
        return value

    # --- JSON API -----------------------------------------------------------------------------

    @app.get("/api/search", response_model=SearchOut, tags=["api"])
    def api_search(db: Db, params: SearchParams) -> SearchOut:
        """Full-text search (CJK bigram index) with filters, snippets and pagination; without a query,
        every report the filters keep, newest published first, with their total count."""
        return run_search(db, params)

    # /api/reports/{id} and /api/reports/{id}/diff: web/routes/report.py

    @app.get("/api/coverage", response_model=CoverageOut, tags=["api"])
    def api_coverage(db: Db, as_of: date | None = None, site: Annotated[list[str], Query()] = []) -> CoverageOut:  # noqa: B006
        """The sites × report years grid: on_time, late, missing, not_due, unknown."""
        return queries.coverage_view(db, as_of or date.today(), [s for s in site if s][:200], settings.row_cap)

    @app.get("/api/stats", response_model=StatsOut, tags=["api"])
    def api_stats(db: Db, params: StatsParams) -> StatsOut:
        """Table-3 figures across sites and years (row cap applies)."""
        return run_stats(db, params)

    @app.get("/api/health", response_model=HealthOut, tags=["api"])
    def api_health(db: Db, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                   per_page: Annotated[int | None, Query(ge=1, le=100)] = None) -> HealthOut:
        """Per-site crawl health: the latest crawl and recent failures."""
        return queries.health_view(db, page, settings.per_page(per_page))

    # --- exports ------------------------------------------------------------------------------

    def csv_response(rows: list[dict[str, Any]], fields: list[str], filename: str, bom: bool = False) -> Response:
        buffer = io.StringIO()
        if bom:
            buffer.write("\ufeff")  # ?bom=1: so Excel reads the download as UTF-8
        writer = SafeDictWriter(buffer, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    def jsonl_response(rows: list[dict[str, Any]], filename: str) -> Response:
        body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        return Response(body, media_type="application/x-ndjson; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    def export_hits(db: Session, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        page = 1
        while len(rows) < settings.row_cap:
            size = min(100, settings.row_cap)
            # run_search, as the page does: without a query, every report the filters keep.
            result = run_search(db, {**params, "page": page, "per_page": size})
            for hit in result.hits:
                row = hit.model_dump(exclude={"title_segments", "snippet"})
                row["snippet"] = "".join(s.text for s in hit.snippet)
                rows.append(row)
            if not result.has_more:
                break
            page += 1
        return rows[: settings.row_cap]

    search_fields = ["id", "site", "site_name", "region", "report_year", "pub_date", "publisher", "title",
                     "version", "version_id", "score", "snippet", "url"]

    @app.get("/search.csv", tags=["exports"])
    def search_csv(db: Db, params: SearchParams, bom: Annotated[bool, Query()] = False) -> Response:
        """Search results as CSV (up to the row cap); ?bom=1 starts it with a UTF-8 BOM for Excel."""
        return csv_response(export_hits(db, params), search_fields, "search.csv", bom)

    @app.get("/search.jsonl", tags=["exports"])
    def search_jsonl(db: Db, params: SearchParams) -> Response:
        """Search results as JSON lines (up to the row cap)."""
        return jsonl_response(export_hits(db, params), "search.jsonl")

    stats_fields = ["site", "site_name", "region", "level", "report_year", "document_id", "version", "format", "row", *COLUMNS]

    @app.get("/stats.csv", tags=["exports"])
    def stats_csv(db: Db, params: StatsParams, bom: Annotated[bool, Query()] = False) -> Response:
        """Table-3 figures as CSV (every row key; up to the row cap); ?bom=1 adds a UTF-8 BOM."""
        stats = run_stats(db, params)
        return csv_response([r.model_dump() for r in stats.rows], stats_fields, "table3.csv", bom)

    @app.get("/stats.jsonl", tags=["exports"])
    def stats_jsonl(db: Db, params: StatsParams) -> Response:
        """Table-3 figures as JSON lines (up to the row cap)."""
        return jsonl_response([r.model_dump() for r in run_stats(db, params).rows], "table3.jsonl")

    @app.get("/reports/{document_id}/raw", tags=["exports"])
    def report_raw(db: Db, document_id: int) -> Response:
        """The archived page as fetched: a download only, never rendered on this origin."""
        check_id(document_id, f"report {document_id} has no archived page")
        body = queries.raw_page(db, document_id)
        if body is None:
            raise HTTPException(404, f"report {document_id} has no archived page")
        return Response(body, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="report-{document_id}.html.bin"'})

    @app.get("/attachments/{attachment_id}", tags=["exports"])
    def attachment(db: Db, attachment_id: int) -> Response:
        """An attachment file by id: a download only."""
        check_id(attachment_id, f"no stored attachment with id {attachment_id}")
        found = queries.attachment_file(db, attachment_id)
        if found is None:
            raise HTTPException(404, f"no stored attachment with id {attachment_id}")
        path, sha256 = found
        return FileResponse(path, media_type="application/octet-stream", filename=f"attachment-{attachment_id}-{sha256[:12]}.bin",
                            content_disposition_type="attachment")

    # --- pages --------------------------------------------------------------------------------

    def page(request: Request, name: str, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context)

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, db: Db, params: SearchParams) -> HTMLResponse:
        result = run_search(db, params)
        return page(request, "search.html", result=result, params=params, sites=queries.site_keys(db)[: settings.row_cap],
                    sorts=SORTS, query_string=request.url.query)

    # /reports/{id}, its versions, their evidence and /reports/{id}/diff: web/routes/report.py

    @app.get("/coverage", response_class=HTMLResponse, include_in_schema=False)
    def coverage_page(
        request: Request, db: Db, as_of: date | None = None, site: Annotated[list[str], Query()] = []  # noqa: B006  (FastAPI never mutates it)
    ) -> HTMLResponse:
        coverage = queries.coverage_view(db, as_of or date.today(), [s for s in site if s][:200], settings.row_cap)
        return page(request, "coverage.html", coverage=coverage, rows=coverage_rows(coverage))

    @app.get("/stats", response_class=HTMLResponse, include_in_schema=False)
    def stats_page(request: Request, db: Db, params: StatsParams) -> HTMLResponse:
        stats = run_stats(db, params)
        return page(request, "stats.html", stats=stats, chart=bar_chart(stats), params=params, rows_choice=STATS_ROWS,
                    sites=queries.site_keys(db)[: settings.row_cap], query_string=request.url.query)

    @app.get("/health", response_class=HTMLResponse, include_in_schema=False)
    def health_page(
        request: Request, db: Db, page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1
    ) -> HTMLResponse:
        return page(request, "health.html", health=queries.health_view(db, page_number, settings.per_page(None)))

    return app
