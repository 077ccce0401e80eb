"""listing: how each site crawl read its column, and runs that say how they ended.

Revision ID: 0007
Revises: 0006

- ``site_crawls`` gains the listing record: list pages expected/fetched/failed, whether the
  listing was read completely, the oldest and newest report year it listed, and a JSON detail
  (the pages not read and why). The monitor calls a report year missing only on a complete
  listing.
- ``crawl_errors`` gains ``report_year``: the year the listing gave for a failed report link.
- Run and site-crawl statuses gain ``abandoned`` (the process died; closed by a later start),
  and site crawls gain ``interrupted`` (Ctrl-C or SIGTERM): neither is evidence about a site.
- Alert kinds gain ``report_checks`` (a report's statistics tables fail their checks or are
  incomplete).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: the statuses at the time of writing.
_RUN_BEFORE = ("running", "finished", "failed", "interrupted")
_RUN_AFTER = ("running", "finished", "failed", "interrupted", "abandoned")
_SITE_BEFORE = ("running", "ok", "failed")
_SITE_AFTER = ("running", "ok", "failed", "interrupted", "abandoned")
_KINDS_BEFORE = (
    "report_missing", "report_late", "site_unreachable", "listing_broken", "report_changed", "report_removed",
)
_KINDS_AFTER = (*_KINDS_BEFORE, "report_checks")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    # 0001 named these checks twice over (the naming convention was applied to a full name).
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_constraint(op.f("ck_crawl_runs_ck_crawl_runs_status"), type_="check")
        batch.create_check_constraint("status", _in("status", _RUN_AFTER))
    with op.batch_alter_table("site_crawls") as batch:
        batch.drop_constraint(op.f("ck_site_crawls_ck_site_crawls_status"), type_="check")
        batch.create_check_constraint("status", _in("status", _SITE_AFTER))
        batch.add_column(sa.Column("list_pages_expected", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("list_pages_fetched", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("list_pages_failed", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("listing_complete", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("listed_oldest_year", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("listed_newest_year", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("listing", sa.JSON(), nullable=True))
    with op.batch_alter_table("site_crawls") as batch:
        batch.alter_column("list_pages_fetched", server_default=None)
        batch.alter_column("list_pages_failed", server_default=None)
    with op.batch_alter_table("crawl_errors") as batch:
        batch.add_column(sa.Column("report_year", sa.Integer(), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint(op.f("ck_alerts_ck_alerts_kind"), type_="check")
        batch.create_check_constraint("kind", _in("kind", _KINDS_AFTER))


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE kind = 'report_checks'")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint(op.f("ck_alerts_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_alerts_ck_alerts_kind"), _in("kind", _KINDS_BEFORE))
    with op.batch_alter_table("crawl_errors") as batch:
        batch.drop_column("report_year")
    op.execute("UPDATE site_crawls SET status = 'failed' WHERE status IN ('interrupted', 'abandoned')")
    op.execute("UPDATE crawl_runs SET status = 'failed' WHERE status = 'abandoned'")
    with op.batch_alter_table("site_crawls") as batch:
        for column in (
            "listing",
            "listed_newest_year",
            "listed_oldest_year",
            "listing_complete",
            "list_pages_failed",
            "list_pages_fetched",
            "list_pages_expected",
        ):
            batch.drop_column(column)
        batch.drop_constraint(op.f("ck_site_crawls_status"), type_="check")
        batch.create_check_constraint(
            op.f("ck_site_crawls_ck_site_crawls_status"), _in("status", _SITE_BEFORE)
        )
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_constraint(op.f("ck_crawl_runs_status"), type_="check")
        batch.create_check_constraint(
            op.f("ck_crawl_runs_ck_crawl_runs_status"), _in("status", _RUN_BEFORE)
        )
