from crawler.display import display_width, render_table, truncate


def test_cjk_characters_take_two_columns():
    assert display_width("年报ab") == 6
    assert truncate("政府信息公开工作年度报告", 9) == "政府信息…"
    assert truncate("short", 9) == "short"


def test_table_aligns_mixed_width_cells():
    text = render_table(["id", "title"], [[1, "年度报告"], [22, None]])
    lines = text.splitlines()
    assert lines[0] == "id  title"
    assert lines[2] == "1   年度报告"
    assert lines[3] == "22  -"
