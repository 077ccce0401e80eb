"""Monitoring commands: ``monitor`` (the coverage grid), ``alerts list|send|test``, ``scheduler``.

The root group (:mod:`crawler.cli.app`) adds them; this module does not import it.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from crawler.cli.context import Context, pass_context
from crawler.csvsafe import csv_writer
from crawler.display import render_table, truncate
from crawler.errors import ConfigError, NianbaoError, StorageError
from crawler.i18n import gettext as _

# What each status looks like in the grid.
SYMBOLS = {"on_time": "ok", "late": "LATE", "missing": "MISSING", "unknown": "?", "not_due": "·"}


def legend() -> str:
    """What the grid's symbols mean, in the reader's language."""
    return _("ok: on time, LATE: published late, MISSING: past due and not found, ?: could not check, ·: not yet due")


class DeliveryFailed(NianbaoError):
    """An alert could not be delivered (``alerts test``)."""

    exit_status = 1


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(_("--as-of expects a date YYYY-MM-DD, got %(value)s", value=repr(value))) from None


def grid_table(cells: Sequence[Any], health: dict[str, Any] | None = None) -> str:
    """Sites as rows, report years as columns, one symbol per cell."""
    if not cells:
        return _("(no sites in the archive yet: crawl first)")
    years = sorted({c.report_year for c in cells})
    by_site: dict[str, dict[int, Any]] = {}
    for cell in cells:
        by_site.setdefault(cell.site_key, {})[cell.report_year] = cell
    rows = []
    for key, row in by_site.items():
        state = health[key].state if health and key in health else ""
        rows.append([key, state, *[SYMBOLS[row[y].status] if y in row else "" for y in years]])
    return render_table([_("site"), _("health"), *[str(y) for y in years]], rows)


def print_grid(cells: Sequence[Any], health: dict[str, Any] | None, as_of: date) -> None:
    click.echo(_("Report coverage as of %(day)s (%(legend)s)", day=as_of.isoformat(), legend=legend()))
    click.echo(grid_table(cells, health))
    notable = [c for c in cells if c.status in ("late", "missing", "unknown")]
    if notable:
        click.echo("")
        click.echo(render_table(
            [_("site"), _("year"), _("status"), _("due"), _("published"), _("detail")],
            [[c.site_key, c.report_year, c.status, c.due.isoformat(), c.published or "", truncate(c.detail, 70)]
             for c in notable],
        ))


# ------------------------------------------------------------------------------------ monitor


@click.command()
@click.argument("site_keys", nargs=-1, metavar="[SITE]...")
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD",
              help="Judge deadlines as of this date (read-only: alerts are left as they are).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--bom", is_flag=True, help="CSV: start with a UTF-8 BOM so Excel reads the file as UTF-8.")
@pass_context
def monitor(obj: Context, site_keys: tuple[str, ...], as_of: str | None, fmt: str, bom: bool = False) -> None:
    """Show which annual reports are on time, late, missing or not yet due, per site and year.

    Without --as-of the monitor also brings the alerts up to date (messages are queued in the
    outbox; `nianbao alerts send` delivers them). A site whose latest crawl failed shows its
    years as ? (unknown), never as missing.

    \b
    Example:
      nianbao monitor --as-of 2024-02-01 --format csv
    """
    from alerts.coverage import coverage_grid
    from alerts.health import assess_pending, site_health
    from alerts.monitor import run_monitor
    from storage.db import open_archive

    day = _as_of(as_of)
    sessions = open_archive(obj.existing_archive())
    with sessions() as session, session.begin():
        if day is None:
            result = run_monitor(session, list(site_keys) or None, repeat_interval=_repeat_interval(obj))
            cells, health, queued, day = result.cells, result.health, len(result.queued), date.today()
        else:
            cells = coverage_grid(session, day, list(site_keys) or None)
            assess_pending(session)  # judged for the display, then rolled back with the rest
            health, queued = site_health(session, list(site_keys) or None), None
            session.rollback()
    if fmt == "json":
        click.echo(json.dumps([c.as_dict() for c in cells], ensure_ascii=False, indent=2))
    elif fmt == "csv":
        out = io.StringIO()
        if bom:
            out.write("\ufeff")  # so Excel reads the file as UTF-8
        writer = csv_writer(out)
        writer.writerow(["site_key", "site_name", "report_year", "status", "due", "published", "document_id", "detail"])
        for c in cells:
            d = c.as_dict()
            writer.writerow([d["site_key"], d["site_name"], d["report_year"], d["status"], d["due"],
                             d["published"] or "", d["document_id"] or "", d["detail"]])
        click.echo(out.getvalue(), nl=False)
    else:
        print_grid(cells, health, day)
        if queued:
            click.echo("\n" + _("%(count)d alert message(s) queued; deliver with: nianbao alerts send", count=queued))


def _repeat_interval(obj: Context) -> timedelta:
    """[alerts] repeat_days from the sites file, when there is one."""
    from alerts.settings import load_alert_settings
    from storage.outbox import DEFAULT_REPEAT_INTERVAL

    try:
        _sites, source = obj.sites(demo_fallback=True)
    except ConfigError:
        return DEFAULT_REPEAT_INTERVAL
    return load_alert_settings(source).repeat_interval


def show_demo_grid(database_url: str, site_keys: Sequence[str]) -> None:
    """The grid for the demo command, as of today, after running the monitor."""
    from alerts.monitor import run_monitor
    from storage.db import open_archive

    sessions = open_archive(database_url)
    with sessions() as session, session.begin():
        result = run_monitor(session, list(site_keys))
    click.echo("")
    print_grid(result.cells, result.health, date.today())
    if result.queued:
        click.echo("\n" + _("%(count)d alert message(s) queued (see: nianbao alerts list)", count=len(result.queued)))


# ------------------------------------------------------------------------------------- alerts


@click.group()
def alerts() -> None:
    """List, deliver and test alerts (reports missing or late, sites down, reports changed).

    \b
    Example:
      nianbao alerts list --all
    """


@alerts.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also resolved alerts and one-off notices.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_context
def alerts_list(obj: Context, show_all: bool, fmt: str) -> None:
    """List open alerts (with --all: every alert), and how many messages await delivery.

    \b
    Example:
      nianbao alerts list --format json
    """
    from sqlalchemy import func, select

    from storage.db import open_archive
    from storage.models import Alert, AlertOutbox

    sessions = open_archive(obj.existing_archive())
    with sessions() as session:
        stmt = select(Alert).order_by(Alert.opened_at.desc(), Alert.id.desc())
        if not show_all:
            stmt = stmt.where(Alert.state == "open")
        rows = session.scalars(stmt).all()
        outbox = dict(session.execute(
            select(AlertOutbox.status, func.count()).group_by(AlertOutbox.status)
        ).all())
    if fmt == "json":
        click.echo(json.dumps([
            {"key": a.key, "kind": a.kind, "state": a.state, "report_year": a.report_year,
             "document_id": a.document_id, "title": a.title, "message": a.message,
             "opened_at": a.opened_at.isoformat(),
             "last_notified_at": a.last_notified_at.isoformat() if a.last_notified_at else None,
             "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
             "resolution": a.resolution}
            for a in rows], ensure_ascii=False, indent=2))
        return
    click.echo(render_table(
        [_("key"), _("state"), _("opened"), _("last sent"), _("title")],
        [[a.key, a.state, f"{a.opened_at:%Y-%m-%d %H:%M}",
          f"{a.last_notified_at:%Y-%m-%d %H:%M}" if a.last_notified_at else "", truncate(a.title, 50)]
         for a in rows],
    ))
    click.echo("\n" + _("Outbox: %(pending)d pending, %(sent)d sent, %(failed)d failed", pending=outbox.get("pending", 0),
                        sent=outbox.get("sent", 0), failed=outbox.get("failed", 0)))


@alerts.command("send")
@pass_context
def alerts_send(obj: Context) -> None:
    """Deliver pending alert messages to the apprise URLs of the sites file ([alerts] urls,
    a region group's or a site's alert_urls; the most specific wins).

    \b
    Example:
      nianbao --sites sites.toml alerts send
    """
    from alerts.delivery import send_pending
    from alerts.settings import load_alert_settings
    from storage.db import open_archive

    _sites, source = obj.sites(demo_fallback=True)
    settings = load_alert_settings(source)
    report = send_pending(open_archive(obj.existing_archive()), settings)
    click.echo(_("%(sent)d sent, %(retrying)d to retry later, %(failed)d failed, %(no_target)d without a configured URL",
                 sent=len(report.sent), retrying=len(report.retrying), failed=len(report.failed),
                 no_target=len(report.no_target)))


@alerts.command("test")
@click.argument("url")
def alerts_test(url: str) -> None:
    """Send a test message to one apprise URL (mailto://, json://, dingtalk://, …).

    \b
    Example:
      nianbao alerts test 'json://127.0.0.1:8000/hook'
    """
    from alerts.delivery import notify_once

    key = f"nianbao:test:{uuid.uuid4().hex}"
    ok, error = notify_once(url, _("nianbao test alert"), _("This is a test message from nianbao."), key)
    if not ok:
        raise DeliveryFailed(_("test message not delivered: %(error)s", error=error))
    click.echo(_("delivered (idempotency key %(key)s)", key=key))


# ---------------------------------------------------------------------------------- scheduler


@click.command("scheduler")
@click.option("--run-now", is_flag=True, help="Also crawl every site once right away.")
@click.option("--wall-time", type=float, default=180, show_default=True, metavar="MINUTES",
              help="Stop a crawl that takes longer than this.")
@pass_context
def scheduler_command(obj: Context, run_now: bool, wall_time: float) -> None:
    """Run the nightly scheduler until Ctrl-C: every site at 02:00 Asia/Shanghai (or its cron),
    each crawl in a child process, then the monitor and alert delivery for that site.

    \b
    Example:
      nianbao --sites sites.toml scheduler --run-now
    """
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        import scheduler as nightly
    except ImportError as exc:
        raise StorageError(_("scheduler.py is not importable (%(error)s)", error=exc)) from None
    _sites, source = obj.sites()
    nightly.run(nightly.SchedulerOptions(
        database_url=obj.database_url,
        sites_file=source,
        wall_time=timedelta(minutes=wall_time),
        first_run=datetime.now(ZoneInfo(nightly.TIMEZONE)) if run_now else None,
    ))


# -------------------------------------------------------------------------------- sites list


def site_states(database_url: str, site_keys: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Each site's health, latest listing and newest scheduler event for ``nianbao sites list``;
    empty when the archive cannot be read."""
    from alerts.health import site_health, site_listings
    from storage.db import open_archive
    from storage.scheduling import latest_events

    if database_url.startswith("sqlite:///") and not Path(database_url[len("sqlite:///"):]).exists():
        return {}, {}, {}  # not crawled yet: do not create an archive just to list the sites
    try:
        sessions = open_archive(database_url)
        with sessions() as session:
            keys = list(site_keys)
            return site_health(session, keys), site_listings(session, keys), latest_events(session, keys)
    except StorageError:
        return {}, {}, {}
