"""Per-site crawl leases: one crawl of a site at a time, across processes and machines.

Before it crawls, :func:`crawler.runner.run_crawl` takes a lease row per site
(:class:`~storage.models_monitoring.CrawlLease`); a site whose lease another live holder has is
skipped, so a second scheduler, or a manual ``nianbao crawl`` while the nightly one runs, exits
cleanly instead of crawling twice. The leases are released when the run ends.

A lease that outlived its holder never blocks for long: it expires after its time to live,
and on the same host a holder whose process is gone is recognised at once (the holder id is
``host:pid:token``).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from storage.models import utcnow
from storage.models_monitoring import CrawlLease

__all__ = ["DEFAULT_TTL", "acquire", "acquire_all", "holder_id", "release"]

# Longer than any crawl should take (the scheduler's wall-time limit is shorter).
DEFAULT_TTL = timedelta(hours=6)


def holder_id() -> str:
    """``host:pid:token`` naming this process's claim."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _holder_is_dead(holder: str) -> bool:
    """True when the holder ran on this host and its process no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(session: Session, site_key: str, holder: str, *, ttl: timedelta = DEFAULT_TTL,
            now: datetime | None = None) -> CrawlLease | None:
    """Take the site's lease for ``holder``; None when a live holder has it. Caller commits."""
    now = now or utcnow()
    values = {"site_key": site_key, "holder": holder, "acquired_at": now, "expires_at": now + ttl}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = session.execute(insert(CrawlLease).values(**values).on_conflict_do_nothing()).rowcount
    if not inserted:
        current = session.scalars(
            select(CrawlLease).where(CrawlLease.site_key == site_key)
            .execution_options(populate_existing=True)
        ).one_or_none()
        if current is None:
            return None  # released between our insert and select: try again next time
        if current.holder != holder and current.expires_at > now and not _holder_is_dead(current.holder):
            return None
        # Expired or orphaned: take it over, but only if nobody else just did.
        taken = session.execute(
            update(CrawlLease)
            .where(CrawlLease.site_key == site_key, CrawlLease.holder == current.holder)
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not taken:
            return None
    return session.scalars(
        select(CrawlLease).where(CrawlLease.site_key == site_key).execution_options(populate_existing=True)
    ).one()


def acquire_all(sessions: sessionmaker[Session], site_keys: Sequence[str], holder: str, *,
                ttl: timedelta = DEFAULT_TTL) -> tuple[list[str], dict[str, CrawlLease]]:
    """Try each site in its own transaction: (keys taken, {key: the lease someone else holds})."""
    taken: list[str] = []
    held: dict[str, CrawlLease] = {}
    for key in site_keys:
        with sessions() as session, session.begin():
            if acquire(session, key, holder, ttl=ttl) is not None:
                taken.append(key)
                continue
            other = session.get(CrawlLease, key)
            if other is not None:
                session.expunge(other)
                held[key] = other
    return taken, held


def release(sessions: sessionmaker[Session], site_keys: Sequence[str], holder: str) -> None:
    """Give back this holder's leases (someone who took over an expired lease keeps theirs)."""
    if not site_keys:
        return
    with sessions() as session, session.begin():
        session.execute(
            delete(CrawlLease).where(CrawlLease.site_key.in_(list(site_keys)), CrawlLease.holder == holder)
        )
