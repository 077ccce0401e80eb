import copy
import io

from crawler.progress import ProgressBoard


def test_board_redraws_one_line_in_place_and_ends_with_a_newline():
    stream = io.StringIO()
    board = ProgressBoard(stream=stream, interval=0)
    board.update("a", pages=3, reports=1, failures=0)
    board.update("b", pages=2, reports=0, failures=1, done=True)
    board.close()
    text = stream.getvalue()
    assert text.startswith("\rcrawling: 0/1 sites done, 3 pages, 1 reports, 0 failures")
    assert "\rcrawling: 1/2 sites done, 5 pages, 1 reports, 1 failures" in text
    assert text.endswith("\n") and text.count("\n") == 1


def test_board_survives_scrapy_settings_copies():
    board = ProgressBoard(stream=io.StringIO())
    assert copy.deepcopy({"NIANBAO_PROGRESS": board})["NIANBAO_PROGRESS"] is board
