"""The archive's tables, as typed SQLAlchemy 2.0 models: one front door, ``storage.models``.

Site -> Document (one report of a site, at one or more URLs) -> Version (one distinct normalized
body), and the bookkeeping of crawls: CrawlRun -> SiteCrawl (per site) and CrawlError (per failed
page), in :mod:`storage.models.core`. The other modules hold what later issues added:

- :mod:`~storage.models.base` -- the declarative base, key and timestamp types (portability
  notes for SQLite and PostgreSQL there);
- :mod:`~storage.models.extraction` -- attachments and their links to versions (issue 3);
- :mod:`~storage.models.monitoring` -- leases, crawl health, alerts and their outbox (issue 5);
- :mod:`~storage.models.capture` -- captures and URL states (issue 4);
- :mod:`~storage.models.search` -- the search index's bookkeeping table (issue 6);
- :mod:`~storage.models.identity` -- every URL of a document (issue 11).

Importing this package imports every module, so ``Base.metadata`` holds every table whichever
model a caller names first. The modules import ``base`` and each other in one direction only
(base <- core <- extraction <- capture; monitoring, search and identity on base/core). Import
models from here, not from the modules.

The schema itself is created by the Alembic migration in ``storage/migrations`` (see
:func:`storage.db.migrate`); a test checks that the migration and these models agree, so a change
here needs a new migration.
"""

from __future__ import annotations

# Every module, so that every table is registered. Each module imports what it builds on
# itself (capture adds columns to versions and attachments), so the order here does not matter.
from storage.models.base import (
    NAMING_CONVENTION,
    Base,
    IdType,
    UTCDateTime,
    check_in,
    utcnow,
)
from storage.models.capture import CAPTURE_RECORD_TYPES, Capture, UrlState
from storage.models.core import (
    COUNTERS,
    PAGE_KINDS,
    RUN_STATUSES,
    SITE_CRAWL_STATUSES,
    CrawlError,
    CrawlRun,
    Document,
    Site,
    SiteCrawl,
    Version,
)
from storage.models.extraction import Attachment, AttachmentLink
from storage.models.identity import DocumentUrl
from storage.models.monitoring import (
    ALERT_KINDS,
    ALERT_STATES,
    HEALTH_STATES,
    OUTBOX_EVENTS,
    OUTBOX_STATUSES,
    Alert,
    AlertOutbox,
    CrawlHealth,
    CrawlLease,
    SchedulerEvent,
)
from storage.models.search import (
    FTS_TABLE,
    SIGNATURE_BITS,
    SearchEntry,
    include_name,
    is_fts_table,
)

__all__ = [
    "ALERT_KINDS",
    "ALERT_STATES",
    "CAPTURE_RECORD_TYPES",
    "COUNTERS",
    "FTS_TABLE",
    "HEALTH_STATES",
    "NAMING_CONVENTION",
    "OUTBOX_EVENTS",
    "OUTBOX_STATUSES",
    "PAGE_KINDS",
    "RUN_STATUSES",
    "SIGNATURE_BITS",
    "SITE_CRAWL_STATUSES",
    "Alert",
    "AlertOutbox",
    "Attachment",
    "AttachmentLink",
    "Base",
    "Capture",
    "CrawlError",
    "CrawlHealth",
    "CrawlLease",
    "CrawlRun",
    "Document",
    "DocumentUrl",
    "IdType",
    "SchedulerEvent",
    "SearchEntry",
    "Site",
    "SiteCrawl",
    "UTCDateTime",
    "UrlState",
    "Version",
    "check_in",
    "include_name",
    "is_fts_table",
    "utcnow",
]
