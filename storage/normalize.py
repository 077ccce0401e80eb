"""Normalized report text, and the content hash that decides whether a fetch is a new version.

Bureau sites re-render the same report with different whitespace, ``&nbsp;`` or full-width
padding, and page chrome such as a view counter that changes on every visit. None of that is a
change of the report, so versions are decided on :func:`normalize_text`:

- Unicode NFC; zero-width characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM) and soft hyphens
  removed;
- every kind of space (NBSP, U+3000 ideographic space, en/em spaces, tabs ...) counts as a space;
  runs collapse to one space, lines are stripped and blank lines dropped;
- a space next to a Chinese character (or Chinese punctuation) is dropped: Chinese has no word
  spaces, so ``名 称`` and ``名称``, ``公开 388 条`` and ``公开388条`` are the same text; spaces
  between digits or Latin words stay (``1 0`` is not ``10``);
- page chrome is removed: view counters (``浏览次数：123``, ``访问量：``, ``点击数：``), font-size
  switches (``【字体：大 中 小】``), ``打印本页``, ``关闭窗口``, ``今天是：…`` and the like.

Counters are only removed as labels of their own (at a line start or after a space or bracket),
never inside a sentence: ``网站访问量：120万人次`` in a report's text is content and stays.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["content_hash", "normalize_text"]

# Characters that carry no text: deleted outright.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)

# After NFC, Python's \s covers NBSP, U+3000, U+2000-U+200A, U+202F, U+205F, tabs ...
_SPACES = re.compile(r"\s+")

# Han ideographs plus CJK and full-width punctuation: a space next to one of these is padding.
_CJK = (
    r"\u2e80-\u2fdf\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    r"\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"  # full-width, but not digits/letters
)
_CJK_GAP = re.compile(rf"(?<=[{_CJK}]) | (?=[{_CJK}])")

_COLON = r"[:：]"
_OPEN = r"[【\[［(（]?"
_CLOSE = r"[】\]］)）]?"

# A counter label: a whole word (not the tail of a longer Chinese word), a colon, maybe a number.
_COUNTER = re.compile(
    rf"(?<![\u4e00-\u9fff]){_OPEN}"
    r"(?:浏览次数|浏览量|浏览人次|访问量|访问次数|点击数|点击量|点击次数|点击率|阅读次数|阅读量|阅读数)"
    rf" ?{_COLON} ?(?:\d[\d,]*)? ?次?{_CLOSE}"
)
# Font-size switches: 【字体：大 中 小】, 字号：[大] [中] [小], [字体: 默认 大 小] ...
_FONT_SIZE = re.compile(
    rf"{_OPEN}(?:字体|字号)(?:大小)? ?{_COLON}?"
    r"(?: ?[【\[［(（]?(?:大|中|小|默认|标准|正常|放大|缩小|超大|较大|较小)[】\]］)）]?)+"
    rf" ?{_CLOSE}"
)
# Buttons that may share a line with other chrome; removed only when bracketed or alone as a word.
_BUTTON_WORDS = (
    r"打印本页|打印此页|打印页面|打印文章|关闭窗口|关闭本页|关闭页面|返回顶部|收藏本页|加入收藏"
)
_BUTTON = re.compile(
    rf"[【\[［](?:{_BUTTON_WORDS}|打印|关闭|返回|收藏)[】\]］]"
    rf"|(?:^|(?<= ))(?:{_BUTTON_WORDS})(?=$| )"
)
# Whole lines that are chrome.
_CHROME_LINE = re.compile(
    r"^(?:"
    r"打印|关闭|打印本页|关闭窗口|返回|返回顶部|分享|分享到 ?[:：].{0,40}"
    r"|扫一扫在手机(?:上)?打开当前页|扫一扫在手机打开|【?打印】? ?【?关闭】?"
    rf"|今天是 ?{_COLON}.{{0,30}}|今天是 ?\d{{4}} ?年.{{0,20}}"
    rf"|(?:字体|字号)(?:大小)? ?{_COLON}?"
    r")$"
)
# Every chrome pattern above contains one of these characters: a line without any is content
# only, and skips the chrome patterns (most report lines; the writer normalizes every report).
_CHROME_MARK = re.compile("[打关返分扫今字浏访点阅收加]")
# Size words that follow a bare "字号：" line when a page is flattened one element per line.
_SIZE_WORD_LINE = re.compile(r"^[【\[［(（]?(?:大|中|小|默认|标准|正常|放大|缩小)[】\]］)）]?$")
_FONT_LABEL_LINE = re.compile(rf"^(?:字体|字号)(?:大小)? ?{_COLON}?$")


def normalize_text(text: str) -> str:
    """The text a version is identified by: see the module docstring for what is removed."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    lines: list[str] = []
    after_font_label = False
    for raw in text.splitlines():
        line = _SPACES.sub(" ", raw).strip()
        if after_font_label and _SIZE_WORD_LINE.match(line):
            continue
        after_font_label = bool(_FONT_LABEL_LINE.match(line))
        line = _strip_chrome(line)
        if line:
            lines.append(line)
    return "\n".join(lines)


def _strip_chrome(line: str) -> str:
    if not line:
        return ""
    if not _CHROME_MARK.search(line):
        return _CJK_GAP.sub("", line) if " " in line else line
    if _CHROME_LINE.match(line):
        return ""
    line = _COUNTER.sub(" ", line)
    line = _FONT_SIZE.sub(" ", line)
    line = _BUTTON.sub(" ", line)
    line = _SPACES.sub(" ", line).strip()
    if _CHROME_LINE.match(line):
        return ""
    return _CJK_GAP.sub("", line)


def content_hash(text: str) -> str:
    """sha256 (hex) of :func:`normalize_text` -- equal for texts that differ only cosmetically."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()
