"""What a changed-report alert shows: the changed characters in context, never cut, and the
link to the diff page. Pure functions; the texts stand for real corrections bureaus make to a
published report (a corrected figure, an added sentence, a removed paragraph)."""

from __future__ import annotations

import pytest

from alerts.changes import CONTEXT_CHARS, changed_places
from alerts.messages import MAX_PLACES_SHOWN, changed_report_message, diff_link

LINE = "本机关全年共收到政府信息公开申请218件，其中自然人申请200件，法人或其他组织申请18件。"


def test_a_corrected_figure_is_shown_whole_with_its_context():
    """218 corrected to 219: a line diff showed two 80-character lines that looked the same;
    the change is the whole number, between the characters around it."""
    places = changed_places(f"一、总体情况\n{LINE}\n二、主动公开", f"一、总体情况\n{LINE.replace('218', '219')}\n二、主动公开")
    assert len(places) == 1
    place = places[0]
    assert (place.old, place.new) == ("218", "219")
    # 20 characters each side, the line break before them as a space, "…" where the text goes on
    assert place.render() == "…体情况 本机关全年共收到政府信息公开申请【218→219】件，其中自然人申请200件，法人或其他组…"
    assert len(place.before) == len(place.after) == CONTEXT_CHARS + 1


def test_a_number_changed_in_its_last_digit_only_is_still_shown_whole():
    """208 → 209 differs in one character, but 【8→9】 would say nothing to the reader."""
    [place] = changed_places("共收到申请208件。", "共收到申请209件。")
    assert place.render() == "共收到申请【208→209】件。"


def test_context_is_cut_but_the_change_never_is():
    """A whole paragraph added in the middle: the context around it is cut to CONTEXT_CHARS,
    the added paragraph is shown in full, its line breaks marked."""
    added = "（补充说明）" + "因系统升级，部分依申请公开数据延后统计。" * 10
    old = LINE * 3
    new = LINE * 3 + "\n" + added + "\n" + LINE
    [place] = changed_places(old, new)
    assert place.new == "\n" + added + "\n" + LINE
    rendered = place.render()
    assert added in rendered and rendered.count("⏎") == 2
    assert rendered.startswith("…") and len(place.before) == CONTEXT_CHARS + 1  # "…" and 20 characters


def test_separate_changes_are_counted_separately_and_deletions_shown():
    old = "第一段：申请10件。\n第二段：不变的文字，足够长，把两处改动隔开。\n第三段：已办结。"
    new = "第一段：申请12件。\n第二段：不变的文字，足够长，把两处改动隔开。\n第三段：。"
    places = changed_places(old, new)
    assert [(p.old, p.new) for p in places] == [("10", "12"), ("已办结", "")]
    assert "【已办结→】" in places[1].render()


def test_identical_texts_have_no_changed_places():
    assert changed_places(LINE, LINE) == []


def test_message_counts_places_caps_the_list_and_links_the_diff(monkeypatch: pytest.MonkeyPatch):
    """Seven figures corrected: the count says 7, five are spelled out, the rest are on the
    diff page the NIANBAO_PUBLIC_URL link opens (old and new version numbers in the query)."""
    monkeypatch.setenv("NIANBAO_PUBLIC_URL", "https://nianbao.example.org/archive/")
    old = "\n".join(f"第{n}项：申请{100 + n}件，答复{90 + n}件。" for n in range(7))
    new = "\n".join(f"第{n}项：申请{200 + n}件，答复{90 + n}件。" for n in range(7))
    message = changed_report_message("示例市统计局2023年报告", "http://127.0.0.1:9/tjj/2023.htm", 42, 1, 2, old, new)
    lines = message.splitlines()
    assert lines[0] == "示例市统计局2023年报告 (http://127.0.0.1:9/tjj/2023.htm) changed (version 2): 7 changed place(s)"
    assert lines[1].startswith("1. ") and "申请【100→200】件" in lines[1]
    assert len([line for line in lines if line[:2].rstrip(".").isdigit()]) == MAX_PLACES_SHOWN
    assert "… and 2 more changed place(s)" in lines
    assert lines[-1] == "Diff: https://nianbao.example.org/archive/reports/42/diff?old=1&new=2"


def test_no_link_without_a_public_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NIANBAO_PUBLIC_URL", raising=False)
    assert diff_link(42, 1, 2) is None
    assert "Diff:" not in changed_report_message("t", "u", 42, 1, 2, "申请1件", "申请2件")


def test_a_version_whose_text_is_unchanged_says_so():
    """A new version can differ only in its attachments or tables (the text is the same)."""
    message = changed_report_message("t", "u", 1, 1, 2, LINE, LINE)
    assert "0 changed place(s)" in message and "The text is the same" in message
