"""Compression bombs: a server answers report pages with a small body whose
``Content-Encoding`` (gzip, deflate, br) expands to 256 MiB -- far past ``DOWNLOAD_MAXSIZE`` --
as an attacker's (or a misconfigured server's) "zip bomb" over HTTP does, to exhaust the
crawler's memory. Each page is refused with a readable reason in ``crawl_errors``, the crawl
process's peak RSS stays far below the expanded size (measured by ``/usr/bin/time`` around the
crawl's own process), and the rest of the column is archived. Real loopback server, real crawl,
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zlib
from functools import cache

import brotli
import pytest
from sqlalchemy import select

from storage.db import open_archive
from storage.models import CrawlError, Document
from tests.reliability.conftest import HostileSite, list_page, report_page, send, sites_toml

EXPANDED = 256 * 1024 * 1024
MAXSIZE = 1_000_000
# A crawl process that never holds an expanded body stays well below this (one expanded
# bomb alone would be 256 MiB).
RSS_LIMIT_KB = 220 * 1024


@cache
def bomb(encoding: str) -> bytes:
    """EXPANDED zero bytes, compressed (a few hundred KiB, well under DOWNLOAD_MAXSIZE)."""
    chunk = b"\0" * (1 << 20)
    if encoding == "br":
        compressor = brotli.Compressor(quality=5)
        return b"".join(compressor.process(chunk) for _ in range(EXPANDED >> 20)) + compressor.finish()
    wbits = 31 if encoding == "gzip" else 15  # deflate as servers send it: zlib-wrapped
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return b"".join(compressor.compress(chunk) for _ in range(EXPANDED >> 20)) + compressor.flush()


BOMBS = {"/col/gzip.html": ("gzip", 2019), "/col/deflate.html": ("deflate", 2020), "/col/br.html": ("br", 2021)}


@pytest.mark.skipif(not shutil.which("time") and not os.path.exists("/usr/bin/time"), reason="needs /usr/bin/time")
def test_compression_bombs_are_refused_in_bounded_memory(site: HostileSite, tmp_path, database_url):
    links = {path: year for path, (_, year) in BOMBS.items()} | {"/col/ok.html": 2022}
    site.routes["/col/index.html"] = lambda h: send(h, 200, list_page(links))
    site.routes["/col/ok.html"] = lambda h: send(h, 200, report_page(2022))
    for path, (encoding, _) in BOMBS.items():
        body = bomb(encoding)
        assert len(body) < MAXSIZE
        site.routes[path] = lambda h, body=body, encoding=encoding: send(
            h, 200, body, {"Content-Encoding": encoding})

    sites = tmp_path / "sites.toml"
    sites.write_text(sites_toml([site.url("/col/index.html")]), encoding="utf-8")
    settings = ["AUTOTHROTTLE_ENABLED=False", "DOWNLOAD_DELAY=0", "DOWNLOAD_TIMEOUT=10",
                "RETRY_TIMES=0", f"DOWNLOAD_MAXSIZE={MAXSIZE}", f"DOWNLOAD_WARNSIZE={MAXSIZE // 2}"]
    env = {**os.environ, "NIANBAO_DATA_DIR": str(tmp_path / "nianbao-data")}
    env.pop("NIANBAO_DATABASE_URL", None)
    env.pop("NIANBAO_SITES", None)
    result = subprocess.run(
        ["/usr/bin/time", "-f", "peak-rss-kb=%M", sys.executable, "-m", "crawler", "--db", database_url,
         "--sites", str(sites), "crawl", "-q", *[arg for s in settings for arg in ("-s", s)]],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    peak_kb = int(re.findall(r"peak-rss-kb=(\d+)", result.stderr)[-1])
    assert peak_kb < RSS_LIMIT_KB, f"peak RSS {peak_kb} KiB"

    sessions = open_archive(database_url)
    try:
        with sessions() as session:
            errors = {e.url: e.reason for e in session.scalars(select(CrawlError))}
            documents = list(session.scalars(select(Document.url)))
    finally:
        sessions.kw["bind"].dispose()
    assert documents == [site.url("/col/ok.html")]
    assert errors == {
        site.url(path): f"response too large after decompression (over {MAXSIZE} bytes, {len(bomb(encoding))} bytes compressed)"
        for path, (encoding, _) in BOMBS.items()
    }


def test_the_decompression_refusal_is_described_without_a_repr():
    """Scrapy's own message names the response by its repr (``<200 http://…>``)."""
    from scrapy.exceptions import IgnoreRequest

    from crawler.failures import describe_error

    error = IgnoreRequest("Ignored response <200 http://127.0.0.1:1/x.html> because its body (405 B compressed, "
                          "1080992 B decompressed so far) exceeded DOWNLOAD_MAXSIZE (1000000 B) during decompression.")
    assert describe_error(error) == "response too large after decompression (over 1000000 bytes, 405 bytes compressed)"
