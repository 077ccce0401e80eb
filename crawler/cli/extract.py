"""``nianbao extract``: one saved report page's fields as JSON (and a refusal for non-pages)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from crawler.attachments import sniff
from crawler.errors import ConfigError
from crawler.i18n import gettext as _


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", help="The page's original URL (resolves relative attachment links).")
@click.option("--encoding", help="Force the page encoding instead of detecting it.")
def extract(file: Path, url: str | None, encoding: str | None) -> None:
    """Extract one saved report page and print its fields as JSON.

    Keys: title, index_no, publisher, pub_date (YYYY-MM-DD), doc_no, topic, report_year,
    body_text, attachments (absolute URLs), tables (the statistics tables 2, 3, 4 with their
    format and consistency checks, or estimated numbers from pre-2019 prose); a field the page
    does not show is null.

    \b
    Example:
      nianbao extract saved/t20250310_97791.htm --url https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/202503/t20250310_97791.htm
    """
    from crawler.extract import extract_detail_from_bytes

    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(_("%(file)s: cannot read (%(error)s)", file=file, error=exc.strerror)) from None
    if encoding:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ConfigError(_("unknown encoding %(encoding)s", encoding=repr(encoding))) from None
    what = not_html(raw)
    if what is not None:
        raise ConfigError(_("not an HTML page: %(file)s is %(what)s", file=file, what=what))
    page_url = url or file.resolve().as_uri()
    fields, _pages = extract_detail_from_bytes(raw, page_url, forced_encoding=encoding)
    click.echo(json.dumps(fields.to_json_dict(), ensure_ascii=False, indent=2))


# How the refusal names each file signature :func:`crawler.attachments.sniff.leading_signature`
# recognises: (Chinese, English).
def _signature_name(signature: str) -> str:
    """What a file with this signature is, in the reader's language ("a PDF file")."""
    return {
        sniff.PDF: _("a PDF file"),
        sniff.ZIP: _("a ZIP archive (or an Office document)"),
        sniff.OLE: _("an old Office (OLE) document"),
        sniff.PNG: _("a PNG image"),
        sniff.JPEG: _("a JPEG image"),
        sniff.GIF: _("a GIF image"),
        sniff.WOFF: _("a WOFF font file"),
        sniff.WOFF2: _("a WOFF2 font file"),
        sniff.OTF: _("an OpenType font file"),
        sniff.TTF: _("a TrueType font file"),
        sniff.TTC: _("a TrueType font collection"),
    }[signature]

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def not_html(raw: bytes) -> str | None:
    """What ``raw`` is when it cannot be a saved web page, in the reader's language ("a PDF
    file", "一个 PDF 文件"); None when it may be one.

    Empty (or only whitespace), a known file signature, or binary: NUL bytes (outside a UTF-16
    page), many control bytes, or many bytes undecodable both as UTF-8 and as GB18030.
    """
    if not raw.strip():
        return _("an empty file")
    signature = sniff.leading_signature(raw)
    if signature is not None:
        return _signature_name(signature)
    if raw.startswith(_UTF16_BOMS):
        return None
    sample = raw[:65536]
    control = sum(1 for b in sample if b < 9 or (13 < b < 32 and b != 27))
    if b"\x00" in sample or control > len(sample) * 0.05:
        return _("a binary file")
    # Undecodable bytes under UTF-8 and under GB18030 (which reads GBK/GB2312, and Latin-1
    # pages mostly): a page has next to none in one of them, random data many in both.
    undecodable = min(sample.decode(enc, errors="replace").count("\ufffd") for enc in ("utf-8", "gb18030"))
    text_like = sum(1 for b in sample if 32 <= b < 127 or b in (9, 10, 13))  # a Latin-1 page's markup
    if undecodable > max(8, len(sample) * 0.1) and text_like < len(sample) * 0.7:
        return _("a binary file")
    return None
