"""crawl_errors.page_kind gains ``attachment`` (issue 12).

Revision ID: 0009
Revises: 0008

An attachment link the crawl refused to fetch (a ``file:`` URL, a loopback or private address
that is not one of the site's own origins) is recorded on the run like a failed page, with
page kind ``attachment``, so the run's failure list shows every refusal. Ordinary attachment
download failures stay on the attachment link only.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: the page kinds at the time of writing.
_BEFORE = ("list", "report")
_AFTER = ("list", "report", "attachment")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    # 0001 named this check twice over (the naming convention was applied to a full name).
    with op.batch_alter_table("crawl_errors") as batch:
        batch.drop_constraint(op.f("ck_crawl_errors_ck_crawl_errors_page_kind"), type_="check")
        batch.create_check_constraint("page_kind", _in("page_kind", _AFTER))


def downgrade() -> None:
    op.execute("DELETE FROM crawl_errors WHERE page_kind = 'attachment'")
    with op.batch_alter_table("crawl_errors") as batch:
        batch.drop_constraint(op.f("ck_crawl_errors_page_kind"), type_="check")
        batch.create_check_constraint(
            op.f("ck_crawl_errors_ck_crawl_errors_page_kind"), _in("page_kind", _BEFORE)
        )
