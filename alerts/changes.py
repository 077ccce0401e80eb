"""What changed between two versions of a report's text, character by character: pure, no database.

A changed-report alert has to show *what* changed. Two versions of a report usually differ in
a few characters inside long lines (申请218件 corrected to 申请219件), so a line diff shows
two near-identical lines and hides the difference. Here the texts are compared line by line
first (cheap on long reports), then the changed lines character by character; each changed
place is shown with a little unchanged text around it and the change marked
``申请【218→219】件``. A change that touches a number is widened to the whole number (218→219,
not 8→9), and the change itself is never cut: only the context around it is.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

__all__ = ["CONTEXT_CHARS", "ChangedPlace", "changed_places"]

CONTEXT_CHARS = 20  # unchanged characters shown on each side of a change
# Changes this close (unchanged characters between them) are shown as one place: 【改→换】了【一→两】
# reads worse than 【改了一→换了两】.
MERGE_GAP = 1


@dataclass(frozen=True)
class ChangedPlace:
    """One changed place: ``old`` became ``new`` (one of them may be empty), between ``before``
    and ``after`` (unchanged context, one line each, "…" where the context was cut)."""

    before: str
    old: str
    new: str
    after: str

    def render(self) -> str:
        """``…申请【218→219】件…`` (line breaks inside the change shown as ⏎)."""
        return f"{self.before}【{_visible(self.old)}→{_visible(self.new)}】{self.after}"


def changed_places(old_text: str, new_text: str, context: int = CONTEXT_CHARS) -> list[ChangedPlace]:
    """Every place where ``new_text`` differs from ``old_text``, in text order."""
    spans = _merge(_widen_numbers(old_text, new_text, _char_spans(old_text, new_text)))
    return [
        ChangedPlace(
            before=_context_before(new_text, new_start, context),
            old=old_text[old_start:old_end],
            new=new_text[new_start:new_end],
            after=_context_after(new_text, new_end, context),
        )
        for old_start, old_end, new_start, new_end in spans
    ]


Span = tuple[int, int, int, int]  # old_start, old_end, new_start, new_end (offsets in the whole texts)


def _char_spans(old_text: str, new_text: str) -> list[Span]:
    """The changed character ranges: a line diff, then a character diff inside each changed block."""
    old_lines, new_lines = old_text.splitlines(keepends=True), new_text.splitlines(keepends=True)
    old_at, new_at = _offsets(old_lines), _offsets(new_lines)
    spans: list[Span] = []
    lines = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in lines.get_opcodes():
        if tag == "equal":
            continue
        old_block, new_block = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        chars = difflib.SequenceMatcher(None, old_block, new_block, autojunk=False)
        for ctag, a1, a2, b1, b2 in chars.get_opcodes():
            if ctag != "equal":
                spans.append((old_at[i1] + a1, old_at[i1] + a2, new_at[j1] + b1, new_at[j1] + b2))
    return spans


def _offsets(lines: list[str]) -> list[int]:
    """Where each line starts in the text (and, last, the text's length)."""
    out = [0]
    for line in lines:
        out.append(out[-1] + len(line))
    return out


def _widen_numbers(old_text: str, new_text: str, spans: list[Span]) -> list[Span]:
    """A change touching a digit covers the whole number on both sides: 218→219, not 8→9."""
    widened = []
    for old_start, old_end, new_start, new_end in spans:
        while old_start > 0 and new_start > 0 and old_text[old_start - 1].isdigit() and new_text[new_start - 1].isdigit():
            old_start, new_start = old_start - 1, new_start - 1
        while (old_end < len(old_text) and new_end < len(new_text)
               and old_text[old_end].isdigit() and new_text[new_end].isdigit()):
            old_end, new_end = old_end + 1, new_end + 1
        widened.append((old_start, old_end, new_start, new_end))
    return widened


def _merge(spans: list[Span]) -> list[Span]:
    """Overlapping or nearly adjacent changes as one place."""
    merged: list[Span] = []
    for span in spans:
        if merged and span[2] - merged[-1][3] <= MERGE_GAP and span[0] - merged[-1][1] <= MERGE_GAP:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], span[1]), last[2], max(last[3], span[3]))
        else:
            merged.append(span)
    return merged


def _context_before(text: str, start: int, context: int) -> str:
    begin = max(0, start - context)
    return ("…" if begin > 0 else "") + _one_line(text[begin:start])


def _context_after(text: str, end: int, context: int) -> str:
    stop = min(len(text), end + context)
    return _one_line(text[end:stop]) + ("…" if stop < len(text) else "")


def _one_line(text: str) -> str:
    """Context on one line: every run of whitespace (line breaks included) as one space."""
    collapsed = " ".join(text.split())
    if text[:1].isspace() and collapsed:
        collapsed = " " + collapsed
    if text[-1:].isspace() and collapsed:
        collapsed += " "
    return collapsed


def _visible(text: str) -> str:
    """The change itself, whole: line breaks as ⏎ so a joined or split line shows."""
    return text.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎")
