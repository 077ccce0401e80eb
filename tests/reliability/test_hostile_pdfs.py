"""Hostile PDFs stopped by the attachment sandbox. A report page links PDFs built to hang or
exhaust the reader: a page tree that refers to itself, an object nested 200 000 arrays deep, a
page tree of shared nodes standing for tens of thousands (or millions) of pages from a few
objects, a content stream that inflates from 70 KiB to 70 MiB (or 300 MiB), a page of 200 × 200
inches with no text layer (the OCR renderer would allocate gigabytes), and a PDF whose xref table
points nowhere. Each is read in the sandbox child (``crawler.attachments.sandbox``: RLIMIT_AS,
RLIMIT_CPU, a wall-clock kill, pypdf's own limits, the OCR page-size limit), and each is stopped
with a readable reason on its attachment row; the crawl goes on and ends in bounded time and
memory, the repairable PDF is read, and the good report with its PDF is archived. One real
crawl from a loopback server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import zlib
from functools import cache

from crawler.demo.pdf import make_pdf
from tests.reliability.conftest import REPORT_TITLE, HostileSite, list_page, send
from tests.reliability.crawl_checks import crawl_outcome, is_readable, measured_crawl

TIMEOUT_S = 10
MEMORY_MB = 160
# The crawl holds no expanded PDF; its sandbox children are capped at MEMORY_MB each.
RSS_LIMIT_KB = 400 * 1024
CRAWL_SECONDS_LIMIT = 90  # every hostile PDF costs at most its time limit, and they run in parallel
TEXT = b"BT /F1 12 Tf 72 720 Td (Hostile PDF text layer for the sandbox) Tj ET"
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
ONE_PAGE_TREE = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PDF = "application/pdf"


def assemble(objects: list[bytes], *, root: int = 1, broken_xref: bool = False) -> bytes:
    """A PDF of ``objects`` (object N is ``objects[N-1]``) with an xref table -- or, with
    ``broken_xref``, one whose offsets and ``startxref`` point at the wrong bytes."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset * 7 + 13 if broken_xref else offset:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root {root} 0 R >>\n"
            f"startxref\n{xref_at + 999 if broken_xref else xref_at}\n%%EOF\n").encode()
    return bytes(out)


def stream(data: bytes, *, flate: bool = False) -> bytes:
    flt = b" /Filter /FlateDecode" if flate else b""
    return b"<< /Length %d%s >>\nstream\n" % (len(data), flt) + data + b"\nendstream"


def page(parent: int, contents: int, width: int = 612, height: int = 792, extra: bytes = b"") -> bytes:
    return (f"<< /Type /Page /Parent {parent} 0 R /MediaBox [0 0 {width} {height}]"
            f" /Resources << /Font << /F1 5 0 R >> >> /Contents {contents} 0 R").encode() + extra + b" >>"


def one_page(content: bytes, **page_options: object) -> bytes:
    """Catalog 1, pages 2, page 3, content 4, font 5."""
    return assemble([CATALOG, ONE_PAGE_TREE, page(2, 4, **page_options), content, FONT])  # type: ignore[arg-type]


def cyclic_pdf() -> bytes:
    """The page tree lists itself among its kids (a loop a naive walker never leaves)."""
    return assemble([CATALOG, b"<< /Type /Pages /Kids [2 0 R 3 0 R 2 0 R] /Count 3 >>", page(2, 4), stream(TEXT), FONT])


def deeply_nested_pdf(depth: int = 200_000) -> bytes:
    """An annotation array nested ``depth`` deep (a recursive parser's stack)."""
    return one_page(stream(TEXT), extra=b" /Annots " + b"[" * depth + b"]" * depth)


def shared_page_tree_pdf(levels: int) -> bytes:
    """2**levels pages from levels + 4 objects: each Pages node's two kids are the same node."""
    objects = [b"<< /Type /Catalog /Pages 3 0 R >>", FONT]
    for level in range(levels):
        number = 3 + level
        objects.append(f"<< /Type /Pages /Kids [{number + 1} 0 R {number + 1} 0 R] /Count {2 ** (levels - level)} >>"
                       .encode())
    leaf, contents = 3 + levels, 4 + levels
    objects.append(f"<< /Type /Page /Parent {leaf - 1} 0 R /MediaBox [0 0 612 792]"
                   f" /Resources << /Font << /F1 2 0 R >> >> /Contents {contents} 0 R >>".encode())
    objects.append(stream(TEXT))
    return assemble(objects)


def content_bomb_pdf(expanded_mb: int) -> bytes:
    """A page whose content stream is text followed by ``expanded_mb`` MiB of blanks, deflated."""
    compressor = zlib.compressobj(9)
    blank = b" " * (1 << 20)
    data = compressor.compress(TEXT + b"\n") + b"".join(compressor.compress(blank) for _ in range(expanded_mb))
    return one_page(stream(data + compressor.flush(), flate=True))


def giant_page_pdf() -> bytes:
    """A 14 400 × 14 400 pt page (the largest PDF allows) with a line and no text: a "scan"
    whose rendering at OCR resolution would be 60 000 × 60 000 pixels."""
    return one_page(stream(b"0 0 m 100 100 l S"), width=14400, height=14400)


def broken_xref_pdf() -> bytes:
    """A sound PDF whose xref offsets and startxref are wrong (a truncated or re-saved file):
    readers rebuild the table by scanning, and the text is recovered."""
    return assemble([CATALOG, ONE_PAGE_TREE, page(2, 4), stream(TEXT), FONT], broken_xref=True)


# The sandbox's own limits: the wall clock, and RLIMIT_AS.
SANDBOX = (f"text extraction timed out after {TIMEOUT_S}s", f"text extraction exceeded the memory limit ({MEMORY_MB} MiB)")


@cache
def hostile_pdfs() -> dict[str, tuple[bytes, tuple[str, ...]]]:
    """path -> (the PDF, the starts of the reasons it may be recorded with). A file pypdf's own
    limit stops within seconds when read alone may meet the sandbox's clock or memory cap first
    while the machine reads the others at once: any of them is the limits working."""
    return {
        "/files/cyclic.pdf": (cyclic_pdf(), ("corrupt PDF: PdfReadError: Detected cyclic page references", *SANDBOX)),
        "/files/nested.pdf": (deeply_nested_pdf(), ("corrupt PDF: PdfReadError", *SANDBOX)),
        # Under pypdf's page-tree limit: only the sandbox stops it.
        "/files/pages.pdf": (shared_page_tree_pdf(15), SANDBOX),
        "/files/pages-limit.pdf": (shared_page_tree_pdf(22),
                                   ("corrupt PDF: LimitReachedError: Maximum page tree", *SANDBOX)),
        # Under pypdf's decompression limit: only the sandbox stops it.
        "/files/stream-bomb.pdf": (content_bomb_pdf(70), SANDBOX),
        "/files/stream-limit.pdf": (content_bomb_pdf(300),
                                    ("corrupt PDF: LimitReachedError: Limit reached while decompressing", *SANDBOX)),
        # No text layer: OCR's page-size limit refuses to render it.
        "/files/giant.pdf": (giant_page_pdf(), ("page 1 too large to OCR: 14400×14400 points",)),
    }


RECOVERED = "/files/broken-xref.pdf"
GOOD = "/files/good.pdf"
GOOD_TEXT = "好的附件正文段落"


def _report_with_links(year: int, links: list[str]) -> str:
    """A report page with enough text of its own to be archived before its attachments."""
    anchors = "".join(f'<p><a href="{path}">{year}年报告附件{i}.pdf</a></p>' for i, path in enumerate(links))
    paragraph = (f"<p>{year}年，本机关认真贯彻落实《中华人民共和国政府信息公开条例》，"
                 "主动公开政府信息，依申请公开工作规范有序。</p>")
    title = REPORT_TITLE.format(year=year)
    return (f"<html><head><title>{title}</title></head><body><h1>{title}</h1><div class='content'>"
            f"{paragraph * 3}{anchors}</div></body></html>")


def _serve(site: HostileSite) -> None:
    site.routes["/col/index.html"] = lambda h: send(h, 200, list_page({"/col/r2023.html": 2023, "/col/r2022.html": 2022}))
    hostile = [*hostile_pdfs(), RECOVERED]
    site.routes["/col/r2023.html"] = lambda h: send(h, 200, _report_with_links(2023, hostile))
    site.routes["/col/r2022.html"] = lambda h: send(h, 200, _report_with_links(2022, [GOOD]))
    files = {path: body for path, (body, _) in hostile_pdfs().items()}
    files |= {RECOVERED: broken_xref_pdf(), GOOD: make_pdf("示范局2022年度报告", [GOOD_TEXT * 10])}
    for path, body in files.items():
        site.routes[path] = lambda h, body=body: send(h, 200, body, content_type=PDF)


def test_hostile_pdfs_are_stopped_by_the_sandbox_limits(site: HostileSite, tmp_path, database_url):
    _serve(site)
    result = measured_crawl(tmp_path, database_url, [site.url("/col/index.html")],
                            f"NIANBAO_ATTACHMENT_TIMEOUT={TIMEOUT_S}", f"NIANBAO_ATTACHMENT_MEMORY_MB={MEMORY_MB}",
                            "NIANBAO_OCR_TIMEOUT=30")
    assert result.returncode in (0, 1), result.stderr[-2000:]
    assert result.seconds < CRAWL_SECONDS_LIMIT, result.seconds
    assert result.peak_rss_kb < RSS_LIMIT_KB, f"peak RSS {result.peak_rss_kb} KiB"

    outcome = crawl_outcome(database_url)
    assert outcome.documents == {site.url("/col/r2023.html"), site.url("/col/r2022.html")}
    assert outcome.errors == {}
    for path, (_, reasons) in hostile_pdfs().items():
        recorded = outcome.attachment_errors.get(site.url(path))
        assert recorded is not None and recorded.startswith(reasons), (path, recorded)
        assert is_readable(recorded), recorded
        assert not outcome.attachment_texts[site.url(path)], path
    assert "Hostile PDF text layer" in (outcome.attachment_texts[site.url(RECOVERED)] or "")
    assert GOOD_TEXT in (outcome.attachment_texts[site.url(GOOD)] or "")
    assert all(error is None for error in outcome.link_errors.values()), outcome.link_errors
