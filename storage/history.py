"""A document's version history: picking versions and diffing their texts.

Pure functions over stored text: a unified diff for terminals and a side-by-side table for the
web page. Texts are compared line by line (the normalized body keeps one paragraph per line).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Version

__all__ = ["DiffRow", "pick_versions", "side_by_side", "unified_diff"]


def pick_versions(
    session: Session, document_id: int, old: int | None = None, new: int | None = None
) -> tuple[Version, Version] | None:
    """The two versions (by number) to compare: by default the latest two; None if absent.

    A document with one version is compared with itself (no changes).
    """
    versions = list(
        session.scalars(select(Version).where(Version.document_id == document_id).order_by(Version.number)).all()
    )
    if not versions:
        return None
    by_number = {v.number: v for v in versions}
    if old is None and new is None:
        return (versions[-2] if len(versions) > 1 else versions[-1]), versions[-1]
    if old is None or new is None:
        return None
    if old not in by_number or new not in by_number:
        return None
    return by_number[old], by_number[new]


def unified_diff(old_text: str, new_text: str, old_label: str, new_label: str, context: int = 2) -> list[str]:
    """The unified diff of two texts, as lines without trailing newlines (empty: identical)."""
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            old_text.splitlines(), new_text.splitlines(), old_label, new_label, n=context, lineterm=""
        )
    ]


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff: ``kind`` is equal, replace, delete or insert."""

    kind: str
    old_number: int | None
    old_text: str
    new_number: int | None
    new_text: str


def side_by_side(old_text: str, new_text: str, context: int | None = 3) -> list[DiffRow]:
    """Aligned rows of the two texts; unchanged runs longer than ``2*context`` are shortened
    to their edges (``context=None`` keeps everything)."""
    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    opcodes: Sequence[tuple[str, int, int, int, int]] = matcher.get_opcodes()
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            pairs = list(zip(range(i1, i2), range(j1, j2), strict=True))
            if context is not None and len(pairs) > 2 * context and len(opcodes) > 1:
                pairs = pairs[:context] + [(-1, -1)] + pairs[-context:]
            for i, j in pairs:
                if i < 0:
                    rows.append(DiffRow("skip", None, "…", None, "…"))
                else:
                    rows.append(DiffRow("equal", i + 1, old_lines[i], j + 1, new_lines[j]))
            continue
        span = max(i2 - i1, j2 - j1)
        for k in range(span):
            i, j = i1 + k, j1 + k
            rows.append(
                DiffRow(
                    tag if tag == "replace" else ("delete" if i < i2 else "insert"),
                    i + 1 if i < i2 else None,
                    old_lines[i] if i < i2 else "",
                    j + 1 if j < j2 else None,
                    new_lines[j] if j < j2 else "",
                )
            )
    return rows
