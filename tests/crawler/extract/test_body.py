"""body_element / body_text: selector → Hanweb markers → known containers → text density."""

from __future__ import annotations

from crawler.extract.body import body_element, body_text
from crawler.extract.page import parse_html

NAV = "<ul class='nav'>" + "".join(f"<li><a href='/c{i}/'>栏目名称{i}</a></li>" for i in range(30)) + "</ul>"
FOOTER = "<div class='footer'><p>版权所有：XX市人民政府办公室</p><p>网站标识码：3500000001</p></div>"
PROSE = "本机关认真贯彻落实《中华人民共和国政府信息公开条例》，全年主动公开政府信息388条。"


def test_explicit_selector_wins():
    tree = parse_html(f"<div id='zoom'><p>{PROSE}</p></div><div class='mine'><p>自定义正文。</p></div>")
    assert body_text(body_element(tree, ".mine")) == "自定义正文。"


def test_explicit_selector_that_matches_nothing_falls_back():
    tree = parse_html(f"<div id='zoom'><p>{PROSE}</p></div>")
    assert body_element(tree, ".missing").get("id") == "zoom"


def test_hanweb_content_markers():
    html = f"""<html><head><meta name="ContentStart"></head><body>{NAV}
      <div id="zoom"><p>字体：大 中 小</p><!--ZJEG_RSS.content.begin--><meta name="ContentStart">
      <p>{PROSE}</p><p>第二段。</p><meta name="ContentEnd"><!--ZJEG_RSS.content.end-->
      <p>【打印本页】【关闭窗口】</p></div>{FOOTER}</body></html>"""
    text = body_text(body_element(parse_html(html)))
    assert text == f"{PROSE}\n第二段。"


def test_hanweb_markers_alone_in_their_parent_return_the_parent():
    html = f"""<div id="c"><meta name="ContentStart"><p>{PROSE}</p><meta name="ContentEnd"></div>"""
    tree = parse_html(html)
    assert body_element(tree).get("id") == "c"


def test_known_containers():
    for attrs in ['id="zoom"', 'class="TRS_Editor"', 'id="ivs_content"', 'class="article-content x"',
                  'class="xxgk_content"', 'id="zoomcon"', 'id="fontzoom"', 'class="zw-content"',
                  'class="Custom_UnionStyle"', 'id="Zoom"']:
        html = f"<html><body>{NAV}<div class='wrap'><div {attrs}><p>{PROSE}</p></div></div>{FOOTER}</body></html>"
        element = body_element(parse_html(html))
        assert body_text(element) == PROSE, attrs


def test_container_priority_and_empty_containers():
    html = f"""<div class="TRS_Editor"></div><div id="fontzoom"><p>{PROSE}</p></div>"""
    assert body_element(parse_html(html)).get("id") == "fontzoom"
    html = f"""<div id="zoom"><div class="TRS_Editor"><p>{PROSE}</p></div><p>附件：</p></div>"""
    assert body_element(parse_html(html)).get("id") == "zoom"


def test_image_only_container_is_kept():
    html = f"""{NAV}<div class="TRS_Editor"><p><img src="/a.jpg"></p></div><div><p>{PROSE}</p></div>"""
    assert "TRS_Editor" in body_element(parse_html(html)).get("class")


def test_density_fallback_prefers_prose_over_navigation():
    html = f"""<html><body>{NAV}<div class="left">{NAV}</div>
      <div class="box"><h1>标题</h1><div class="txt"><p>{PROSE}</p><p>{PROSE}</p><p>{PROSE}</p></div></div>
      {FOOTER}</body></html>"""
    element = body_element(parse_html(html))
    assert element.get("class") == "txt"


def test_density_fallback_climbs_out_of_broken_nesting():
    html = f"""<div class="c"><p><span><p>{PROSE}</p><p>{PROSE}</p></span></p>
      <table><tr><td>规章</td><td>0</td></tr></table></div>{FOOTER}"""
    element = body_element(parse_html(html))
    assert element.get("class") == "c"
    assert "规章\t0" in body_text(element)


def test_body_text_layout():
    html = """<div id="zoom">
      <style>p{color:red}</style><script>var x = "脚本";</script><noscript>请启用脚本</noscript>
      <!-- 注释 --><p>第一段&nbsp;&nbsp;有　空格</p>
      <p>第二行<br>第三行<br/>第四行</p>
      <div>   </div><p>&nbsp;</p>
      <table><tr><td>项目</td><td><p>本年</p></td><td></td><td>累<br>计</td></tr>
             <tr><th>主动公开</th><td>388</td><td>1 200</td></tr></table>
      <p style="display:none">隐藏文字</p>
      <p>Word<!--[if !supportLists]-->1.<!--[endif]-->列表</p>
    </div>"""
    text = body_text(body_element(parse_html(html)))
    assert text.split("\n") == [
        "第一段 有 空格",
        "第二行",
        "第三行",
        "第四行",
        "项目\t本年\t累 计",
        "主动公开\t388\t1 200",
        "Word1.列表",
    ]


def test_body_text_of_none_and_empty():
    assert body_text(None) == ""
    tree = parse_html("")
    assert body_text(body_element(tree)) == ""


def test_broken_html_body():
    html = f"<div id='zoom'><p>{PROSE}<p>第二段<table><tr><td>a<td>b</div>"
    text = body_text(body_element(parse_html(html)))
    assert text.startswith(PROSE)
    assert "第二段" in text and "a\tb" in text


def test_a_font_size_toolbar_named_zoom_is_not_the_body():
    html = f"""<div id="zoom">【字体：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a>】</div>
      <div class="wrap"><p>{PROSE}</p><p>{PROSE}</p></div>"""
    assert body_element(parse_html(html)).get("class") == "wrap"


def test_pdf_only_container_is_kept():
    html = f"""<div class="TRS_Editor"><a href="/P0201.pdf">下载</a></div><div><p>{PROSE}</p></div>"""
    assert body_element(parse_html(html)).get("class") == "TRS_Editor"


def test_source_line_breaks_are_spaces_not_lines():
    html = "<div id='zoom'><p>Word\ntext 第一\n  段落</p><table><tr><td>社会\n公益</td><td>1</td></tr></table></div>"
    assert body_text(body_element(parse_html(html))) == "Word text 第一段落\n社会公益\t1"
