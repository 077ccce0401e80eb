"""Browse: the home page ("what's new and what's wrong"), regions and sites, each with its API twin.

Site keys and region names come from the path and are only compared as data (bound
parameters); one that names no site is a 404. ``as_of`` (default today) is the date the
coverage counts are taken on, as on /coverage.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse

from crawler.i18n import gettext as _
from web.deps import Db, Templates
from web.queries_browse import home_view, region_view, regions_view, site_view
from web.schemas import HomeOut, RegionOut, RegionsOut, SiteOut
from web.settings import WebSettings

__all__ = ["router"]

router = APIRouter()

# Site keys are at most 64 characters (sites.key); a longer one cannot name a site.
SiteKey = Annotated[str, Path(max_length=64, description="a site key, e.g. putian-tjj")]
RegionName = Annotated[str, Path(max_length=200, description="a region as the sites file names it, e.g. 福建省莆田市")]
REGION_ROWS = 20  # newest reports shown on a region page


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def _home(db: Db, as_of: date | None) -> HomeOut:
    return home_view(db, as_of or date.today())


def _region(db: Db, region: str, as_of: date | None) -> RegionOut:
    found = region_view(db, region, as_of or date.today(), REGION_ROWS)
    if found is None:
        raise HTTPException(404, _("No site is in the region %(region)s.", region=region))
    return found


def _site(request: Request, db: Db, key: str, as_of: date | None) -> SiteOut:
    found = site_view(db, key, as_of or date.today(), _settings(request).row_cap)
    if found is None:
        raise HTTPException(404, _("No site has the key %(key)s.", key=key))
    return found


# --- JSON API -------------------------------------------------------------------------------


@router.get("/api/home", response_model=HomeOut, tags=["api"])
def api_home(db: Db, as_of: date | None = None) -> HomeOut:
    """Latest reports, reports changed in the last 7 days, open alerts and coverage counts."""
    return _home(db, as_of)


@router.get("/api/regions", response_model=RegionsOut, tags=["api"])
def api_regions(db: Db) -> RegionsOut:
    """Every region with its sites and how many reports each has."""
    return regions_view(db)


@router.get("/api/regions/{region:path}", response_model=RegionOut, tags=["api"])
def api_region(db: Db, region: RegionName, as_of: date | None = None) -> RegionOut:
    """One region: its sites, newest reports and coverage counts (404 when no site is in it)."""
    return _region(db, region, as_of)


@router.get("/api/sites/{key}", response_model=SiteOut, tags=["api"])
def api_site(request: Request, db: Db, key: SiteKey, as_of: date | None = None) -> SiteOut:
    """One site: its reports by year with version counts, crawl health, listing, open alerts."""
    return _site(request, db, key, as_of)


# --- pages ----------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home_page(request: Request, db: Db, templates: Templates, as_of: date | None = None) -> HTMLResponse:
    return templates.TemplateResponse(request, "home.html", {"home": _home(db, as_of)})


@router.get("/regions", response_class=HTMLResponse, include_in_schema=False)
def regions_page(request: Request, db: Db, templates: Templates) -> HTMLResponse:
    return templates.TemplateResponse(request, "regions.html", {"regions": regions_view(db)})


@router.get("/regions/{region:path}", response_class=HTMLResponse, include_in_schema=False)
def region_page(request: Request, db: Db, templates: Templates, region: RegionName,
                as_of: date | None = None) -> HTMLResponse:
    return templates.TemplateResponse(request, "region.html", {"region": _region(db, region, as_of)})


@router.get("/sites/{key}", response_class=HTMLResponse, include_in_schema=False)
def site_page(request: Request, db: Db, templates: Templates, key: SiteKey, as_of: date | None = None) -> HTMLResponse:
    return templates.TemplateResponse(request, "site.html", {"site": _site(request, db, key, as_of)})
