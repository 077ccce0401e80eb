"""The side-by-side diff of two versions' texts: changed lines paired, changed characters marked.

A corrected report usually changes a figure inside a long CJK paragraph (one line of the
normalized text); the diff must point at the digits, not at the whole paragraph.
"""

from __future__ import annotations

from storage.history import CHARACTER_DIFF_MAX, mark_characters, side_by_side


def test_only_the_changed_characters_of_a_line_are_marked() -> None:
    old, new = mark_characters("本年新收政府信息公开申请218件。", "本年新收政府信息公开申请219件。")
    assert old == (("本年新收政府信息公开申请21", False), ("8", True), ("件。", False))
    assert new == (("本年新收政府信息公开申请21", False), ("9", True), ("件。", False))


def test_changed_lines_are_paired_with_their_new_form_and_the_rest_are_added_or_removed() -> None:
    """Line 2 is corrected, line 3 is deleted, and a new paragraph is inserted before line 4:
    the corrected line is one replace row; the deleted and the new paragraphs are not forced
    into a pair (they have nothing in common)."""
    old_text = "一、总体情况\n本年新收申请218件。\n本机关未收取任何费用。\n五、存在的主要问题"
    new_text = "一、总体情况\n本年新收申请219件。\n另有3件转交其他机关办理\n五、存在的主要问题"
    rows = side_by_side(old_text, new_text, context=None)
    assert [(r.kind, r.old_number, r.new_number) for r in rows] == [
        ("equal", 1, 1), ("replace", 2, 2), ("delete", 3, None), ("insert", None, 3), ("equal", 4, 4)]
    replaced = rows[1]
    assert [t for t, changed in replaced.old_segments if changed] == ["8"]
    assert [t for t, changed in replaced.new_segments if changed] == ["9"]
    assert rows[2].old_segments == (("本机关未收取任何费用。", True),) and rows[2].new_segments == ()
    assert rows[3].new_segments == (("另有3件转交其他机关办理", True),)
    assert rows[0].old_segments == (("一、总体情况", False),)
    # The segments always put the line back together.
    for row in rows:
        assert "".join(t for t, _ in row.old_segments) == row.old_text
        assert "".join(t for t, _ in row.new_segments) == row.new_text


def test_a_very_long_changed_line_is_marked_as_a_whole() -> None:
    """Character comparison is quadratic: past the limit the whole line is marked instead."""
    old_line = "甲" * (CHARACTER_DIFF_MAX + 1)
    old, new = mark_characters(old_line, old_line + "乙")
    assert old == ((old_line, True),) and new == ((old_line + "乙", True),)
