"""The root ``nianbao`` group, its global options, and the console entry point.

Each command lives in its own module of this package and never imports this one; the root
group adds them below with ``add_command``. Errors nianbao raises on purpose
(:mod:`crawler.errors`) become one line on stderr and the error's exit status
(:class:`crawler.errors.ExitStatus`): 2 for usage and configuration problems, 1 for a crawl in
which some site failed. Every command's help ends with an example.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from crawler.cli import archive, db, demo, export, extract, monitor, sites, worker
from crawler.cli.context import DEFAULT_SITES_FILE, SITES_ENV, Context
from crawler.cli.crawl import crawl
from crawler.cli.settings import settings_command
from crawler.errors import ExitStatus, NianbaoError
from crawler.i18n import gettext as _
from storage import paths
from storage.settings import environment_value


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    metavar="URL",
    help=f"Archive database URL (default: ${paths.DATABASE_URL_ENV}, else "
    f"sqlite:///{paths.DEFAULT_DATA_DIR}/{paths.ARCHIVE_FILENAME}).",
)
@click.option(
    "--sites",
    "sites_file",
    metavar="FILE",
    envvar=SITES_ENV,
    help=f"Sites file (default: ${SITES_ENV}, else ./{DEFAULT_SITES_FILE}).",
)
@click.version_option(package_name="nianbao")
@click.pass_context
def cli(ctx: click.Context, db: str | None, sites_file: str | None) -> None:
    """nianbao (年报): crawl and archive government information-disclosure annual reports.

    Everything nianbao writes by default goes under ./nianbao-data (set NIANBAO_DATA_DIR to
    move it).

    \b
    Example:
      nianbao demo
    """
    ctx.obj = Context(db, sites_file)


COMMANDS: tuple[click.Command, ...] = (
    demo.demo,
    crawl,
    sites.sites,
    extract.extract,
    archive.search,
    archive.show,
    archive.diff,
    archive.stats,
    archive.serve,
    db.db,
    export.export,
    monitor.monitor,
    monitor.alerts,
    monitor.scheduler_command,
    worker.worker,
    settings_command,
)
for command in COMMANDS:
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: run the CLI, turning nianbao's errors into one line."""
    try:
        status = cli.main(args=list(argv) if argv is not None else None, prog_name="nianbao", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo(_("Aborted."), err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except NianbaoError as exc:
        click.echo(_("Error: %(message)s", message=exc), err=True)
        sys.exit(exc.exit_status)
    except KeyboardInterrupt:
        click.echo(_("Interrupted."), err=True)
        sys.exit(ExitStatus.INTERRUPTED)
    except Exception as exc:  # the edge: a bug still gets one readable line
        if environment_value("NIANBAO_DEBUG"):
            raise
        click.echo(_("Error: internal error %(kind)s: %(message)s (set NIANBAO_DEBUG=1 for details)",
                     kind=type(exc).__name__, message=exc), err=True)
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)
