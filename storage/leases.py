"""Per-site crawl leases: one crawl of a site at a time, across processes and machines.

Before it crawls, :func:`crawler.runner.run_crawl` takes a lease row per site
(:class:`~storage.models.CrawlLease`); a site whose lease another live holder has is
skipped, so a second scheduler, or a manual ``nianbao crawl`` while the nightly one runs, exits
cleanly instead of crawling twice. The leases are released when the run ends.

A lease that outlived its holder never blocks for long: it expires after its time to live,
and on the same host a holder whose process is gone is recognised at once (the holder id is
``host:pid:token``).

Leases also tell which runs are still alive. The runner binds its leases to the run it starts
(:func:`bind_run`: the holder becomes ``host:pid:token:run<ID>``, in the transaction that starts
the run). A run left ``running`` by a process that died (SIGKILL, power loss) is recognised when
every lease bound to it has expired or belongs to a process that is gone;
:func:`close_abandoned_runs`, called when a crawl or the scheduler starts, closes such runs as
``abandoned`` and drops their dead leases. A run with a live lease -- a crawl still going in
another process -- is left alone, and so is a run that never had leases (a distributed night,
whose workers share Redis queues instead).
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.dialect import insert_ignore
from storage.errors import storage_errors
from storage.models import CrawlLease, utcnow
from storage.settings import default_of

__all__ = [
    "DEFAULT_TTL",
    "acquire",
    "acquire_all",
    "bind_run",
    "close_abandoned_runs",
    "holder_id",
    "release",
    "release_quietly",
    "run_lease_states",
]

# Longer than any crawl should take (the scheduler's wall-time limit is shorter).
_DEFAULT_TTL_SECONDS = default_of("NIANBAO_LEASE_TTL")
assert isinstance(_DEFAULT_TTL_SECONDS, int | float | str)  # the setting declares a number of seconds
DEFAULT_TTL = timedelta(seconds=float(_DEFAULT_TTL_SECONDS))  # 6 hours
# A holder bound to a run ends in ":run<ID>".
_RUN_SUFFIX = ":run"
_BOUND = re.compile(r":run(\d+)$")


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


@storage_errors
def acquire(session: Session, site_key: str, holder: str, *, ttl: timedelta = DEFAULT_TTL,
            now: datetime | None = None) -> CrawlLease | None:
    """Take the site's lease for ``holder``; None when a live holder has it. Caller commits."""
    now = now or utcnow()
    values = {"site_key": site_key, "holder": holder, "acquired_at": now, "expires_at": now + ttl}
    inserted = insert_ignore(session, CrawlLease, **values)
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
        # (an UPDATE's CursorResult has rowcount; Result's stubs do not say so)
        taken = session.execute(  # type: ignore[attr-defined]
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
    """Give back this holder's leases, bound to a run or not (someone who took over an expired
    lease keeps theirs)."""
    if not site_keys:
        return
    with sessions() as session, session.begin():
        session.execute(
            delete(CrawlLease).where(
                CrawlLease.site_key.in_(list(site_keys)),
                or_(CrawlLease.holder == holder,
                    CrawlLease.holder.startswith(holder + _RUN_SUFFIX, autoescape=True)),
            )
        )


def release_quietly(sessions: sessionmaker[Session], site_keys: Sequence[str], holder: str) -> None:
    """On the way out of a failed crawl: give back the leases not bound to a run, ignoring errors.

    Leases bound to a run stay, so that a run that could not be closed is found abandoned by the
    next start once this process is gone.
    """
    if not site_keys:
        return
    try:
        with sessions() as session, session.begin():
            session.execute(
                delete(CrawlLease).where(CrawlLease.site_key.in_(list(site_keys)), CrawlLease.holder == holder)
            )
    except Exception:
        pass


@storage_errors
def bind_run(session: Session, site_keys: Sequence[str], holder: str, run_id: int) -> str:
    """Bind ``holder``'s leases of these sites to crawl run ``run_id``; the bound holder id.

    Call it in the transaction that starts the run, so a run never exists without its leases
    saying whose it is. :func:`release` with the unbound ``holder`` gives them back.
    """
    bound = f"{holder}{_RUN_SUFFIX}{run_id}"
    session.execute(
        update(CrawlLease)
        .where(CrawlLease.site_key.in_(list(site_keys)), CrawlLease.holder == holder)
        .values(holder=bound)
        .execution_options(synchronize_session=False)
    )
    return bound


def run_of(holder: str) -> int | None:
    """The run a lease holder is bound to, if it is."""
    match = _BOUND.search(holder)
    return int(match.group(1)) if match else None


@storage_errors
def run_lease_states(session: Session, now: datetime | None = None) -> dict[int, str | None]:
    """``{run id: None while a lease bound to it is live, else why none is}`` for every run
    that has leases bound to it."""
    now = now or utcnow()
    states: dict[int, str | None] = {}
    for lease in session.scalars(select(CrawlLease).execution_options(populate_existing=True)).all():
        run_id = run_of(lease.holder)
        if run_id is None:
            continue
        if lease.expires_at <= now:
            why: str | None = "process died (lease expired)"
        elif _holder_is_dead(lease.holder):
            pid = lease.holder.split(":")[1]
            why = f"process died (pid {pid} is gone)"
        else:
            why = None
        if why is None:
            states[run_id] = None  # one live lease keeps the run alive
        elif run_id not in states:
            states[run_id] = why
    return states


def close_abandoned_runs(sessions: sessionmaker[Session], now: datetime | None = None) -> list[int]:
    """Close as ``abandoned`` every run still ``running`` whose leases are all dead (expired, or
    their process gone), and drop those leases; the ids of the runs closed.

    A run with any live lease is left alone: its crawl is still going in another process.
    """
    from storage import archive

    now = now or utcnow()
    with sessions() as session, session.begin():
        states = run_lease_states(session, now)
        closed = archive.abandon_stale_runs(session, states, now=now)
        stale = [run_id for run_id, why in states.items() if why is not None]
        if stale:
            dead = [
                lease.holder
                for lease in session.scalars(select(CrawlLease)).all()
                if run_of(lease.holder) in stale
            ]
            # Exactly the dead holders: a lease someone took over meanwhile has a new holder.
            session.execute(delete(CrawlLease).where(CrawlLease.holder.in_(dead)))
        return [run.id for run in closed]
