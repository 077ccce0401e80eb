"""decode_html: header → BOM → meta → detection, GB-family as GB18030, clean candidates win."""

from __future__ import annotations

import codecs

import pytest

from crawler.extract.decode import decode_html, normalize_encoding_name

TEXT = "莆田市统计局2008年度政府信息公开工作年度报告：主动公开政府信息386条。"


def page(charset_meta: str = "", body: str = TEXT) -> str:
    return f"<html><head>{charset_meta}<title>报告</title></head><body><p>{body}</p></body></html>"


@pytest.mark.parametrize("label", ["gb2312", "GBK", "x-gbk", "GB2312", "gb18030", "cp936"])
def test_gb_family_labels_fold_to_gb18030(label):
    assert normalize_encoding_name(label) == "gb18030"


def test_unknown_label_is_none():
    assert normalize_encoding_name("no-such-charset") is None
    assert normalize_encoding_name("") is None
    assert normalize_encoding_name(None) is None


def test_utf8_with_header():
    decoded = decode_html(page().encode("utf-8"), "text/html; charset=utf-8")
    assert TEXT in decoded.text
    assert decoded.encoding == "utf-8"
    assert not decoded.had_replacements


def test_gbk_declared_in_meta_charset():
    raw = page('<meta charset="gb2312">').encode("gbk")
    decoded = decode_html(raw)
    assert TEXT in decoded.text
    assert decoded.encoding == "gb18030"
    assert not decoded.had_replacements


def test_gbk_declared_in_http_equiv():
    raw = page('<meta http-equiv="Content-Type" content="text/html; charset=GBK">').encode("gbk")
    decoded = decode_html(raw)
    assert TEXT in decoded.text and decoded.encoding == "gb18030"


def test_gbk_bytes_labelled_utf8_round_trip():
    """A GBK page whose header and meta both claim UTF-8 must still come out right."""
    raw = page('<meta charset="utf-8">').encode("gbk")
    decoded = decode_html(raw, "text/html; charset=UTF-8")
    assert TEXT in decoded.text
    assert decoded.encoding == "gb18030"
    assert not decoded.had_replacements


def test_utf8_bytes_labelled_gbk():
    """UTF-8 text often 'decodes' as GB18030 without error (as mojibake); UTF-8 must win."""
    raw = page('<meta charset="gbk">').encode("utf-8")
    decoded = decode_html(raw, "text/html; charset=gbk")
    assert TEXT in decoded.text
    assert decoded.encoding == "utf-8"


def test_gbk_without_any_declaration():
    decoded = decode_html(page().encode("gbk"))
    assert TEXT in decoded.text
    assert not decoded.had_replacements


def test_gbk_labelled_latin1():
    decoded = decode_html(page().encode("gbk"), "text/html; charset=iso-8859-1")
    assert TEXT in decoded.text


def test_gbk_only_characters_under_gb2312_label():
    # 镕 and 珺 are in GBK but not in GB2312: a GB2312 label must not break them.
    raw = page('<meta charset="gb2312">', "朱镕基 王珺").encode("gbk")
    assert "朱镕基 王珺" in decode_html(raw).text


def test_header_beats_meta_when_both_decode():
    raw = b'<html><head><meta charset="utf-8"></head><body>abc</body></html>'
    decoded = decode_html(raw, "text/html; charset=gbk")
    assert decoded.encoding == "gb18030"
    assert "abc" in decoded.text


def test_bom():
    raw = codecs.BOM_UTF8 + page().encode("utf-8")
    decoded = decode_html(raw)
    assert decoded.encoding == "utf-8"
    assert decoded.text.startswith("<html>")


def test_utf16_bom():
    raw = codecs.BOM_UTF16_LE + page().encode("utf-16-le")
    decoded = decode_html(raw)
    assert TEXT in decoded.text
    assert decoded.encoding == "utf-16-le"


def test_forced_encoding_wins():
    raw = page('<meta charset="utf-8">').encode("gbk")
    decoded = decode_html(raw, "text/html; charset=utf-8", forced_encoding="GB2312")
    assert TEXT in decoded.text
    assert decoded.encoding == "gb18030"


def test_forced_encoding_that_fails_reports_replacements():
    decoded = decode_html(page().encode("gbk"), forced_encoding="utf-8")
    assert decoded.had_replacements
    assert "\ufffd" in decoded.text


def test_garbage_bytes_flag_replacements():
    raw = b"<html><body>" + bytes([0x81, 0x20, 0xFF, 0xFE, 0x80]) * 20 + b"</body></html>"
    decoded = decode_html(raw)
    assert decoded.had_replacements
    assert "\ufffd" in decoded.text


def test_mixed_page_picks_the_encoding_with_fewer_replacements():
    raw = page().encode("gbk") + b"\xff\xff"
    decoded = decode_html(raw, "text/html; charset=utf-8")
    assert decoded.encoding == "gb18030"
    assert decoded.had_replacements
    assert TEXT in decoded.text


def test_empty_and_ascii():
    assert decode_html(b"").text == ""
    decoded = decode_html(b"<p>hello</p>", "text/html")
    assert decoded.text == "<p>hello</p>" and not decoded.had_replacements
