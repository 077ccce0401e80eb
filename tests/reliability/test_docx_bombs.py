"""DOCX and XLSX bombs and hostile member names. A report page links Office attachments built to
hurt the machine that opens them: zip bombs (one member of zeros expanding ~1000×, in DOCX and
XLSX), a package whose central directory points hundreds of entries at the same bytes
(overlapping entries: declared expansion far past its size), one whose members lie about their
size (declared small, a bomb inside), one with more members than any real document has, a
zip nested inside a DOCX, and packages whose members are named ``../../``, ``/tmp/…`` and
``..\\..\\`` (a "zip slip" aimed at extractors). One real crawl from a loopback server, on
SQLite and PostgreSQL: the crawl goes on, each bomb is refused with a readable reason on its
attachment row, the crawl's peak memory stays far below any expansion, no file is written
outside the data folder, and the good report on the same site is archived with its attachment.
"""

from __future__ import annotations

import io
import struct
import zipfile
from functools import cache
from pathlib import Path

from crawler.demo.docx import make_docx
from tests.crawler.attachments.fixtures import make_xlsx, make_zip_bomb
from tests.reliability.conftest import HostileSite, list_page, report_page, send
from tests.reliability.crawl_checks import crawl_outcome, files_outside, is_readable, measured_crawl

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GOOD_PHRASE = "附件正文完好段落"
HOSTILE_NAMES = ["../../escape-dotdot.txt", "/tmp/escape-absolute.txt", "..\\..\\escape-backslash.txt"]
# No crawl that never holds an expanded member comes near this (one bomb alone is 20 MiB,
# the overlapping package declares 300 MB).
RSS_LIMIT_KB = 400 * 1024


def _good_docx(label: str) -> bytes:
    return make_docx(f"示范局2023年度报告附件{label}", [f"{GOOD_PHRASE}{label}"])


def _repacked(package: bytes, extra: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """``package`` with ``extra`` members added (names written as given, unsanitised)."""
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        for name, data in extra.items():
            target.writestr(zipfile.ZipInfo(name), data)
    return out.getvalue()


def overlapping_docx(entries: int = 300, member_bytes: int = 1_000_000) -> bytes:
    """A DOCX-looking package whose central directory lists ``entries`` names that all point at
    the same compressed member (the "non-recursive zip bomb": each entry small on disk, the
    declared total huge). Members stay under 1 MiB, below the per-member ratio check."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * member_bytes)
    data = out.getvalue()
    end = data.rindex(b"PK\x05\x06")
    central_at = struct.unpack_from("<I", data, end + 16)[0]
    record = data[central_at:end]
    name_length = struct.unpack_from("<H", record, 28)[0]
    name = record[46:46 + name_length]
    # Same header, same local offset; the first keeps the real name, the rest are renamed
    # (same length) so the central directory lists distinct members over the same bytes.
    records = [record] + [record.replace(name, f"word/d{i:013d}.xml".encode()[:name_length].ljust(name_length, b"x"), 1)
                          for i in range(1, entries)]
    directory = b"".join(records)
    trailer = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, entries, entries, len(directory), central_at, 0)
    return data[:central_at] + directory + trailer


def many_members_xlsx(members: int = 5001) -> bytes:
    """An XLSX with more members than the reader accepts (each one tiny)."""
    return _repacked(make_xlsx([["项目", "数量"]]), {f"xl/media/m{i}.bin": b"" for i in range(members)})


def lying_sizes_docx(expanded_mb: int = 50) -> bytes:
    """A DOCX whose ``word/document.xml`` declares 200 bytes but inflates to ``expanded_mb``
    MiB: a reader trusting the stream instead of the declared size would expand it all."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        source = zipfile.ZipFile(io.BytesIO(_good_docx("lying")))
        for info in source.infolist():
            if info.filename != "word/document.xml":
                archive.writestr(info, source.read(info))
        with archive.open("word/document.xml", "w", force_zip64=False) as handle:
            for _ in range(expanded_mb):
                handle.write(b"<" * (1 << 20))
    data = bytearray(out.getvalue())
    name = b"word/document.xml"
    struct.pack_into("<I", data, _header_of(data, b"PK\x03\x04", 30, name) + 22, 200)  # local header
    struct.pack_into("<I", data, _header_of(data, b"PK\x01\x02", 46, name) + 24, 200)  # central directory
    return bytes(data)


def _header_of(data: bytearray, signature: bytes, name_at: int, name: bytes) -> int:
    """The offset of the (local or central) header with ``signature`` naming ``name``."""
    at = data.index(signature)
    while data[at + name_at:at + name_at + len(name)] != name:
        at = data.index(signature, at + 4)
    return at


def nested_bomb_docx() -> bytes:
    """A readable DOCX carrying a zip bomb as an embedded object: the reader must never open it."""
    return _repacked(_good_docx("nested"), {"word/embeddings/oleObject1.zip": make_zip_bomb("docx", 20)},
                     zipfile.ZIP_STORED)


def hostile_names(package: bytes) -> bytes:
    """``package`` plus members whose names climb out of any folder they are extracted to."""
    return _repacked(package, {name: b"written outside?" for name in HOSTILE_NAMES})


@cache
def refused() -> dict[str, tuple[bytes, str, str]]:
    """path -> (the package, its media type, the start of the reason it must be refused with)."""
    return {
        "/files/ratio.docx": (make_zip_bomb("docx", 20), DOCX, "zip bomb suspected: payload.xml expands"),
        "/files/ratio.xlsx": (make_zip_bomb("xlsx", 20), XLSX, "zip bomb suspected: payload.xml expands"),
        "/files/overlap.docx": (overlapping_docx(), DOCX, "zip bomb suspected: would expand to 300000000 bytes"),
        "/files/members.xlsx": (many_members_xlsx(), XLSX, "zip bomb suspected: 5010 members"),
        "/files/lying.docx": (lying_sizes_docx(), DOCX, "corrupt DOCX"),
    }


@cache
def read_despite() -> dict[str, tuple[bytes, str, str]]:
    """path -> (the package, its media type, words its text must have): hostile names and a
    nested bomb are harmless to a reader that never extracts or recurses."""
    return {
        "/files/nested.docx": (nested_bomb_docx(), DOCX, f"{GOOD_PHRASE}nested"),
        "/files/names.docx": (hostile_names(_good_docx("names")), DOCX, f"{GOOD_PHRASE}names"),
        "/files/names.xlsx": (hostile_names(make_xlsx([["表3项目", "数量"], ["新收申请", 10]])), XLSX, "新收申请"),
    }


GOOD = "/files/good.docx"


def _serve(site: HostileSite) -> None:
    site.routes["/col/index.html"] = lambda h: send(h, 200, list_page({"/col/r2023.html": 2023, "/col/r2022.html": 2022}))
    links = "".join(f'<p><a href="{path}">2023年报告附件{i}{Path(path).suffix}</a></p>'
                    for i, path in enumerate([*refused(), *read_despite()]))
    site.routes["/col/r2023.html"] = lambda h: send(h, 200, report_page(2023).replace("</div>", links + "</div>"))
    good_link = f'<p><a href="{GOOD}">2022年报告附件.docx</a></p>'
    site.routes["/col/r2022.html"] = lambda h: send(h, 200, report_page(2022).replace("</div>", good_link + "</div>"))
    for path, (body, media_type, _) in {**refused(), **read_despite(), GOOD: (_good_docx("good"), DOCX, "")}.items():
        site.routes[path] = lambda h, body=body, media_type=media_type: send(h, 200, body, content_type=media_type)


def test_office_bombs_are_refused_and_the_crawl_goes_on(site: HostileSite, tmp_path, database_url):
    work = tmp_path / "work" / "deeper"  # ../../ from the crawl's folder stays inside tmp_path
    work.mkdir(parents=True)
    data_dir = work / "nianbao-data"
    _serve(site)

    result = measured_crawl(work, database_url, [site.url("/col/index.html")], "NIANBAO_OCR=0",
                            "NIANBAO_ATTACHMENT_TIMEOUT=20", "NIANBAO_ATTACHMENT_MEMORY_MB=512",
                            "DOWNLOAD_MAXSIZE=4000000")
    assert result.returncode in (0, 1), result.stderr[-2000:]
    assert result.peak_rss_kb < RSS_LIMIT_KB, f"peak RSS {result.peak_rss_kb} KiB"

    outcome = crawl_outcome(database_url)
    # Both reports archived; nothing failed as a page.
    assert outcome.documents == {site.url("/col/r2023.html"), site.url("/col/r2022.html")}
    assert outcome.errors == {}
    # Every bomb is stored and refused with a readable reason, never read.
    for path, (_, _, reason) in refused().items():
        recorded = outcome.attachment_errors.get(site.url(path))
        assert recorded is not None and recorded.startswith(reason), (path, recorded)
        assert is_readable(recorded), recorded
        assert outcome.attachment_texts[site.url(path)] is None, path
    # Packages that only carry hostile names or a nested archive are read, and nothing else.
    for path, (_, _, phrase) in read_despite().items():
        text = outcome.attachment_texts.get(site.url(path))
        assert text is not None and phrase in text, (path, outcome.attachment_errors.get(site.url(path)))
    assert f"{GOOD_PHRASE}good" in (outcome.attachment_texts[site.url(GOOD)] or "")
    assert all(error is None for error in outcome.link_errors.values()), outcome.link_errors

    # No member was ever written out: nothing outside the data folder, nothing in /tmp.
    assert files_outside(tmp_path, data_dir, {work / "sites.toml"}) == set()
    assert [p for p in tmp_path.rglob("*escape*")] == []
    assert not Path("/tmp/escape-absolute.txt").exists()
