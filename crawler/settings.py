"""Scrapy settings for nianbao crawls.

Politeness first: robots.txt is obeyed, AutoThrottle adapts the delay to each server, and every
site has a page budget (``CLOSESPIDER_PAGECOUNT``) and a depth limit set from its sites-file
entry by the runner. ``nianbao crawl -s NAME=VALUE`` overrides any of these for one run.
"""

from scrapy.settings import default_settings

from storage.settings import crawl_defaults

BOT_NAME = "nianbao"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

USER_AGENT = "nianbao/0.1 (archive of government information-disclosure annual reports)"
ROBOTSTXT_OBEY = True

AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# A page yields at most a report: processing several items of one response at once only makes
# Scrapy start a task per item slot (100 by default) for every response.
CONCURRENT_ITEMS = 1
# Scrapy re-reads the source of the callback of every response to look for a generator that
# returns a value (a bound method is a new object each time, so its cache never hits); our
# spider's callbacks are checked by the tests instead.
WARN_ON_GENERATOR_RETURN_VALUE = False
DOWNLOAD_DELAY = 0.5

DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 2
# Bureau pages are small; a report PDF can be big, but nothing legitimate is 64 MiB.
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
METAREFRESH_ENABLED = True

DEPTH_LIMIT = 8
DEPTH_PRIORITY = 0

# Only http(s) is ever fetched: a report page linking file:///dev/zero or an s3:// URL must not
# make the crawler read local files or other stores (crawler/guard.py refuses them too).
DOWNLOAD_HANDLERS = {"file": None, "s3": None, "ftp": None, "data": None}
# Checks every DNS answer (and literal address) against the guard at connect time, IPv4 and IPv6.
TWISTED_DNS_RESOLVER = "crawler.guard.GuardedResolver"

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19 starts, for every crawler, an HTTP server on localhost that runs Python code sent
# to it (token in a file under the user's profile): nothing nianbao needs, one server per site
# crawled, and code execution inside the process that holds the archive. Off.
REMOTE_CONTROL_ENABLED = False
# Scrapy imports a component before asking it whether it is enabled, and a ``None`` in
# EXTENSIONS or DOWNLOADER_MIDDLEWARES imports it too. These three are off above and are left
# out of Scrapy's base lists, so their modules are never loaded: remote control brings aiohttp
# and the cookies middleware tldextract, about 0.2 s of CPU for every crawl process.
_NEVER_LOADED = {
    "scrapy.extensions.remote_control.RemoteControl",
    "scrapy.extensions.telnet.TelnetConsole",
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
}
EXTENSIONS_BASE = {
    path: order for path, order in default_settings.EXTENSIONS_BASE.items() if path not in _NEVER_LOADED
}
DOWNLOADER_MIDDLEWARES_BASE = {
    path: order
    for path, order in default_settings.DOWNLOADER_MIDDLEWARES_BASE.items()
    if path not in _NEVER_LOADED
}
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    # The one gate to the network (crawler/guard.py): every request and redirect hop passes it
    # after DefaultHeadersMiddleware (400) and before RetryMiddleware (550) sees its errors.
    "crawler.middlewares.OutgoingRequestGuard": 560,
    # A 429/503 with Retry-After holds the whole host that long (up to NIANBAO_RETRY_AFTER_MAX);
    # sees responses before RetryMiddleware (550), so a too-long wait is a failure, not a retry.
    "crawler.ratelimit.RetryAfterMiddleware": 555,
    # Puts DOWNLOAD_MAXSIZE on each request so a download cut off for its size names the limit.
    "crawler.failures.FailureContextMiddleware": 545,
    # Next to the downloader: WARC evidence of every exchange, conditional re-crawls.
    "crawler.capture.middleware.CaptureMiddleware": 950,
    # Scrapy's redirect middlewares, in their places, refusing with a reason the redirects that
    # used to make a page vanish silently: off the site, loops, too many (crawler/redirects.py).
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.redirects.RedirectOutcomeMiddleware": 600,
    "crawler.redirects.MetaRefreshOutcomeMiddleware": 580,
}
SPIDER_MIDDLEWARES = {
    # Items get the id of the capture their page came from.
    "crawler.capture.middleware.CaptureLinkMiddleware": 950,
}
ITEM_PIPELINES = {
    # Attachment-only reports get their attachments' text before they are recorded (400);
    # attachments are stored, read in a sandbox and linked after (600).
    "crawler.attachment_pipeline.AttachmentTextPipeline": 400,
    "crawler.pipelines.ArchivePipeline": 500,
    "crawler.attachment_pipeline.AttachmentPipeline": 600,
    # Stored attachments point at the capture their bytes came from.
    "crawler.capture.pipeline.CaptureLinkPipeline": 650,
}
EXTENSIONS = {
    "crawler.progress.ProgressExtension": 500,
    # Switches itself off unless the crawl is distributed (crawler/distributed.py).
    "crawler.distributed.SharedQueueKeepAlive": 510,
    # An item the archive cannot record (database gone, disk full) stops the crawl
    # (crawler/stopping.py) instead of being logged while the crawl goes on.
    "crawler.stopping.ArchiveFailureExtension": 520,
}

FEED_EXPORT_ENCODING = "utf-8"

# nianbao's own crawl settings (NIANBAO_*), with the defaults declared once in storage/settings.py.
globals().update(crawl_defaults())
