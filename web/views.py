"""Presentation helpers for the templates: safe links, the bar chart, the coverage grid."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from web.schemas import CoverageOut, StatsOut

__all__ = ["Bar", "BarChart", "bar_chart", "coverage_rows", "safe_href"]

COVERAGE_LABELS = {
    "on_time": "on time",
    "late": "late",
    "missing": "missing",
    "not_due": "not due",
    "unknown": "unknown",
}


def safe_href(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) address to link to; None otherwise (shown as text).

    Archived pages are hostile: a ``javascript:`` or ``data:`` address must never become a link.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ord(ch) < 32 for ch in url):
        return None
    return url.strip()


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    maximum: int
    title: str


def bar_chart(stats: StatsOut, width: int = 640, height: int = 240) -> BarChart | None:
    """Bars of the row's total per year, summed over the selected sites (inline SVG, no script)."""
    totals: dict[int, int] = {}
    for by_year in stats.series.values():
        for year_key, value in by_year.items():
            totals[int(year_key)] = totals.get(int(year_key), 0) + value
    if not totals:
        return None
    years = sorted(totals)
    maximum = max(totals.values()) or 1
    margin, top, bottom = 40.0, 20.0, 30.0
    slot = (width - 2 * margin) / len(years)
    plot = height - top - bottom
    bars = []
    for index, year in enumerate(years):
        bar_height = plot * totals[year] / maximum
        bars.append(
            Bar(label=str(year), value=totals[year], x=margin + index * slot + slot * 0.15,
                y=top + plot - bar_height, width=slot * 0.7, height=bar_height)
        )
    return BarChart(width=width, height=height, baseline=top + plot, bars=bars, maximum=maximum,
                    title=f"{stats.row}: total per report year")


def coverage_rows(coverage: CoverageOut) -> list[tuple[str, str, list[object]]]:
    """(site key, site name, [cell or None per year]) for the grid."""
    by_site: dict[str, dict[int, object]] = {}
    for cell in coverage.cells:
        by_site.setdefault(cell.site_key, {})[cell.report_year] = cell
    return [
        (site, coverage.site_names.get(site, site), [by_site.get(site, {}).get(year) for year in coverage.years])
        for site in coverage.sites
    ]
