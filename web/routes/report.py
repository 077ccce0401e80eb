"""The report pages (issue 15): a report and its versions, the diff, and each version's evidence.

- ``/reports/{id}`` (``?version=n``) and its permanent form ``/reports/{id}/versions/{n}``: the
  sections as a table of contents, tables 2/3/4 with the form's Chinese labels and their checks,
  the attachments, the versions with their provenance, and a citation line;
- ``/reports/{id}/diff``: two versions side by side, the changed characters marked;
- ``/reports/{id}/versions/{n}/raw``: the version's archived payload, a download only;
- ``/reports/{id}/versions/{n}/replay``: the archived page as captured, under
  ``Content-Security-Policy: sandbox`` (an opaque origin: no script runs, nothing is fetched
  from the app or the internet) and ``nosniff``, framable by this app only;
- ``/reports/{id}/versions/{n}/view``: the app's page around it, a banner saying when and from
  which WARC record it was captured and the replay in an ``<iframe sandbox>``.

Every page has its JSON twin under ``/api/``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from crawler.i18n import gettext as _
from web import queries_report
from web.deps import Db, Templates
from web.schemas import DiffOut, ProvenanceOut, ReportOut

__all__ = ["REPLAY_CSP", "router"]

router = APIRouter()

# The replay's policy: a sandbox without allow-scripts (and so an opaque origin: no cookie, no
# storage, no script of the archived page), no network at all except inline images and styles,
# and framed only by this app's own view page (the global policy says frame-ancestors 'none').
REPLAY_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
# Same ranges as web.app (not imported from there: web.app imports this module): an id or a
# version number that no row can have is simply not found.
ID_MAX = 2**63 - 1
NUMBER_MAX = 2**31 - 1
VersionNumber = Annotated[int | None, Query(ge=1, le=NUMBER_MAX)]


def _check(document_id: int, number: int | None = None) -> None:
    if not 1 <= document_id <= ID_MAX or (number is not None and not 1 <= number <= NUMBER_MAX):
        raise HTTPException(404, _not_found(document_id, number))


def _not_found(document_id: int, number: int | None) -> str:
    if number is None:
        return _("no archived report with id %(id)s", id=document_id)
    return _("no archived report with id %(id)s and version %(number)s", id=document_id, number=number)


def _report(request: Request, db: Db, document_id: int, number: int | None) -> ReportOut:
    _check(document_id, number)
    base = queries_report.public_base(str(request.base_url))
    report = queries_report.report_view(db, document_id, number, base)
    if report is None:
        raise HTTPException(404, _not_found(document_id, number))
    return report


def _diff(db: Db, document_id: int, old: int | None, new: int | None) -> DiffOut:
    if (old is None) != (new is None):
        raise HTTPException(422, _("give both old and new version numbers, or neither"))
    _check(document_id)
    diff = queries_report.diff_view(db, document_id, old, new)
    if diff is None:
        raise HTTPException(404, _("no such report or versions: %(id)s", id=document_id))
    return diff


def _provenance(db: Db, document_id: int, number: int) -> ProvenanceOut:
    _check(document_id, number)
    provenance = queries_report.provenance_view(db, document_id, number)
    if provenance is None:
        raise HTTPException(404, _("version %(number)s of report %(id)s has no archived capture",
                                   number=number, id=document_id))
    return provenance


# --- JSON API -------------------------------------------------------------------------------


@router.get("/api/reports/{document_id}", response_model=ReportOut, tags=["api"])
def api_report(request: Request, db: Db, document_id: int, version: VersionNumber = None) -> ReportOut:
    """One report: metadata, a version's text and tables, attachments, the versions with their
    provenance, and the citation of the version shown."""
    return _report(request, db, document_id, version)


@router.get("/api/reports/{document_id}/versions/{number}", response_model=ReportOut, tags=["api"])
def api_report_version(request: Request, db: Db, document_id: int, number: int) -> ReportOut:
    """One version of a report, by its permanent address."""
    return _report(request, db, document_id, number)


@router.get("/api/reports/{document_id}/versions/{number}/provenance", response_model=ProvenanceOut, tags=["api"])
def api_provenance(db: Db, document_id: int, number: int) -> ProvenanceOut:
    """Where a version's text came from: its capture and WARC record (the view page's data)."""
    return _provenance(db, document_id, number)


@router.get("/api/reports/{document_id}/diff", response_model=DiffOut, tags=["api"])
def api_diff(db: Db, document_id: int, old: VersionNumber = None, new: VersionNumber = None) -> DiffOut:
    """Side-by-side (changed characters marked) and unified diff between two versions (default:
    the latest two)."""
    return _diff(db, document_id, old, new)


# --- evidence -------------------------------------------------------------------------------


@router.get("/reports/{document_id}/versions/{number}/raw", tags=["exports"])
def version_raw(db: Db, document_id: int, number: int) -> Response:
    """A version's archived payload as fetched: a download only, never rendered on this origin."""
    _check(document_id, number)
    body = queries_report.raw_version(db, document_id, number)
    if body is None:
        raise HTTPException(404, _("version %(number)s of report %(id)s has no archived capture",
                                   number=number, id=document_id))
    return Response(body, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="report-{document_id}-v{number}.bin"'})


@router.get("/reports/{document_id}/versions/{number}/replay", include_in_schema=False)
def version_replay(db: Db, document_id: int, number: int) -> Response:
    """The archived page as captured, isolated (see REPLAY_CSP); only the archived Content-Type
    (media type and charset) is repeated, no other archived header."""
    _check(document_id, number)
    replay = queries_report.replay_view(db, document_id, number)
    if replay is None:
        raise HTTPException(404, _("version %(number)s of report %(id)s has no archived capture",
                                   number=number, id=document_id))
    # Content-Type set as a header, not media_type: Starlette would add "charset=utf-8" to a
    # text/* type without one, mislabelling a page whose charset is in its <meta>.
    return Response(replay.body, headers={
        "Content-Type": replay.content_type,
        "Content-Security-Policy": REPLAY_CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "SAMEORIGIN",
    })


# --- pages ----------------------------------------------------------------------------------


@router.get("/reports/{document_id}", response_class=HTMLResponse, include_in_schema=False)
def report_page(request: Request, db: Db, templates: Templates, document_id: int,
                version: VersionNumber = None) -> HTMLResponse:
    report = _report(request, db, document_id, version)
    return templates.TemplateResponse(request, "report.html", {"report": report})


@router.get("/reports/{document_id}/versions/{number}", response_class=HTMLResponse, include_in_schema=False)
def report_version_page(request: Request, db: Db, templates: Templates, document_id: int, number: int) -> HTMLResponse:
    report = _report(request, db, document_id, number)
    return templates.TemplateResponse(request, "report.html", {"report": report})


@router.get("/reports/{document_id}/versions/{number}/view", response_class=HTMLResponse, include_in_schema=False)
def replay_page(request: Request, db: Db, templates: Templates, document_id: int, number: int) -> HTMLResponse:
    provenance = _provenance(db, document_id, number)
    title = queries_report.version_title(db, document_id, number)
    response = templates.TemplateResponse(request, "replay.html", {
        "document_id": document_id, "number": number, "title": title, "provenance": provenance})
    response.headers["Content-Security-Policy"] = _framing_csp()
    return response


def _framing_csp() -> str:
    """The app's policy, plus frames from this app only (the replay iframe of the view page)."""
    from web.app import CSP  # here, not at the top: web.app imports this module

    return f"{CSP}; frame-src 'self'"


@router.get("/reports/{document_id}/diff", response_class=HTMLResponse, include_in_schema=False)
def diff_page(request: Request, db: Db, templates: Templates, document_id: int, old: VersionNumber = None,
              new: VersionNumber = None) -> HTMLResponse:
    return templates.TemplateResponse(request, "diff.html", {"diff": _diff(db, document_id, old, new)})
