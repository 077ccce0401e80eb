"""``nianbao sites list|check``: the configured sites, their crawl health, and validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from crawler.cli.context import Context, pass_context
from crawler.cli.monitor import site_states
from crawler.config import SitesFileProblems, load_sites
from crawler.display import render_table
from crawler.errors import ExitStatus
from crawler.i18n import N_
from crawler.i18n import gettext as _


@click.group()
def sites() -> None:
    """List and check configured sites.

    \b
    Example:
      nianbao --sites sites.example.toml sites list
    """


@sites.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_context
def sites_list(obj: Context, fmt: str) -> None:
    """List the sites of the sites file.

    \b
    Example:
      nianbao --sites sites.example.toml sites list --format json
    """
    configured, _source = obj.sites(demo_fallback=True)
    if obj.database_named:
        obj.existing_archive()  # a mistyped --db is an error; the default archive may not exist yet
    # Crawl health from the archive: ok, unreachable, broken (unknown before the first crawl),
    # and how the latest crawl read the column (an incomplete listing is a problem of its own).
    health, listings, events = site_states(obj.database_url, [s.key for s in configured])
    if fmt == "json":
        click.echo(json.dumps(
            [{**s.as_dict(), "health": health[s.key].state if s.key in health else "unknown",
              "health_reason": health[s.key].reason if s.key in health else None,
              "listing": _listing_json(listings.get(s.key)),
              "last_scheduled": _event_json(events.get(s.key))} for s in configured],
            ensure_ascii=False, indent=2))
        return
    click.echo(
        render_table(
            [_("key"), _("name"), _("region"), _("level"), _("family"), _("health"), _("listing"), _("last slot"),
             _("list URL")],
            [[s.key, s.name, s.region, s.level, s.family,
              health[s.key].state if s.key in health else "unknown",
              listings[s.key].summary() if s.key in listings else "-",
              _event_summary(events.get(s.key)), s.list_urls[0]] for s in configured],
            max_width=70,
        )
    )
    problems = [(key, state.problem) for key, state in listings.items() if state.problem]
    if problems:
        click.echo("")
        click.echo(_("Incomplete listings (report years they did not reach are unknown, never missing):"))
        for key, problem in problems:
            click.echo(f"  {key}: {problem}")


# What the scheduler did with a site's latest slot (storage.scheduling), in the reader's language.
SCHEDULER_EVENTS = {
    "finished": N_("crawled"),
    "failed": N_("crawl failed"),
    "skipped": N_("skipped (lease held)"),
    "interrupted": N_("interrupted"),
    "timeout": N_("timed out"),
    "missed": N_("missed (scheduler not running)"),
    "error": N_("scheduler error"),
}


def _event_summary(event: Any) -> str:
    """``missed (scheduler not running) 2026-12-04 02:00`` for the newest scheduler event."""
    if event is None:
        return "-"
    label = _(SCHEDULER_EVENTS[event.event]) if event.event in SCHEDULER_EVENTS else event.event
    when = event.scheduled_for or event.created_at
    return f"{label} {when:%Y-%m-%d %H:%M}" if when is not None else label


def _event_json(event: Any) -> dict[str, Any] | None:
    if event is None:
        return None
    return {"event": event.event, "scheduled_for": event.scheduled_for.isoformat() if event.scheduled_for else None,
            "at": event.created_at.isoformat(), "detail": event.detail}


def _listing_json(state: Any) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "run_id": state.run_id, "complete": state.complete, "pages_expected": state.expected,
        "pages_fetched": state.fetched, "pages_failed": state.failed,
        "unread": [{"page": p.label, "url": p.url, "reason": p.reason} for p in state.unread],
    }


@sites.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def sites_check(file: Path) -> None:
    """Validate a sites file: one line per problem-free site, or one line naming the problem.

    \b
    Example:
      nianbao sites check sites.example.toml
    """
    from alerts.settings import load_alert_settings

    try:
        configured = load_sites(file)
    except SitesFileProblems as exc:
        for problem in exc.problems:  # every problem of the file at once, one line each
            click.echo(_("Error: %(message)s", message=problem), err=True)
        raise SystemExit(ExitStatus.USAGE) from None
    load_alert_settings(file)  # [alerts] and every alert URL, checked with apprise's own parser
    for site in configured:
        click.echo(f"ok  {site.key}  {site.family}  {site.level}  {site.name}")
    click.echo(_("%(file)s: %(count)d site(s) valid", file=file, count=len(configured)))
