"""normalize_text / content_hash: cosmetic differences vanish, real changes do not."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from crawler.items import ReportItem
from storage import RecordOutcome, content_hash, normalize_text, record_report

BODY = "一、总体情况\n2023年，我局主动公开政府信息388条。\n二、收到申请10件。"


def test_spaces_of_every_kind_become_one_space_and_lines_are_stripped() -> None:
    text = "  abc\u00a0\u00a0def\u3000ghi\u2002jkl\u2003mno\tpqr  \n"
    assert normalize_text(text) == "abc def ghi jkl mno pqr"


def test_zero_width_characters_and_soft_hyphens_are_removed() -> None:
    assert normalize_text("公\u200b开\u200c信\u200d息\ufeff报\u2060告\u00ad") == "公开信息报告"


def test_blank_lines_are_dropped_and_line_endings_unified() -> None:
    assert normalize_text("一\r\n\r\n  \n\u3000\n二\r三\u2028四") == "一\n二\n三\n四"


def test_nfc() -> None:
    assert normalize_text("Cafe\u0301") == normalize_text("Caf\u00e9") == "Caf\u00e9"


def test_spaces_next_to_chinese_characters_are_padding() -> None:
    assert normalize_text("名 称：咸宁市 食品药品 监督管理局") == "名称：咸宁市食品药品监督管理局"
    assert normalize_text("共公开 388 条，PDF 文件") == "共公开388条，PDF文件"
    # but not between numbers, or between Latin words
    assert normalize_text("合计 12 0 3") == "合计12 0 3"
    assert normalize_text("PDF version 2") == "PDF version 2"


@pytest.mark.parametrize(
    "chrome",
    [
        "浏览次数：123",
        "浏览次数: 4567 次",
        "访问量：",
        "点击数：89",
        "【字体：大 中 小】",
        "字体：[大] [中] [小]",
        "[字号：大 中 小]",
        "打印本页",
        "关闭窗口",
        "【打印本页】 【关闭窗口】",
        "打印",
        "关闭",
        "今天是：2025年3月10日 星期一",
        "今天是:",
        "今天是 2025年3月10日 星期一",
        "分享到：微信 微博 QQ空间",
        "扫一扫在手机打开当前页",
    ],
)
def test_page_chrome_lines_are_removed(chrome: str) -> None:
    assert normalize_text(f"{BODY}\n{chrome}\n结束") == normalize_text(f"{BODY}\n结束")


def test_chrome_inside_a_metadata_line_is_removed() -> None:
    line = "发布时间：2024-01-15  浏览次数：123 【字体：大 中 小】【打印本页】【关闭窗口】"
    assert normalize_text(line) == "发布时间：2024-01-15"
    assert normalize_text("来源：统计局 点击数： 打印本页 关闭窗口") == "来源：统计局"


def test_font_size_switch_flattened_one_word_per_line() -> None:
    assert (
        normalize_text("来源：莆田市统计局\n字号：\n大\n中\n小\n正文") == "来源：莆田市统计局\n正文"
    )


def test_counters_inside_sentences_are_content() -> None:
    text = "网站中政府信息公开专栏页面访问量：12345人次\n全年网站访问量达120万人次"
    assert normalize_text(text) == text


def test_lines_that_merely_mention_chrome_words_are_content() -> None:
    text = "关闭窗口后重新打开\n打印本页内容需要申请\n今天是条例施行十周年\n分享到各单位的经验做法"
    assert normalize_text(text) == text


def test_lines_without_chrome_characters_skip_the_chrome_patterns_with_the_same_result(monkeypatch) -> None:
    """The shortcut (a line with none of the chrome patterns' characters is left as content) must
    give what running every pattern gives: checked on the chrome lines above, inside text,
    mixed with spaces, and on the saved bureau pages' texts when ../shared is there."""
    import random
    import re
    from pathlib import Path

    import storage.normalize as module

    samples = [
        "浏览次数：123", "【字体：大 中 小】", "字号：", "大", "打印本页", "关闭窗口", "今天是：2025年3月10日",
        "分享到：微信", "扫一扫在手机打开当前页", "【打印】【关闭】", "网站访问量：120万人次", "点击数: 5 次",
        "阅读量：1", "返回顶部 收藏本页", "加入收藏", "[打印]", " 名 称 ", "公开 388 条", "1 0", "abc def",
        "２０２３年", "\u3000", "一、总体情况", BODY,
    ]
    rng = random.Random(7)
    texts = [" \n".join(rng.choice(samples) for _ in range(rng.randint(1, 8))) for _ in range(3000)]
    corpus = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "dev"
    texts += [path.read_text(encoding="utf-8", errors="replace") for path in sorted(corpus.glob("*/page.txt"))]
    fast = [normalize_text(text) for text in texts]
    monkeypatch.setattr(module, "_CHROME_MARK", re.compile(""))  # matches every line: no shortcut
    assert [normalize_text(text) for text in texts] == fast


def test_content_hash_is_sha256_of_the_normalized_text() -> None:
    expected = hashlib.sha256(normalize_text(f"  {BODY}  ").encode("utf-8")).hexdigest()
    assert content_hash(f"  {BODY}  ") == expected
    assert len(expected) == 64


@pytest.mark.parametrize(
    "variant",
    [
        BODY.replace("，", "，\u00a0"),
        BODY.replace("\n", "\n\n  \n"),
        BODY.replace("388", " 388 "),
        "\u3000\u3000" + BODY.replace("\n", "\u3000\n"),
        BODY + "\n浏览次数：1",
        "浏览次数：99999\n" + BODY + "\n【打印本页】【关闭窗口】",
        BODY.replace("总体", "总\u200b体"),
    ],
)
def test_cosmetic_changes_keep_the_hash(variant: str) -> None:
    assert content_hash(variant) == content_hash(BODY)


@pytest.mark.parametrize(
    "change",
    [
        BODY.replace("388", "389"),
        BODY.replace("10件", "1 0件"),
        BODY + "\n三、存在的主要问题及改进情况",
        BODY.replace("一、总体情况\n", ""),
    ],
)
def test_real_changes_change_the_hash(change: str) -> None:
    assert content_hash(change) != content_hash(BODY)


def test_empty_text() -> None:
    assert normalize_text("") == ""
    assert normalize_text(" \u00a0\n\u3000\n") == ""
    assert content_hash("") == hashlib.sha256(b"").hexdigest()


def test_cosmetic_variant_is_unchanged_in_the_archive(
    archive: sessionmaker[Session],
    new_run: Callable[..., int],
    make_item: Callable[..., ReportItem],
) -> None:
    """The archive decides versions on the same hash (on both backends)."""
    run_id = new_run()
    with archive() as session, session.begin():
        assert (
            record_report(session, run_id, make_item(body_text=BODY)) is RecordOutcome.NEW_DOCUMENT
        )
    variant = "浏览次数：77\n" + BODY.replace("，", "，\u00a0").replace("\n", "\n\n")
    with archive() as session, session.begin():
        assert (
            record_report(session, run_id, make_item(body_text=variant)) is RecordOutcome.UNCHANGED
        )
