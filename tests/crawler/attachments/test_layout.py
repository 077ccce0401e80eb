"""Attachment text read faithfully: line wraps joined, paragraphs and tables kept, OFD by position,
and a phrase that crosses a line found by search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.attachments import ExtractionLimits, extract_text, sniff_media_type, store_attachment
from crawler.attachments.layout import Glyph, join_wrapped_lines, lay_out_page
from crawler.attachments.sniff import OFD, PDF
from crawler.demo.pdf import make_pdf
from tests.crawler.attachments.fixtures import make_ofd_glyphs, make_word97

PHRASE = "保密审查协调机制"
FULL = "本年度我局坚持以公开为常态、不公开为例外，认真落实政府信息公开"  # 31 characters


def _read(tmp_path: Path, content: bytes, name: str):
    _, path = store_attachment(content, tmp_path)
    return extract_text(path, sniff_media_type(content, f"http://x.gov.cn/f/{name}"), ExtractionLimits())


# --- join_wrapped_lines: the rules one by one ---------------------------------------------------

def test_a_wrap_between_cjk_characters_is_joined():
    """A PDF text layer breaks a paragraph wherever the page ends a line, even inside a word."""
    text = f"{FULL}保密审\n查协调机制，全年未发生泄密事件，主动公开政府信息三百二十八条。"
    assert join_wrapped_lines(text) == f"{FULL}{PHRASE}，全年未发生泄密事件，主动公开政府信息三百二十八条。"


def test_a_short_line_ends_its_paragraph():
    """A paragraph's last line stops short of the right margin; the next paragraph starts below."""
    text = f"{FULL}工作\n要求，完成任务。\n{FULL}工作\n要点。"
    assert join_wrapped_lines(text).split("\n") == [f"{FULL}工作要求，完成任务。", f"{FULL}工作要点。"]


def test_a_heading_or_an_indent_after_a_sentence_end_starts_a_paragraph():
    """Reports number their sections (一、 （一） 1.); pdftotext -layout keeps first-line indents.
    A sentence that merely ends at a full line's end, with the next starting flush, goes on."""
    text = "\n".join([
        f"{FULL}。",
        "（一）主动公开情况。" + FULL[:22],
        f"{FULL}。",
        "1.属于国家秘密的信息不予公开，" + FULL[:18],
        f"{FULL}。",
        "    第二段首行缩进两个字符，" + FULL[:18],
        f"{FULL}。",
        "同一段的下一句从下一行的行首开始，" + FULL[:14],
        "短行。",
    ])
    assert join_wrapped_lines(text).split("\n") == [
        f"{FULL}。",
        f"（一）主动公开情况。{FULL[:22]}{FULL}。",
        f"1.属于国家秘密的信息不予公开，{FULL[:18]}{FULL}。",
        f"第二段首行缩进两个字符，{FULL[:18]}{FULL}。同一段的下一句从下一行的行首开始，{FULL[:14]}短行。",
    ]


def test_blank_lines_and_table_lines_are_kept_exactly():
    """Tables come out one row per line, cells split by tabs (DOCX, OFD) or by runs of spaces
    (pdftotext -layout) or as numbers side by side (pypdf): a row is never glued to its neighbours."""
    rows = [
        "信息内容\t本年制发件数\t本年废止件数",
        "信息内容          本年制发件数     本年废止件数   现行有效件数",
        "（四）无 1.本机关不掌握相关政府信息 746 12 0 0 10 1 769",
    ]
    text = "\n".join([f"{FULL}工作", rows[0], rows[1], f"{FULL}事项", rows[2], "", f"{FULL}事项", "下一段。"])
    assert join_wrapped_lines(text).split("\n") == [
        f"{FULL}工作", rows[0], rows[1], f"{FULL}事项", rows[2], "", f"{FULL}事项下一段。"
    ]


def test_latin_words_and_numbers_keep_a_space_and_cjk_punctuation_none():
    """Mixed text: a number or English word at a wrap stays a separate word, as the text layer
    writes it (``351 件``); next to CJK punctuation no space is added; a phone number split at
    its hyphen stays one number."""
    text = "\n".join([
        FULL + "351",
        "件，其中" + FULL[:25] + " PDF",
        "files 与 Word 文件共计二十件，认真落实政府信息公开联系电话 0517-",
        "83605210，" + FULL[:27],
        "“公开”。",
    ])
    assert join_wrapped_lines(text) == (
        FULL + "351 件，其中" + FULL[:25] + " PDF files 与 Word 文件共计二十件，认真落实政府信息公开联系电话 "
        "0517-83605210，" + FULL[:27] + "“公开”。"
    )


def test_a_page_number_between_two_halves_of_a_paragraph_is_moved_after_it():
    """A paragraph that runs over a page break has the page's number (- 2 -) between its halves."""
    text = f"- 1 -\n{FULL}建设一流\f- 2 -\n营商环境。\n二、主动公开"
    assert join_wrapped_lines(text).split("\n") == ["- 1 -", f"{FULL}建设一流营商环境。", "- 2 -", "二、主动公开"]
    layout = f"{FULL}建设一流\n\n                  -1-\n\f营商环境。"  # pdftotext -layout
    assert join_wrapped_lines(layout).split("\n") == [f"{FULL}建设一流营商环境。", "-1-"]


def test_one_glyph_per_line_runs_are_joined():
    """Vertical table headers (三、/本/年/度…) and per-glyph extraction give one character a line."""
    text = "三、\n本\n年\n度\n办\n理\n结\n果\n（一）予以公开 1288 21 0 0 50 3 1362"
    assert join_wrapped_lines(text).split("\n") == ["三、", "本年度办理结果", "（一）予以公开 1288 21 0 0 50 3 1362"]


# --- narrow blocks: a phrase over three short lines -------------------------------------------

# A paragraph before and after the block: its full line sets the page's measure (62 columns),
# against which every line of a narrow block is short; its own short last line ends it.
PROSE = [f"{FULL}，", f"{FULL}，", f"{FULL}，", "全年工作顺利完成。"]
PROSE_JOINED = f"{FULL}，{FULL}，{FULL}，全年工作顺利完成。"


def _page(*block: str) -> str:
    return "\n".join([*PROSE, *block, *PROSE])


def test_a_narrow_table_cell_wrapped_over_three_lines_is_joined():
    """Huai'an 2024, table 3, row （六）其他处理 as pypdf reads it: the label cell, 14 characters
    wide, wraps its text over three lines, the numbers of the row follow on their own line. The
    two full lines end at the same column (the cell's right edge), with CJK on both sides."""
    text = _page("（六）其", "他处理", "1、申请人无正当理由逾期不补", "正、行政机关不再处理其政府信", "息公开申请",
                 "67 3 0 0 1 0 71")
    lines = join_wrapped_lines(text).split("\n")
    assert "1、申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请" in lines
    assert "67 3 0 0 1 0 71" in lines
    # a two-line wrap shows no edge (one full line only): the cell's label keeps its break
    assert lines[lines.index("（六）其") + 1] == "他处理"


def test_a_phrase_over_three_lines_of_a_narrow_column_is_joined():
    """One column of a two-column layout (or a text box) five characters wide: 保密审查协调机制
    runs over three lines (保 / 密审查协调 / 机制), the middle one only ten columns wide. The
    paragraph before ends with 。, so the box is a paragraph of its own; its last line (审查。)
    ends it."""
    text = _page("本委建立保", "密审查协调", "机制，全年", "逐件审查。", "二、主动公开")
    lines = join_wrapped_lines(text).split("\n")
    assert f"本委建立{PHRASE}，全年逐件审查。" in lines
    assert "二、主动公开" in lines


def test_a_narrow_block_with_a_half_width_character_at_its_edge_is_joined():
    """A line whose last character is a digit or Latin letter ends one column short of the edge
    when the next (wide) character did not fit: it still reaches the box's right edge."""
    text = _page("本委全年开展业务培", "训3次，建立保密审查", "协调机制，逐件审查。")
    assert f"本委全年开展业务培训3次，建立{PHRASE}，逐件审查。" in join_wrapped_lines(text).split("\n")


def test_separate_table_cells_headings_and_list_items_of_one_width_are_not_joined():
    """What a narrow block's edge alone cannot tell from a wrap, its text can: cells of one table
    column (本年制发件数 / 本年废止件数 / 现行有效件数, 社会公益组织 / 法律服务机构 / 其他) and
    unnumbered headings stacked on a cover have no punctuation of running prose; numbered list
    items each start anew; a box's last line (…审查。) ends its paragraph even when the next
    line is as wide."""
    blocks = [
        ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数", "规章 1 0 11"],
        ["申请人情况", "自然人", "法人或其他组织", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"],
        ["示范区管理委员会", "政府信息公开年报", "二〇二四年三月"],
        ["1.主动公开信息，", "2.依申请公开，", "3.政府信息管理，"],
        ["本委建立保", "密审查协调", "机制审查。", "各部门负责", "审核。"],
    ]
    for block in blocks:
        expected = block if block[0] != "本委建立保" else ["本委建立保密审查协调机制审查。", "各部门负责", "审核。"]
        assert join_wrapped_lines(_page(*block)).split("\n") == [PROSE_JOINED, *expected, PROSE_JOINED], block


def test_a_punctuation_free_phrase_in_a_narrow_box_is_kept_as_lines():
    """A known limit: 政府信息公开工作年度报告 alone in a cover's narrow box (政府信息公 / 开工作年度
    / 报告) reads exactly like a table column of separate values, so its lines stay apart."""
    lines = join_wrapped_lines(_page("政府信息公", "开工作年度", "报告")).split("\n")
    assert lines == [PROSE_JOINED, "政府信息公", "开工作年度", "报告", PROSE_JOINED]


def test_a_doc_paragraph_per_line_is_never_joined_as_a_narrow_block():
    """antiword prints a DOC table's cells one per line: each is a paragraph, never a wrap."""
    cells = ["本委建立保", "密审查协调", "机制，全年", "逐件审查。"]
    assert join_wrapped_lines("\n".join(["一、总体情况", *cells]), lines_are_paragraphs=True).split("\n") == [
        "一、总体情况", *cells
    ]


def test_doc_paragraphs_are_not_joined_unless_the_document_is_hard_wrapped():
    """antiword/catdoc print one paragraph per line: those lines are paragraphs, kept; a DOC made
    by pasting a PDF has a paragraph mark at every line end, and those are wraps."""
    paragraphs = "\n".join(["一、总体情况", FULL + "，全年工作顺利。", FULL[:20] + "的要求", FULL + "。"])
    assert join_wrapped_lines(paragraphs, lines_are_paragraphs=True) == paragraphs
    pasted = "\n".join([FULL + "保密审", "查协调机制" + FULL[:26], FULL, FULL, "完成。", FULL + "。", "下一段。"])
    assert join_wrapped_lines(pasted, lines_are_paragraphs=True).split("\n") == [
        FULL + PHRASE + FULL[:26] + FULL + FULL + "完成。", FULL + "。", "下一段。"
    ]


def test_lay_out_page_orders_glyphs_by_position_and_separates_cells():
    """OFD glyphs come in any order; baselines make lines, x orders them, wide gaps are cells."""
    glyphs = [Glyph(30, 20, 5, "数"), Glyph(10, 20.4, 5, "指"), Glyph(15, 20, 5, "标"), Glyph(35, 20, 5, "量"),
              Glyph(10, 10, 5, "表"), Glyph(15, 10, 5, "三"), Glyph(30, 20, 5, " ")]
    assert lay_out_page(glyphs) == "表三\n指标\t数量"


# --- the readers ------------------------------------------------------------------------------

def _wrapped_paragraph() -> str:
    """A paragraph the demo PDF writer wraps with 保密审 at the end of its first line (40
    characters after the two-character indent) and 查协调机制 at the start of the second."""
    head = (FULL + "工作要求，建立健全重要事项公开")[:37]
    return head + PHRASE + "，全年未发生泄密事件。" + FULL + "，按时完成年度报告编制工作。"


def test_a_pdf_phrase_across_a_line_wrap_is_read_whole(tmp_path):
    """pypdf returns the PDF's lines as drawn; the stored text has the phrase in one piece."""
    import io

    from pypdf import PdfReader

    content = make_pdf("示范市2024年政府信息公开工作年度报告", ["一、总体情况", _wrapped_paragraph(), "二、主动公开政府信息情况"])
    raw = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert PHRASE not in raw and "保密审\n查协调机制" in raw  # the wrap is really there
    result = _read(tmp_path, content, "r.pdf")
    assert result.error is None
    assert result.text.split("\n") == [
        "示范市2024年政府信息公开工作年度报告", "一、总体情况", _wrapped_paragraph(), "二、主动公开政府信息情况"
    ]


def test_a_pdf_phrase_over_three_lines_of_a_narrow_box_is_read_whole(tmp_path):
    """A PDF with a note set in a box five characters wide (a table cell, one column of a
    two-column page): pypdf returns 保 / 密审查协调 / 机制 on three lines; the stored text has the
    phrase whole, the box a paragraph of its own between the full-width ones."""
    import io

    from pypdf import PdfReader

    from crawler.demo.pdf import TextBox

    box = "本委建立保密审查协调机制，对拟公开信息逐件审查。"
    paragraphs = ["一、总体情况", _wrapped_paragraph(), TextBox(box, width=5), "二、主动公开政府信息情况"]
    content = make_pdf("示范市2024年政府信息公开工作年度报告", paragraphs)
    raw = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "本委建立保\n密审查协调\n机制，对拟\n公开信息逐\n件审查。" in raw  # three lines for the phrase
    result = _read(tmp_path, content, "box.pdf")
    assert result.error is None
    assert result.text.split("\n") == [
        "示范市2024年政府信息公开工作年度报告", "一、总体情况", _wrapped_paragraph(), box, "二、主动公开政府信息情况"
    ]


@pytest.mark.parametrize("mode", ["glyph", "deltax"])
def test_an_ofd_with_one_glyph_per_text_code_reads_as_paragraphs(tmp_path, mode):
    """OFD printers write one TextObject per character (or a line with DeltaX advances) in any
    order: the text comes out as paragraphs, the wrapped phrase whole, Latin words spaced."""
    paragraphs = [
        "示范市2024年政府信息公开工作年度报告",
        "一、总体情况",
        FULL[:15] + PHRASE + "，全年未发生泄密事件，主动公开政府信息328条，其中 PDF 文件12个。",
        "二、主动公开政府信息情况",
    ]
    content = make_ofd_glyphs(paragraphs, 20, mode=mode, shuffle_seed=7, pages=2)
    assert sniff_media_type(content, "http://x.gov.cn/f/a.ofd") == OFD
    result = _read(tmp_path, content, "a.ofd")
    assert result.error is None
    assert [line for line in result.text.split("\n") if line] == paragraphs


def test_doc_with_a_paragraph_per_line_keeps_its_paragraphs(tmp_path):
    """A Word 97 file read by antiword: its paragraphs stay lines; nothing is glued together."""
    paragraphs = ["一、总体情况", FULL + "，全年工作顺利。", "二、主动公开政府信息情况", FULL + "。"]
    result = _read(tmp_path, make_word97(paragraphs), "a.doc")
    assert [line for line in result.text.split("\n") if line] == paragraphs


def test_the_real_huaian_report_pdf_reads_as_paragraphs(corpus_attachments):
    """淮安市人民政府 2024 report (six pages, tables 2–4): in its text layer 保密审查 ends one line
    and 协调机制 starts the next, and 一流 / 营商环境 are split by a page break and its number."""
    from pypdf import PdfReader

    path = corpus_attachments / "szfgs2024.pdf"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    raw = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    assert PHRASE not in raw and "一流营商环境" not in raw
    result = extract_text(path, PDF, ExtractionLimits())  # read in place, never copied
    assert result.error is None
    text = result.text
    assert PHRASE in text and "一流营商环境" in text
    assert "坚持“先审查、后公开”“一事一审”工作原则" in text
    lines = text.split("\n")
    assert len(lines) < 0.75 * len(raw.split("\n")), (len(lines), len(raw.split("\n")))
    # Paragraph and table boundaries kept: headings start lines, table rows stay rows.
    assert "一、总体情况" in lines and "六、其他需要报告的事项" in lines
    assert "规章 1 0 11" in lines and "（七）总计 2932 53 0 0 61 4 3050" in lines
    assert "72 64 178 37 351 13 4 8 1 26 12 1 1 6 20" in lines
    # Table 3's narrow label cells wrapped over three lines read whole; a two-line one stays.
    assert "1、申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请" in lines
    assert "2、申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请" in lines
    assert lines[lines.index("（六）其") + 1] == "他处理"
    assert not any(line.startswith("- ") and line.endswith(" -") and len(line) > 7 for line in lines)


# --- end to end: archived, indexed, found -----------------------------------------------------

def test_a_phrase_across_a_pdf_line_wrap_is_found_by_search(tmp_path, monkeypatch, database_url):
    """A report's PDF attachment with 保密审查协调机制 wrapped across lines is stored, read in the
    sandbox, linked and indexed like a crawl does it; searching the phrase finds the report."""
    from crawler.attachment_pipeline import read_attachment
    from crawler.items import AttachmentItem
    from storage import open_archive, start_run, sync_site
    from storage.archive import record_report
    from storage.attachments import link_attachment
    from storage.search import search
    from tests.storage.conftest import SITE_A, _make_item

    monkeypatch.setenv("NIANBAO_DATA_DIR", str(tmp_path / "data"))
    sessions = open_archive(database_url)
    try:
        report_url = "https://www.putian.gov.cn/nb/2024.htm"
        with sessions() as session, session.begin():
            sync_site(session, SITE_A)
            run_id = start_run(session, (SITE_A.key,)).id
            record_report(session, run_id, _make_item(url=report_url, body_text="详见附件。"))
        pdf = make_pdf("莆田市统计局2023年政府信息公开工作年度报告", ["一、总体情况", _wrapped_paragraph()])
        attachment = AttachmentItem(site_key=SITE_A.key, report_url=report_url,
                                    url="https://www.putian.gov.cn/nb/P1.pdf", link_text="附件", body=pdf)
        def write(function: Any, *, returns: bool = True, **values: Any) -> Any:
            # What the crawl's archive writer does with the job, in a transaction of its own.
            with sessions() as session, session.begin():
                result = function(session, **values)
            return result if returns else None

        read_attachment(sessions, write, attachment, ExtractionLimits())
        assert attachment.attachment_id is not None
        with sessions() as session, session.begin():
            link_attachment(session, site_key=SITE_A.key, report_url=report_url, url=attachment.url,
                            link_text="附件", attachment_id=attachment.attachment_id)
        with sessions() as session:
            assert [hit.url for hit in search(session, PHRASE).hits] == [report_url]
            assert [hit.url for hit in search(session, "查协调").hits] == [report_url]
            assert search(session, "保密审查协调机构").hits == []
    finally:
        sessions.kw["bind"].dispose()
