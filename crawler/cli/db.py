"""Commands that manage the archive database itself: ``db migrate`` and ``db copy``."""

from __future__ import annotations

import click

from crawler.cli.context import Context, pass_context
from crawler.display import render_table
from crawler.i18n import gettext as _


@click.group()
def db() -> None:
    """Upgrade the archive's schema, or copy an archive to another database.

    \b
    Example:
      nianbao db copy --from sqlite:///nianbao-data/archive.sqlite3 --to postgresql+psycopg2://nianbao@db.example/nianbao
    """


@db.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
@pass_context
def db_migrate(obj: Context, revision: str) -> None:
    """Bring the archive's schema up to date (opening an archive also does this).

    \b
    Example:
      nianbao --db postgresql+psycopg2://nianbao@127.0.0.1/nianbao db migrate
    """
    from storage.db import create_archive_engine, current_revision, migrate

    engine = create_archive_engine(obj.database_url)
    try:
        before = current_revision(engine)
        migrate(engine, revision)
        after = current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        click.echo(_("schema already at revision %(revision)s", revision=after))
    else:
        click.echo(_("schema upgraded from revision %(before)s to %(after)s", before=before or _("(empty)"), after=after))


@db.command("copy")
@click.option("--from", "source", required=True, metavar="URL", help="The archive to copy.")
@click.option("--to", "target", required=True, metavar="URL", help="An empty database to copy it into.")
def db_copy(source: str, target: str) -> None:
    """Copy a whole archive into an empty database, verifying row counts and digests per table.

    \b
    Example:
      nianbao db copy --from sqlite:///nianbao-data/archive.sqlite3 --to postgresql+psycopg2://postgres@127.0.0.1/nianbao
    """
    from storage.transfer import copy_archive

    report = copy_archive(source, target)
    click.echo(render_table([_("table"), _("rows"), "sha256"], [[t.name, t.rows, t.digest[:16]] for t in report]))
    click.echo(_("copied %(rows)d rows in %(tables)d tables; counts and digests verified",
                 rows=sum(t.rows for t in report), tables=len(report)))
