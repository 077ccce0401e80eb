"""parse_html: robust on broken, empty and odd input; <base href> resolution."""

from __future__ import annotations

import pytest

from crawler.extract.page import base_url_of, parse_html


@pytest.mark.parametrize("text", ["", "   \n", None, "<!-- only a comment -->"])
def test_empty_input_gives_an_empty_body(text):
    tree = parse_html(text)
    assert tree.tag == "html"
    body = tree.find("body")
    assert body is not None
    assert not body.text_content().strip()


def test_xml_declaration_is_accepted():
    tree = parse_html('<?xml version="1.0" encoding="gb2312"?>\n<html><body><p>中文</p></body></html>')
    assert tree.find("body").text_content() == "中文"


def test_bom_and_nul_characters():
    tree = parse_html("\ufeff<div>a\x00b</div>")
    assert "a" in tree.find("body").text_content()


@pytest.mark.parametrize(
    "text",
    [
        "<p>unclosed <b>bold <i>italic",
        "<table><tr><td>cell</td></table></div></span>",
        "plain text, no tags",
        "<td>a stray cell</td>",
        "<html><body><p>one</p></body></html><html><div>two</div></html>",
    ],
)
def test_broken_html_parses(text):
    tree = parse_html(text)
    assert tree.tag == "html"
    assert tree.find("body") is not None
    assert tree.find("body").text_content().strip()


def test_second_document_element_is_folded_into_the_body():
    tree = parse_html("<html><body><p>one</p></body></html><!--x--><html><div id=a>two</div></html>")
    assert tree.find("body").text_content() == "onetwo"
    assert tree.get_element_by_id("a").getparent().tag == "body"


def test_base_href():
    tree = parse_html('<html><head><base href="/files/"></head><body></body></html>')
    assert base_url_of(tree, "http://example.gov.cn/a/b.html") == "http://example.gov.cn/files/"


def test_without_base_the_fallback_is_used():
    tree = parse_html("<p>x</p>")
    assert base_url_of(tree, "http://example.gov.cn/a/b.html") == "http://example.gov.cn/a/b.html"


def test_parse_keeps_the_url():
    tree = parse_html("<p>x</p>", base_url="http://example.gov.cn/a/b.html")
    assert base_url_of(tree, None) == "http://example.gov.cn/a/b.html"
