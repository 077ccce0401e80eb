"""``nianbao settings``: every NIANBAO_* setting with its default, kind and meaning."""

from __future__ import annotations

import click

from crawler.display import render_table
from crawler.i18n import gettext as _
from storage.settings import SETTINGS, Setting


def kind_label(kind: str) -> str:
    """How a setting of this kind is set, in the reader's language."""
    return _("environment") if kind == "environment" else "crawl -s"


def settings_markdown(settings: tuple[Setting, ...] = SETTINGS) -> str:
    """The README's settings table (a test keeps the README equal to this)."""
    lines = ["| Setting | Default | Set with | Meaning |", "|---|---|---|---|"]
    for setting in settings:
        if setting.internal:
            continue
        where = "environment" if setting.kind == "environment" else "`nianbao crawl -s NAME=VALUE`"
        lines.append(f"| `{setting.name}` | {setting.shown_default} | {where} | {setting.help} |")
    return "\n".join(lines)


@click.command("settings")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown"]), default="table", show_default=True)
@click.option("--all", "show_internal", is_flag=True, help="Also list the settings nianbao sets for its own crawls.")
def settings_command(fmt: str, show_internal: bool) -> None:
    """List every NIANBAO_* setting: its default, how to set it and what it does.

    \b
    Example:
      nianbao settings
    """
    if fmt == "markdown":
        click.echo(settings_markdown())
        return
    rows = [
        [s.name, s.shown_default, kind_label(s.kind), s.help]
        for s in SETTINGS
        if show_internal or not s.internal
    ]
    click.echo(render_table([_("setting"), _("default"), _("set with"), _("meaning")], rows, max_width=120))
