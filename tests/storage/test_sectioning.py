"""split_sections: a report's top-level sections and their offsets in the body text."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from storage.sectioning import SECTION_KEYS, SECTION_NAMES, Section, sections_json, split_sections

MODEL = (
    "根据《中华人民共和国政府信息公开条例》规定，现公布本机关2023年政府信息公开工作年度报告。\n"
    "一、总体情况\n"
    "2023年，我局认真贯彻落实《条例》。\n"
    "（一）主动公开。全年主动公开政府信息120条。\n"
    "（二）依申请公开。全年新收申请5件。\n"
    "二、主动公开政府信息情况\n"
    "第二十条第（一）项\n"
    "信息内容\t本年制发件数\t本年废止件数\t现行有效件数\n"
    "规章\t0\t0\t0\n"
    "三、收到和处理政府信息公开申请情况\n"
    "一、本年新收政府信息公开申请数量\t5\t0\t0\t0\t0\t0\t5\n"
    "二、上年结转政府信息公开申请数量\t0\t0\t0\t0\t0\t0\t0\n"
    "三、本年度办理结果\t（一）予以公开\t5\t0\t0\t0\t0\t0\t5\n"
    "四、结转下年度继续办理\t0\t0\t0\t0\t0\t0\t0\n"
    "四、政府信息公开行政复议、行政诉讼情况\n"
    "0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\t0\n"
    "五、存在的主要问题及改进情况\n"
    "一是工作人员不足；二是解读形式单一。\n"
    "1.加强培训。\n"
    "六、其他需要报告的事项\n"
    "本年度未收取信息处理费。"
)


def keys(text: str) -> list[str]:
    return [section.key for section in split_sections(text)]


def test_the_model_report_gives_the_six_sections_in_order_with_contiguous_offsets():
    """A post-2019 report written to the model (国办公开办函〔2021〕30号): the six headings, with
    table 3's own numbered rows (一、本年新收… \\t 5 …) and the （一） / 一是 / 1. items inside
    sections never taken for headings. The preamble before 一、 belongs to no section."""
    sections = split_sections(MODEL)
    assert [s.key for s in sections] == list(SECTION_KEYS)
    assert [s.heading for s in sections] == [
        "一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项",
    ]
    assert sections[0].start == MODEL.index("一、总体情况")
    for before, after in pairwise(sections):
        assert before.end == after.start
    assert sections[-1].end == len(MODEL)
    for section in sections:
        assert MODEL[section.start : section.end].startswith(section.heading)
    problems = sections[4]
    assert "工作人员不足" in MODEL[problems.start : problems.end]
    assert "工作人员不足" not in MODEL[sections[5].start : sections[5].end]


@pytest.mark.parametrize(
    "heading",
    [
        "五、存在的主要问题及改进情况",
        "五、存在问题及改进情况",
        "五、存在的主要问题和改进措施",
        "五、工作中存在的问题及改进措施",
        "五、存在的主要问题及整改措施",
        "五、政府信息公开工作存在的主要问题及改进情况",
        "五、存在的问题和不足及改进措施",
        "五、主要问题及改进措施",
    ],
)
def test_problem_heading_variants_are_the_problems_section(heading: str):
    """Real reports word section 5 in many ways (存在问题及改进情况, …和改进措施, 工作中存在的问题…,
    …整改措施); each is the problems section and keeps its own wording as the heading."""
    text = MODEL.replace("五、存在的主要问题及改进情况", heading)
    sections = split_sections(text)
    assert [s.key for s in sections] == list(SECTION_KEYS)
    assert sections[4].heading == heading


@pytest.mark.parametrize(
    ("old", "new", "heading"),
    [
        # full-width full stop / half-width dot / comma / colon / a space after the numeral
        ("一、总体情况", "一．总体情况", "一．总体情况"),
        ("一、总体情况", "一. 总体情况", "一. 总体情况"),
        ("二、主动公开政府信息情况", "二，主动公开政府信息情况", "二，主动公开政府信息情况"),
        ("三、收到和处理政府信息公开申请情况", "三：收到和处理政府信息公开申请情况", "三：收到和处理政府信息公开申请情况"),
        ("六、其他需要报告的事项", "六 其他需要报告的事项", "六 其他需要报告的事项"),
        # spaces (U+3000 too) inside the heading, and before the numeral
        ("一、总体情况", "\u3000\u3000一、总 体 情 况", "一、总 体 情 况"),
        # bold markup remnants and brackets around the heading
        ("四、政府信息公开行政复议、行政诉讼情况", "**四、政府信息公开行政复议、行政诉讼情况**",
         "四、政府信息公开行政复议、行政诉讼情况"),
        ("五、存在的主要问题及改进情况", "【五、存在的主要问题及改进情况】", "五、存在的主要问题及改进情况"),
        # half-width comma between 复议 and 诉讼, 其它 for 其他
        ("四、政府信息公开行政复议、行政诉讼情况", "四、政府信息公开行政复议,行政诉讼情况",
         "四、政府信息公开行政复议,行政诉讼情况"),
        ("六、其他需要报告的事项", "六、其它需要报告的事项", "六、其它需要报告的事项"),
    ],
)
def test_heading_punctuation_spaces_and_markup_are_matched_loosely(old: str, new: str, heading: str):
    """Headings as pages and attachments render them: 一． / 一. / 一， / 一： / 一 after the
    numeral, ideographic spaces, bold markers (**…**) or 【】 left from Word and PDF text."""
    text = MODEL.replace(old, new)
    sections = split_sections(text)
    assert [s.key for s in sections] == list(SECTION_KEYS)
    assert heading in [s.heading for s in sections]
    for section in sections:
        assert text[section.start :].startswith(section.heading.split("、")[0][:1])


def test_a_heading_on_the_same_line_as_its_first_sentence():
    """Many pages put the heading and the first sentence in one paragraph
    (``一、总体情况。2023年，我局…`` or without the full stop); the heading stops at its own words
    and the sentence stays in the section."""
    text = (
        "一、总体情况。2023年，我局认真贯彻落实《条例》，主动公开政府信息120条。\n"
        "二、主动公开政府信息情况\n规章\t0\n"
        "三、收到和处理政府信息公开申请情况\n新收申请5件。\n"
        "四、政府信息公开行政复议、行政诉讼情况\n无。\n"
        "五、存在的主要问题及改进情况我局政府信息公开工作仍存在人员不足、解读不够等问题，下一步将加强培训。\n"
        "六、其他需要报告的事项：本年度未收取信息处理费。"
    )
    sections = split_sections(text)
    assert [s.key for s in sections] == list(SECTION_KEYS)
    assert sections[0].heading == "一、总体情况"
    assert sections[4].heading == "五、存在的主要问题及改进情况"
    assert sections[5].heading == "六、其他需要报告的事项"
    assert "人员不足" in text[sections[4].start : sections[4].end]


def test_pre_2019_reports_give_their_own_numbered_parts_with_headings_and_topics():
    """A free-form report before 2019: the parts are its own numbered headings (up to 十、…),
    keyed part1…; a part that reads like a post-2019 section carries it as its topic."""
    text = (
        "一、概述\n2013年，我局高度重视政务公开。\n"
        "（一）加强领导\n1、健全领导小组。\n"
        "二、主动公开政府信息情况\n共发布工作动态信息388条。\n"
        "三、依申请公开政府信息办理情况\n收到依申请公开事项10件。\n"
        "四、政府信息公开的收费及减免情况\n无。\n"
        "五、因政府信息公开申请行政复议、提起行政诉讼的情况\n无。\n"
        "六、政府信息公开工作存在的主要问题及改进措施\n工作人员不足。\n"
        "七、附表\n"
    )
    sections = split_sections(text)
    assert [s.key for s in sections] == [f"part{n}" for n in range(1, 8)]
    assert [s.topic for s in sections] == ["overview", "proactive", "requests", None, "review", "problems", None]
    assert sections[3].heading == "四、政府信息公开的收费及减免情况"
    assert sections[-1].end == len(text)


def test_numbered_items_restarting_inside_a_part_are_not_parts():
    """Only Chinese numerals at a line start in increasing order open a part: a list that
    restarts at 一、 inside part 二, （一） items, 1. items and 一是 never do."""
    text = (
        "一、基本情况\n正文。\n"
        "二、主要做法\n"
        "一、加强组织领导。成立领导小组。\n"
        "二、完善制度。\n"
        "（三）规范程序\n"
        "1. 明确分工\n"
        "一是加强学习，二是强化考核。\n"
        "三、下一步打算\n继续努力。"
    )
    sections = split_sections(text)
    assert [s.heading for s in sections] == ["一、基本情况", "二、主要做法", "三、下一步打算"]


def test_no_headings_no_sections():
    """An image-only report's few words, an empty body, or prose without numbered headings."""
    assert split_sections("") == []
    assert split_sections(None) == []
    assert split_sections("附件：2023年政府信息公开工作年度报告.pdf") == []
    assert sections_json("我局2023年主动公开政府信息120条，收到申请5件。") == []


def test_sections_json_is_what_versions_store():
    """The JSON stored in versions.sections: key, heading, start, end (and topic for parts)."""
    stored = sections_json(MODEL)
    assert stored[0] == {"key": "overview", "heading": "一、总体情况", "start": MODEL.index("一、总体情况"),
                         "end": MODEL.index("二、主动公开政府信息情况")}
    assert Section("part1", "一、概述", 0, 5, "overview").to_json()["topic"] == "overview"


def test_storage_knows_the_same_section_keys():
    """storage.sections repeats the vocabulary (storage does not import the crawler)."""
    from storage.sections import SECTION_NAMES as STORED

    assert STORED == SECTION_NAMES


# --- real reports -------------------------------------------------------------------------------


def _manifest_reports(corpus: Path) -> list[dict[str, str]]:
    lines = (corpus / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:] if line.strip()]
    return [row for row in rows if row.get("kind") == "report"]


def _assert_sections(text: str, year: int, where: str) -> list[Section]:
    sections = split_sections(text)
    found = [s.key for s in sections]
    if year >= 2019:
        assert found == list(SECTION_KEYS), f"{where}: {found}"
    else:
        assert found == [f"part{n}" for n in range(1, len(found) + 1)] and len(found) >= 3, f"{where}: {found}"
        numerals = "一二三四五六七八九十"
        assert [s.heading[0] for s in sections[:9]] == list(numerals[: min(9, len(sections))]), where
    for before, after in pairwise(sections):
        assert before.end == after.start
    for section in sections:
        assert text[section.start : section.end].startswith(section.heading.replace(" ", "")[:1])
    return sections


def test_every_dev_corpus_report_is_split(corpus_dev: Path):
    """Every real report of the dev corpus: the 2023/2024 reports (Shuyang, Pingtan) yield the
    six sections in order, the 2008–2015 ones (Putian statistics bureau, Pingtan 2011) their
    numbered parts, with the problems part found by topic."""
    from crawler.extract import extract_detail_from_bytes

    reports = _manifest_reports(corpus_dev)
    assert len(reports) >= 10
    for row in reports:
        fields, _ = extract_detail_from_bytes((corpus_dev / row["id"] / "page.html").read_bytes(), row["url"])
        sections = _assert_sections(fields.body_text, int(row["report_year"]), row["id"])
        assert any(s.key == "problems" or s.topic == "problems" for s in sections), row["id"]


def test_every_demo_site_report_is_split():
    """The demo site's reports (2012–2018 free-form, 2019 and 2021 formats, one with
    五、存在问题及改进情况) as the crawl extracts them."""
    from crawler.demo.site import build_demo_site
    from crawler.extract import extract_detail_from_bytes
    from spiders.attachments import body_is_only_attachments

    site = build_demo_site()
    assert site.expected_reports
    for report in site.expected_reports:
        page = site.pages[report.path]
        fields, _ = extract_detail_from_bytes(page.body, "http://127.0.0.1:8765" + report.path, page.content_type)
        if fields.image_only:
            continue  # the scanned report: its text comes from OCR in the crawl (test_ocr.py)
        if body_is_only_attachments(fields):
            continue  # the PDF-only report: its text comes from its PDF in the crawl (test_demo_pdf_only.py)
        _assert_sections(fields.body_text, report.report_year, f"{report.site_key} {report.report_year}")


SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"


@pytest.mark.parametrize(
    ("name", "headings"),
    [
        ("000_76b0b8a47978f94a.txt", ["一、概述", "二、主动公开政府信息情况", "三、依申请公开政府信息情况",
                                      "四、存在的主要问题及下一步工作措施"]),
        ("002_f5269b5e93ad4302.txt", ["一、概 述", "二、政府信息公开的组织领导和制度建设情况",
                                      "三、重点领域政府信息公开工作推进情况", "四、主动公开政府信息情况及公开平台建设情况",
                                      "五、政府信息公开申请办理情况", "六、政府信息公开的收费及减免情况",
                                      "七、政府信息公开复议、诉讼情况", "八、政府信息公开保密审查及监督检查情况",
                                      "九、所属事业单位信息公开推进情况", "十、政府信息公开存在的主要问题和改进措施"]),
    ],
)
def test_the_seed_texts_give_their_numbered_parts(name: str, headings: list[str]):
    """The two pre-2019 seed texts (2017 Xianning, 2013 Zhangdian): their top-level parts,
    the page chrome before 一、 and the (一)/(三)、/1、 items inside parts left out."""
    path = SEEDS / name
    if not path.is_file():
        pytest.skip(f"seed text not found at {path}")
    text = path.read_text(encoding="utf-8")
    sections = split_sections(text)
    assert [s.heading for s in sections] == headings
    assert [s.key for s in sections] == [f"part{n}" for n in range(1, len(headings) + 1)]
    assert sections[-1].topic == "problems"
