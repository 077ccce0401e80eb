"""A document's version history: picking versions and diffing their texts.

Pure functions over stored text: a unified diff for terminals and a side-by-side table for the
web page. Texts are compared line by line (the normalized body keeps one paragraph per line);
within a changed line paired with its new form, the changed characters are marked, because a
CJK paragraph is one long line and a whole-line highlight would hide that only "8" became "9".
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Version

__all__ = ["DiffRow", "Segment", "mark_characters", "pick_versions", "side_by_side", "unified_diff"]


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


# (text, changed): a run of characters of one side of a line, marked when it differs.
Segment = tuple[str, bool]

# Two lines of a changed block are shown as one changed line when at least this share of their
# character pairs are shared; otherwise one was deleted and the other inserted.
PAIR_RATIO = 0.5
# Character comparison is quadratic in the worst case: longer lines are marked as a whole.
CHARACTER_DIFF_MAX = 5000
# How many of the following new lines an old line is compared with to find its new form (so a
# rewritten report of many changed lines costs lines × this, not lines²).
PAIR_WINDOW = 20


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side diff: ``kind`` is equal, replace, delete, insert or skip.

    ``old_segments``/``new_segments`` are each side's text cut into runs, the runs that differ
    from the other side marked (for a replace row: only the changed characters; for a delete or
    insert row: the whole line; for an equal row: nothing).
    """

    kind: str
    old_number: int | None
    old_text: str
    new_number: int | None
    new_text: str
    old_segments: tuple[Segment, ...] = ()
    new_segments: tuple[Segment, ...] = ()


def mark_characters(old_line: str, new_line: str) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """Both lines cut into runs, the characters that differ marked: "申请218件" → "申请219件"
    marks only "8" and "9"."""
    if len(old_line) > CHARACTER_DIFF_MAX or len(new_line) > CHARACTER_DIFF_MAX:
        return _whole(old_line, True), _whole(new_line, True)
    old_runs: list[Segment] = []
    new_runs: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=old_line, b=new_line, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        changed = tag != "equal"
        _append(old_runs, old_line[i1:i2], changed)
        _append(new_runs, new_line[j1:j2], changed)
    return tuple(old_runs), tuple(new_runs)


def _append(runs: list[Segment], text: str, changed: bool) -> None:
    """Add a run, merging it into the previous one when both are (un)marked alike."""
    if not text:
        return
    if runs and runs[-1][1] == changed:
        runs[-1] = (runs[-1][0] + text, changed)
    else:
        runs.append((text, changed))


def _whole(line: str, changed: bool) -> tuple[Segment, ...]:
    return ((line, changed),) if line else ()


def _bigrams(line: str) -> frozenset[str]:
    """The line's character pairs (single characters for a one-character line)."""
    return frozenset(line[k:k + 2] for k in range(max(1, len(line) - 1)))


def _similar(old_pairs: frozenset[str], new_pairs: frozenset[str]) -> bool:
    """Whether two lines are one line changed: enough of their character pairs are shared.
    (Pairs, not difflib's ratio, which is quadratic: a rewritten report has hundreds of long
    candidate lines; Chinese shares single characters everywhere, pairs much less.)"""
    if not old_pairs or not new_pairs:
        return False
    return len(old_pairs & new_pairs) >= PAIR_RATIO * max(len(old_pairs), len(new_pairs))


def _changed_rows(old_lines: list[str], new_lines: list[str], i1: int, i2: int, j1: int, j2: int) -> list[DiffRow]:
    """The rows of one changed block: each old line paired, in order, with the next similar new
    line (a replace row, characters marked); the lines left over are deletions and insertions."""
    rows: list[DiffRow] = []
    new_pairs = {k: _bigrams(new_lines[k]) for k in range(j1, j2)}
    j = j1
    for i in range(i1, i2):
        old_pairs = _bigrams(old_lines[i])
        match = next((k for k in range(j, min(j2, j + PAIR_WINDOW)) if _similar(old_pairs, new_pairs[k])), None)
        if match is None:
            rows.append(DiffRow("delete", i + 1, old_lines[i], None, "", _whole(old_lines[i], True), ()))
            continue
        rows.extend(_inserted(new_lines, j, match))
        old_segments, new_segments = mark_characters(old_lines[i], new_lines[match])
        rows.append(DiffRow("replace", i + 1, old_lines[i], match + 1, new_lines[match], old_segments, new_segments))
        j = match + 1
    rows.extend(_inserted(new_lines, j, j2))
    return rows


def _inserted(new_lines: list[str], start: int, end: int) -> list[DiffRow]:
    return [DiffRow("insert", None, "", k + 1, new_lines[k], (), _whole(new_lines[k], True)) for k in range(start, end)]


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
                pairs = [*pairs[:context], (-1, -1), *pairs[-context:]]
            for i, j in pairs:
                if i < 0:
                    rows.append(DiffRow("skip", None, "…", None, "…"))
                else:
                    rows.append(DiffRow("equal", i + 1, old_lines[i], j + 1, new_lines[j],
                                        _whole(old_lines[i], False), _whole(new_lines[j], False)))
            continue
        rows.extend(_changed_rows(old_lines, new_lines, i1, i2, j1, j2))
    return rows
