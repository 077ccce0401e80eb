"""sections: where each of a version's sections starts and ends in its text (issue 14).

Revision ID: 0011
Revises: 0010

``versions`` gains ``sections`` (JSON): the body's top-level sections as
``[{"key", "heading", "start", "end"}]``, character offsets into ``body_text`` -- the six
post-2019 sections keyed ``overview``, ``proactive``, ``requests``, ``review``, ``problems``,
``other``, or an earlier report's own numbered parts ``part1`` … (with a ``topic`` where a part
corresponds to one of the six). A search can then ask for a phrase inside one section
(``nianbao search 人员不足 --section 问题``).

Existing versions are split on the way up from their stored text, by the project's splitter
(:func:`storage.sectioning.sections_json`, as 0006 uses :func:`storage.search.signature`);
a version whose text has no headings gets ``[]``. New versions get theirs from the crawl.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.add_column(sa.Column("sections", sa.JSON(), nullable=True))

    from storage.sectioning import sections_json

    bind = op.get_bind()
    versions = sa.table("versions", sa.column("id", sa.BigInteger()), sa.column("body_text", sa.Text()),
                        sa.column("sections", sa.JSON()))
    update = (
        versions.update()
        .where(versions.c.id == sa.bindparam("version_id"))
        .values(sections=sa.bindparam("computed", type_=sa.JSON()))
    )
    last = -1
    while True:
        rows = bind.execute(
            sa.select(versions.c.id, versions.c.body_text)
            .where(versions.c.id > last)
            .order_by(versions.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        bind.execute(update, [{"version_id": row[0], "computed": sections_json(row[1] or "")} for row in rows])
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("sections")
