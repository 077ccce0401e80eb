"""Archival capture: every fetch as WARC evidence, and cheap conditional re-crawls.

- :mod:`crawler.capture.warc` -- append-only, crash-safe, rotating WARC 1.1 files;
- :mod:`crawler.capture.records` -- Scrapy requests/responses as warcio records;
- :mod:`storage.captures` (in the archive) -- the ``captures`` and ``url_states`` rows;
- :mod:`crawler.capture.policy` -- which known URLs are due for a re-check tonight;
- :mod:`crawler.capture.middleware` -- the downloader middleware that ties them together, and
  the spider middleware that hands each item the id of its capture;
- :mod:`crawler.capture.pipeline` -- stored attachments point at their capture;
- :mod:`storage.evidence` (in the archive) -- reading a capture's bytes back from its WARC record.
"""
