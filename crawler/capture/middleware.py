"""The capture downloader middleware: WARC evidence for every fetch, and cheap re-crawls.

:class:`CaptureMiddleware` sits next to the downloader (priority 950, after every middleware
that edits requests and before any that edits responses), so it sees each HTTP exchange as it
happened: the final request headers and the body as transferred.

Outgoing (``process_request``): the revalidation policy (:mod:`crawler.capture.policy`) decides
whether the URL is fetched tonight. A known report page or attachment that is not due is
answered from the archive (its last payload, read back from the WARC file) without touching
the network; anything fetched carries ``If-None-Match`` / ``If-Modified-Since`` when the last
answer had validators and its payload can be replayed.

Incoming (``process_response``): the exchange goes to the process's archive writer
(:mod:`crawler.writer`) as a capture job and the response waits for it: the writer appends it to
the WARC file (response + request records; a ``revisit`` when the payload equals one already
archived, a server-not-modified ``revisit`` for a 304), syncs the file and only then commits the
``captures`` row, so no row ever points at missing evidence. A 304 is then answered from the
archive as well.

Either way the spider gets an ordinary 200 response and parses it as usual: a page that did
not change is recorded as unchanged and stays "seen"; nothing is counted as a failure. The
response's ``meta["nianbao_capture_id"]`` names the capture holding its payload, which
:class:`CaptureLinkMiddleware` (a spider middleware) copies onto the items the page yields.

A WARC write that fails (full disk, folder made read-only) stops the site's crawl; the error
is kept on the run's :class:`CaptureRun` for the runner, which reports it as one line. A capture
row the database refuses stops the whole crawl (:meth:`crawler.stopping.StopState.archive_failed`).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from sqlalchemy.orm import Session, sessionmaker

from crawler.capture.policy import DEFAULT_WINDOW_DAYS, decide
from crawler.capture.records import Exchange
from crawler.capture.warc import WarcWriteError, recover_open_files
from crawler.errors import ConfigError, StorageError
from crawler.items import CARRIED_ITEM_META
from crawler.typed_defaults import bool_default
from crawler.writer import CaptureJob, CaptureResult, WarcJobFailed, WriteFailed, archive_writer_of
from storage.captures import KnownUrl, PayloadRef, load_known_urls, site_id_of
from storage.evidence import read_response, resolve
from storage.evidence import warc_directory as _warc_folder

__all__ = [
    "CAPTURE_ENABLED_SETTING",
    "META_CAPTURE_ID",
    "META_REPLAYED",
    "NOW_SETTING",
    "WARC_DIR_SETTING",
    "CaptureLinkMiddleware",
    "CaptureMiddleware",
    "CaptureRun",
    "archive_sessions",
    "prepare_capture",
    "warc_directory",
]

CAPTURE_ENABLED_SETTING = "NIANBAO_CAPTURE_ENABLED"
WARC_DIR_SETTING = "NIANBAO_WARC_DIR"
# The policy clock ("which night is it"), ISO date or date-time; for benchmarks and tests.
NOW_SETTING = "NIANBAO_NOW"
# Read lazily to avoid importing the pipeline module here (it imports storage).
_DATABASE_SETTING = "NIANBAO_DATABASE_URL"
_RUN_ID_SETTING = "NIANBAO_RUN_ID"

META_CAPTURE_ID = "nianbao_capture_id"
META_REPLAYED = "nianbao_replayed"  # "not-due" | "not-modified" | "fetched-this-run"
REPLAY_FLAG = "archive"

CAPTURE_RUN_SETTING = "NIANBAO_CAPTURE_RUN"


class CaptureRun:
    """What the crawlers (sites) of one run share in this process.

    The runner makes one per run (:func:`prepare_capture`) and hands it to every crawler in the
    ``NIANBAO_CAPTURE_RUN`` setting, as it does the progress board; reading the run's WARC
    failure afterwards is reading this object, not a module global.
    """

    def __init__(self) -> None:
        self.failures: list[str] = []
        # URLs fetched (2xx or 304) during this run, by any site: a URL is fetched once per run
        # (robots.txt of a host shared by many bureaus, an attachment linked twice).
        self.fetched: dict[str, PayloadRef] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> CaptureRun:
        return self  # each site's settings are a deep copy; they must share the one run

    @property
    def failure(self) -> str | None:
        """The first WARC write error of the run, if any."""
        return self.failures[0] if self.failures else None


def warc_directory(settings: BaseSettings | None = None) -> Path:
    """The WARC folder: the ``NIANBAO_WARC_DIR`` setting or variable, else ``<data dir>/warc``."""
    return _warc_folder(settings.get(WARC_DIR_SETTING) if settings is not None else None)


def prepare_capture(settings: BaseSettings) -> CaptureRun:
    """Before a crawl: the run's shared capture state, put in ``settings`` for its crawlers;
    checks the WARC folder is writable and finishes files a killed run left.

    Raises :class:`~crawler.capture.warc.WarcWriteError` (one line) when the folder cannot be
    created or written, so the crawl does not start at all.
    """
    run = CaptureRun()
    settings.set(CAPTURE_RUN_SETTING, run, priority="cmdline")
    if not settings.getbool(CAPTURE_ENABLED_SETTING, bool_default(CAPTURE_ENABLED_SETTING)):
        return run
    policy_now(settings)  # a malformed NIANBAO_NOW is a one-line ConfigError, before the crawl
    directory = warc_directory(settings)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise WarcWriteError(
            f"cannot write WARC files in {directory}: {exc.strerror or exc}"
        ) from None
    recover_open_files(directory)
    return run


def policy_now(settings: BaseSettings) -> datetime:
    """The policy clock: ``NIANBAO_NOW`` when set, else the current time (UTC)."""
    value = settings.get(NOW_SETTING)
    if not value:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{NOW_SETTING} must be an ISO date or date-time (got {value!r})") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def archive_sessions(database_url: str) -> sessionmaker[Session]:
    """The process's shared archive (see :func:`storage.db.shared_archive`)."""
    from storage.db import shared_archive

    return shared_archive(database_url)


class CaptureMiddleware:
    """Downloader middleware: archive every exchange, answer unchanged pages from the archive."""

    def __init__(self, crawler: Crawler, database_url: str, run_id: int) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.run_id = run_id
        self.sessions = archive_sessions(database_url)
        self.directory = warc_directory(settings)
        self.now = policy_now(settings)
        self.window_days = DEFAULT_WINDOW_DAYS
        self.site_id: int | None = None
        self.known: dict[str, KnownUrl] = {}
        self.enabled = False  # between spider_opened and spider_closed
        # Every archive write goes through the process's writer (crawler/writer): the WARC
        # records and the capture row are written there, in a batch, off the reactor.
        self.archive = archive_writer_of(crawler)
        # The run's shared state (made by the runner); a crawler started without one (a test
        # building the middleware directly) gets its own.
        shared = settings.get(CAPTURE_RUN_SETTING)
        self.capture_run: CaptureRun = shared if isinstance(shared, CaptureRun) else CaptureRun()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CaptureMiddleware:
        settings = crawler.settings
        if not settings.getbool(CAPTURE_ENABLED_SETTING, bool_default(CAPTURE_ENABLED_SETTING)):
            raise NotConfigured(f"{CAPTURE_ENABLED_SETTING} is off")
        database_url = settings.get(_DATABASE_SETTING)
        run_id = settings.getint(_RUN_ID_SETTING)
        if not database_url or not run_id:
            raise NotConfigured(f"{_DATABASE_SETTING} and {_RUN_ID_SETTING} must be set")
        middleware = cls(crawler, database_url, run_id)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    # --- lifecycle ----------------------------------------------------------------------

    def spider_opened(self, spider: Any) -> None:
        site = getattr(spider, "site", None)
        if site is not None:
            self.window_days = getattr(site, "revalidate_days", None) or DEFAULT_WINDOW_DAYS
            with self.sessions() as session:
                self.site_id = site_id_of(session, site.key)
                if self.site_id is not None:
                    self.known = load_known_urls(session, self.site_id)
        self.enabled = True

    def spider_closed(self, spider: Any) -> None:
        self.enabled = False

    # --- requests -----------------------------------------------------------------------

    def process_request(self, request: Request) -> Response | None:
        if not self.enabled or request.meta.get(META_REPLAYED):
            return None
        if request.method != "GET":
            return None  # a POST's answer depends on its form: always asked, never replayed
        known = self.known.get(request.url)
        decision = decide(
            request.url,
            request.meta.get("page_kind"),
            now=self.now,
            first_seen_at=known.first_seen_at if known else None,
            last_checked_at=known.last_checked_at if known else None,
            window_days=self.window_days,
        )
        self.stats.inc_value(f"nianbao/revalidation/{decision.reason}")
        fetched = self.capture_run.fetched.get(request.url)
        if fetched is not None and self._replayable(fetched):
            return self._replay(request, fetched, "fetched-this-run")
        if known is None or known.payload is None or not self._replayable(known.payload):
            return None
        if not decision.fetch:
            return self._replay(request, known.payload, "not-due")
        if known.etag:
            request.headers.setdefault(b"If-None-Match", known.etag.encode("latin-1"))
        if known.last_modified:
            request.headers.setdefault(b"If-Modified-Since", known.last_modified.encode("latin-1"))
        return None

    # --- responses ----------------------------------------------------------------------

    async def process_response(self, request: Request, response: Response) -> Response:
        if not self.enabled or request.meta.get(META_REPLAYED):
            return response
        from crawler.stopping import stop_state_of

        stops = stop_state_of(self.crawler)
        if stops.archive_failure is not None:  # the crawl is stopping: do not wait on the database
            raise IgnoreRequest(f"not captured: the crawl is stopping ({stops.archive_failure})")
        job = CaptureJob(
            run_id=self.run_id,
            site_id=self.site_id,
            url=response.url,
            state_url=request.url,
            page_kind=request.meta.get("page_kind"),
            exchange=Exchange.of(request, response),
            fetched_at=datetime.now(UTC),
            now=self.now,
            known=self.known.get(response.url),
            remember=request.method == "GET" and (200 <= response.status < 300 or response.status == 304),
        )
        try:
            # Acknowledged means committed: the WARC records are on disk and the row is in.
            captured: CaptureResult = await maybe_deferred_to_future(self.archive.submit(job))
        except WarcJobFailed as exc:
            self._fail(str(exc))
            raise IgnoreRequest(f"capture failed: {exc}") from None
        except WriteFailed as exc:
            # The capture row could not be written (database gone, disk full): the archive
            # cannot record evidence any more, so the whole crawl stops (crawler/stopping.py).
            stops.archive_failed(str(exc))
            raise IgnoreRequest(f"capture not recorded: {exc}") from None
        self.stats.inc_value("nianbao/capture/records")
        self.stats.inc_value("nianbao/capture/payload_bytes", len(response.body))
        payload = captured.payload
        if captured.state is not None and payload is not None:  # the URL's state moved on
            self.capture_run.fetched[request.url] = payload
            if self.site_id is not None:
                self.known[request.url] = captured.state
        if response.status == 304 and payload is not None:
            replayed = self._replay(request, payload, "not-modified")
            if replayed is not None:
                return replayed
        if payload is not None and 200 <= response.status < 300:
            request.meta[META_CAPTURE_ID] = payload.capture_id
        return response

    # --- replay -------------------------------------------------------------------------

    def _replayable(self, payload: PayloadRef) -> bool:
        return resolve(self.directory, payload.warc_file).exists()

    def _replay(self, request: Request, payload: PayloadRef, reason: str) -> Response | None:
        try:
            archived = read_response(self.directory, payload.warc_file, payload.warc_offset)
        except StorageError:
            return None
        headers = Headers([(name, value) for name, value in archived.headers])
        cls = responsetypes.from_args(headers=headers, url=request.url, body=archived.body)
        request.meta[META_REPLAYED] = reason
        request.meta[META_CAPTURE_ID] = payload.capture_id
        self.stats.inc_value(f"nianbao/replayed/{reason}")
        return cls(
            url=request.url,
            status=archived.status,
            headers=headers,
            body=archived.body,
            request=request,
            flags=[REPLAY_FLAG],
        )

    def _fail(self, message: str) -> None:
        if not self.capture_run.failures:
            self.capture_run.failures.append(message)
        self.stats.set_value("nianbao/capture/failure", message)
        if self.crawler.engine is not None and self.crawler.crawling:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(self.crawler.stop_async())


class CaptureLinkMiddleware:
    """Spider middleware: items yielded from a response get the id of its capture.

    Any item with a ``capture_id`` field that is still unset gets
    ``response.meta["nianbao_capture_id"]``, so the pipelines can link versions and attachments
    to their evidence without the spider knowing about captures.
    """

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        capture_id = response.meta.get(META_CAPTURE_ID)
        for item in result:
            yield _link(item, capture_id)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        capture_id = response.meta.get(META_CAPTURE_ID)
        async for item in result:
            yield _link(item, capture_id)


def _link(item: Any, capture_id: int | None) -> Any:
    if capture_id is None:
        return item
    if isinstance(item, Request):
        # A report riding on its attachments' requests came from this response.
        carried = item.meta.get(CARRIED_ITEM_META)
        if carried is not None:
            _link(carried, capture_id)
        return item
    # Only the dataclass records (reports, attachments, ...) carry a capture_id field.
    carries_capture = is_dataclass(item) and any(f.name == "capture_id" for f in fields(item))
    if carries_capture and item.capture_id is None:
        item.capture_id = capture_id
    return item

