"""The archive database: models, migrations, normalized content hashes and the read/write API.

Open an archive with :func:`open_archive` (creates the engine, runs the migrations, returns a
sessionmaker); then call the functions of :mod:`storage.archive` inside a transaction you own::

    Session = open_archive(database_url)
    with Session() as session, session.begin():
        run = start_run(session, ["putian-tjj"])
"""

from storage.archive import (
    RecordOutcome,
    finish_run,
    finish_site_crawl,
    get_document,
    get_run,
    list_documents,
    list_sites,
    record_failure,
    record_report,
    run_errors,
    run_summary,
    start_run,
    sync_site,
)
from storage.db import create_archive_engine, downgrade, migrate, open_archive
from storage.models import Base, CrawlError, CrawlRun, Document, Site, SiteCrawl, Version
from storage.normalize import content_hash, normalize_text

__all__ = [
    "Base",
    "CrawlError",
    "CrawlRun",
    "Document",
    "RecordOutcome",
    "Site",
    "SiteCrawl",
    "Version",
    "content_hash",
    "create_archive_engine",
    "downgrade",
    "finish_run",
    "finish_site_crawl",
    "get_document",
    "get_run",
    "list_documents",
    "list_sites",
    "migrate",
    "normalize_text",
    "open_archive",
    "record_failure",
    "record_report",
    "run_errors",
    "run_summary",
    "start_run",
    "sync_site",
]
